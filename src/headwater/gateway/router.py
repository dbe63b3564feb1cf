"""Choosing a deployment: weighted random first choice, the others as failover order."""

from __future__ import annotations

import random

from headwater.snapshot import DeploymentView, ModelView


def attempts(model: ModelView) -> tuple[DeploymentView, ...]:
    deployments = model.deployments
    if len(deployments) < 2:
        return deployments
    first = random.choices(deployments, weights=[d.weight for d in deployments])[0]
    return (first, *(d for d in deployments if d is not first))
