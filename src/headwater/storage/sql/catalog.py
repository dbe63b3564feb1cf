"""Model and deployment rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.catalog.schemas import DeploymentSpec, ModelRead, ModelSpec, Pricing
from headwater.clock import utcnow
from headwater.storage.sql.tables import deployments, models


def _deployment(row: RowMapping) -> DeploymentSpec:
    return DeploymentSpec(
        provider=row["provider"],
        base_url=row["base_url"],
        upstream_model=row["upstream_model"],
        credential_env=row["credential_env"],
        credential=row["credential"],
        api_version=row["api_version"],
        region=row["region"],
        responses_api=bool(row["responses_api"]),
        timeout=row["timeout_s"],
        deadline=row["deadline_s"],
        weight=row["weight"],
    )


def _model(row: RowMapping, deps: list[DeploymentSpec]) -> ModelRead:
    return ModelRead(
        name=row["name"],
        kind=row["kind"],
        access=row["access"],
        description=row["description"],
        context_window=row["context_window"],
        max_output_tokens=row["max_output_tokens"],
        pricing=Pricing(
            input_per_million=row["input_per_million"],
            output_per_million=row["output_per_million"],
            currency=row["currency"],
        ),
        status=row["status"],
        deployments=deps,
        limits=row["limits"] or [],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def list_all(conn: AsyncConnection, names: list[str] | None = None) -> list[ModelRead]:
    query = select(models).order_by(models.c.name)
    dep_query = select(deployments).order_by(deployments.c.model_name, deployments.c.position)
    if names is not None:
        query = query.where(models.c.name.in_(names))
        dep_query = dep_query.where(deployments.c.model_name.in_(names))
    rows = (await conn.execute(query)).mappings().all()
    by_model: dict[str, list[DeploymentSpec]] = {}
    for dep in (await conn.execute(dep_query)).mappings():
        by_model.setdefault(dep["model_name"], []).append(_deployment(dep))
    return [_model(row, by_model.get(row["name"], [])) for row in rows]


async def get(conn: AsyncConnection, name: str) -> ModelRead | None:
    found = await list_all(conn, [name])
    return found[0] if found else None


def _columns(spec: ModelSpec) -> dict[str, Any]:
    return {
        "kind": spec.kind,
        "access": spec.access,
        "description": spec.description,
        "context_window": spec.context_window,
        "max_output_tokens": spec.max_output_tokens,
        "input_per_million": spec.pricing.input_per_million,
        "output_per_million": spec.pricing.output_per_million,
        "currency": spec.pricing.currency,
        "status": spec.status,
        "limits": [limit.model_dump(mode="json") for limit in spec.limits] or None,
    }


async def upsert(conn: AsyncConnection, name: str, spec: ModelSpec, *, exists: bool) -> None:
    now = utcnow()
    if exists:
        await conn.execute(
            models.update().where(models.c.name == name).values(**_columns(spec), updated_at=now)
        )
        await conn.execute(delete(deployments).where(deployments.c.model_name == name))
    else:
        await conn.execute(
            models.insert().values(name=name, **_columns(spec), created_at=now, updated_at=now)
        )
    await conn.execute(
        deployments.insert(),
        [
            {
                "model_name": name,
                "position": position,
                "provider": dep.provider,
                "base_url": dep.url(),
                "upstream_model": dep.upstream_model,
                "credential_env": dep.credential_env,
                "credential": dep.credential,
                "api_version": dep.api_version,
                "region": dep.region,
                "responses_api": dep.responses_api,
                "timeout_s": dep.timeout,
                "deadline_s": dep.deadline,
                "weight": dep.weight,
            }
            for position, dep in enumerate(spec.deployments)
        ],
    )


async def delete_model(conn: AsyncConnection, name: str) -> bool:
    await conn.execute(delete(deployments).where(deployments.c.model_name == name))
    result = await conn.execute(delete(models).where(models.c.name == name))
    return bool(result.rowcount)
