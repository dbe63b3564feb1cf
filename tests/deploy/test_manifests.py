"""deploy/kubernetes renders, validates against the Kubernetes 1.32 schemas offline, and is right.

Every kustomization (the base and each overlay) is rendered with `kubectl kustomize`; every object
is validated with kubernetes-validate's strict 1.32 schemas (an unknown field is an error), except
OpenShift's Route and Argo CD's Application (custom resources: checked field by field here). Then
the checks of :mod:`tests.deploy.manifests`, and a test that each check finds what it looks for.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.manifests import (
    KUBERNETES,
    ROOT,
    Obj,
    image_problems,
    migration_problems,
    name_of,
    probe_problems,
    redis_problems,
    render,
    root_problems,
    secret_refs,
    secret_resolution_problems,
    servers,
)

KUBERNETES_VERSION = "1.32"
KUSTOMIZATIONS = ["base", "overlays/openshift", "overlays/quickstart"]
CUSTOM_RESOURCES = {("route.openshift.io/v1", "Route")}
ARGO_APPLICATION = KUBERNETES / "argocd" / "application.yaml"
_RENDERED: dict[str, list[Obj]] = {}


def rendered(kustomization: str) -> list[Obj]:
    if kustomization not in _RENDERED:
        _RENDERED[kustomization] = render(KUBERNETES / kustomization)
    return copy.deepcopy(_RENDERED[kustomization])


def test_every_kustomization_in_the_tree_is_tested() -> None:
    found = {p.parent.relative_to(KUBERNETES).as_posix() for p in KUBERNETES.rglob("kustomization.yaml")}
    assert found == set(KUSTOMIZATIONS)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_object_validates_against_the_schemas(kustomization: str) -> None:
    objects = rendered(kustomization)
    assert objects
    problems = []
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_RESOURCES:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(map(str, exc.path))
            problems.append(f"{kustomization}: {name_of(obj)}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{kustomization}: {name_of(obj)}: {exc.message}")
    assert not problems, "\n".join(problems)


def test_the_validation_refuses_a_wrong_object() -> None:
    """The schemas are really applied: a misspelt field and a wrong type are refused."""
    deployment = next(o for o in rendered("base") if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    hpa = next(o for o in rendered("base") if o["kind"] == "HorizontalPodAutoscaler")
    hpa["spec"]["maxReplicas"] = "six"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_what_people_get_wrong(kustomization: str) -> None:
    objects = rendered(kustomization)
    assert any(True for _ in servers(objects)), "no container runs `headwater serve`"
    problems = [
        *probe_problems(objects),
        *root_problems(objects, fixed_ids=kustomization != "overlays/openshift"),
        *redis_problems(objects),
        *migration_problems(objects),
        *image_problems(objects),
    ]
    assert not problems, "\n".join(problems)


def test_each_check_finds_what_it_looks_for() -> None:
    def broken(change: Any) -> list[Obj]:
        objects = rendered("base")
        deployment = next(o for o in objects if o["kind"] == "Deployment")
        change(
            objects,
            deployment["spec"]["template"]["spec"],
            deployment["spec"]["template"]["spec"]["containers"][0],
        )
        return objects

    def drop_redis(objects: list[Obj], pod: Obj, server: Obj) -> None:
        server["env"] = [v for v in server["env"] if v["name"] != "HEADWATER_REDIS_URL"]

    assert "without HEADWATER_REDIS_URL" in " ".join(redis_problems(broken(drop_redis)))
    assert "/healthz" in " ".join(
        probe_problems(broken(lambda o, p, c: c["livenessProbe"]["httpGet"].update(path="/readyz")))
    )
    assert "HEADWATER_PORT" in " ".join(
        probe_problems(broken(lambda o, p, c: c["readinessProbe"]["httpGet"].update(port=9090)))
    )
    assert "runAsUser is 0" in " ".join(
        root_problems(broken(lambda o, p, c: p["securityContext"].update(runAsUser=0)))
    )
    assert "readOnlyRootFilesystem" in " ".join(
        root_problems(broken(lambda o, p, c: c["securityContext"].pop("readOnlyRootFilesystem")))
    )
    assert "fsGroup is fixed" in " ".join(root_problems(rendered("base"), fixed_ids=False))
    assert "HEADWATER_AUTO_MIGRATE" in " ".join(
        migration_problems(broken(lambda o, p, c: c["env"].pop(0)))  # the first is HEADWATER_AUTO_MIGRATE
    )
    other_tag = "registry.example.com/headwater/headwater:0.0.9"
    assert "not the server's" in " ".join(
        migration_problems(broken(lambda o, p, c: c.update(image=other_tag)))
    )
    assert "settings differ" in " ".join(migration_problems(broken(drop_redis)))
    assert "no Secret headwater-database" in " ".join(secret_resolution_problems(rendered("base")))


def test_the_quickstart_holds_every_secret_it_references() -> None:
    problems = secret_resolution_problems(rendered("overlays/quickstart"))
    assert not problems, "\n".join(problems)


def test_every_secret_reference_is_documented() -> None:
    """docs/deploy.md's Secrets table names each Secret, key and variable the base reads."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `headwater-")]
    refs = {(variable, ref["name"], ref["key"]) for _, variable, ref in secret_refs(rendered("base"))}
    assert len(refs) >= 5
    for variable, name, key in sorted(refs):
        assert any(f"`{name}`" in row and f"`{key}`" in row and f"`{variable}`" in row for row in rows), (
            f"docs/deploy.md: no Secrets table row for `{name}` / `{key}` ({variable})"
        )


def test_the_openshift_route() -> None:
    objects = rendered("overlays/openshift")
    (route,) = [o for o in objects if o["kind"] == "Route"]
    assert route["apiVersion"] == "route.openshift.io/v1"
    assert set(route["spec"]) <= {"host", "path", "to", "port", "tls", "wildcardPolicy", "alternateBackends"}
    service = next(
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == route["spec"]["to"]["name"]
    )
    assert route["spec"]["to"]["kind"] == "Service"
    assert route["spec"]["port"]["targetPort"] in {p["name"] for p in service["spec"]["ports"]}
    assert route["spec"]["tls"] == {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}
    timeout = route["metadata"]["annotations"]["haproxy.router.openshift.io/timeout"]
    assert re.fullmatch(r"\d+s", timeout) and int(timeout[:-1]) > 900, "below HEADWATER_UPSTREAM_DEADLINE_S"


def test_the_argo_cd_application_points_at_a_kustomization_of_this_repository() -> None:
    (app,) = list(yaml.safe_load_all(ARGO_APPLICATION.read_text(encoding="utf-8")))
    assert (app["apiVersion"], app["kind"]) == ("argoproj.io/v1alpha1", "Application")
    assert set(app) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(app["spec"]) <= {"project", "source", "destination", "syncPolicy", "ignoreDifferences"}
    source, destination = app["spec"]["source"], app["spec"]["destination"]
    assert set(source) <= {"repoURL", "targetRevision", "path", "kustomize"}
    assert source["repoURL"].endswith(".git") and source["targetRevision"]
    path = ROOT / source["path"]
    assert (path / "kustomization.yaml").is_file(), f"{ARGO_APPLICATION}: spec.source.path {source['path']}"
    assert render(Path(path))
    assert set(destination) == {"server", "namespace"} and destination["namespace"] == "headwater"
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    job = next(o for o in rendered("base") if o["kind"] == "Job")
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
