"""Rendering deploy/kubernetes and the checks of what people get wrong in Kubernetes manifests.

Each check takes the rendered objects of one kustomization and returns its problems, one sentence
each naming the object and the field (empty: none), so that a test can show that a check finds what
it looks for as well as that the real manifests pass it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"

Obj = dict[str, Any]
POD_TEMPLATE_KINDS = {"Deployment": ("spec", "template"), "Job": ("spec", "template")}
SERVER_IMAGE = re.compile(r"(^|/)headwater(:|@|$)")


def render(path: Path) -> list[Obj]:
    """``kubectl kustomize PATH``, parsed; a failure names the kustomization and kubectl's reason."""
    kubectl = shutil.which("kubectl")  # kubectl 1.32, with its built-in kustomize
    if kubectl is None:
        raise AssertionError("kubectl is not on PATH: the manifests cannot be rendered")
    result = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path.relative_to(ROOT)} failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def name_of(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def pod_spec(obj: Obj) -> Obj | None:
    if obj["kind"] not in POD_TEMPLATE_KINDS:
        return None
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


def containers(spec: Obj) -> Iterator[Obj]:
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def is_headwater(container: Obj) -> bool:
    return bool(SERVER_IMAGE.search(container["image"].split("@")[0].rsplit(":", 1)[0] + ":"))


def is_server(container: Obj) -> bool:
    """A container running the image's entry point, ``headwater serve`` (no command of its own)."""
    return is_headwater(container) and "command" not in container and "args" not in container


def servers(objects: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    for obj in objects:
        spec = pod_spec(obj)
        for container in containers(spec) if spec else ():
            if is_server(container):
                yield obj, container


def config_maps(objects: list[Obj]) -> dict[str, dict[str, str]]:
    return {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}


def settings(objects: list[Obj], container: Obj) -> dict[str, Obj]:
    """The container's variables: from its ConfigMaps (``{"value": ...}``), then its own ``env``."""
    maps = config_maps(objects)
    found: dict[str, Obj] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            for name, value in maps.get(source["configMapRef"]["name"], {}).items():
                found[name] = {"value": value}
    for variable in container.get("env", []):
        found[variable["name"]] = {k: v for k, v in variable.items() if k != "name"}
    return found


def secret_refs(objects: list[Obj]) -> Iterator[tuple[Obj, str, Obj]]:
    """(object, variable, secretKeyRef) for every variable of every container read from a Secret."""
    for obj in objects:
        spec = pod_spec(obj)
        for container in containers(spec) if spec else ():
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    yield obj, variable["name"], ref


# ---- the checks ----------------------------------------------------------------------------------


def probe_problems(objects: list[Obj]) -> list[str]:
    """Liveness on /healthz, readiness and startup on /readyz, on the port Headwater listens on."""
    problems = []
    for obj, container in servers(objects):
        where = f"{name_of(obj)} container {container['name']}"
        port = settings(objects, container).get("HEADWATER_PORT", {}).get("value", "8080")
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        for probe, path in (
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
            ("startupProbe", "/readyz"),
        ):
            get = container.get(probe, {}).get("httpGet")
            if get is None:
                problems.append(f"{where}: no {probe} (httpGet {path})")
                continue
            if get.get("path") != path:
                problems.append(f"{where}: {probe}.httpGet.path is {get.get('path')!r}, not {path}")
            target = ports.get(get["port"], get["port"])
            if str(target) != str(port):
                problems.append(f"{where}: {probe}.httpGet.port {get['port']!r} is not HEADWATER_PORT {port}")
    return problems


def root_problems(objects: list[Obj], fixed_ids: bool = True) -> list[str]:
    """No container may run as root or gain privileges; ``fixed_ids=False``: no UID/GID set at all."""
    problems = []
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        pod = spec.get("securityContext", {})
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name_of(obj)}: securityContext.seccompProfile.type is not RuntimeDefault")
        for container in containers(spec):
            where = f"{name_of(obj)} container {container['name']}"
            own = container.get("securityContext", {})
            merged = {**pod, **own}
            if merged.get("runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            if merged.get("runAsUser") == 0:
                problems.append(f"{where}: runAsUser is 0 (root)")
            if own.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: securityContext.allowPrivilegeEscalation is not false")
            if own.get("privileged"):
                problems.append(f"{where}: securityContext.privileged")
            if "ALL" not in own.get("capabilities", {}).get("drop", []):
                problems.append(f"{where}: securityContext.capabilities.drop lacks ALL")
            if own.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: securityContext.readOnlyRootFilesystem is not true")
            if not fixed_ids:
                for field in ("runAsUser", "runAsGroup", "fsGroup"):
                    if field in merged:
                        problems.append(f"{where}: {field} is fixed ({merged[field]}); OpenShift assigns it")
    return problems


def redis_problems(objects: list[Obj]) -> list[str]:
    """More than one process (replicas, an autoscaler's maximum, workers) needs HEADWATER_REDIS_URL."""
    problems = []
    autoscaled = {
        o["spec"]["scaleTargetRef"]["name"]: o["spec"]["maxReplicas"]
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler" and o["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    }
    for obj, container in servers(objects):
        if obj["kind"] != "Deployment":
            continue
        found = settings(objects, container)
        workers = int(found.get("HEADWATER_WORKERS", {}).get("value", "1"))
        replicas = max(obj["spec"].get("replicas", 1), autoscaled.get(obj["metadata"]["name"], 1))
        redis = found.get("HEADWATER_REDIS_URL")
        has_redis = redis is not None and (
            bool(redis.get("value")) or ("valueFrom" in redis and not _optional(redis["valueFrom"]))
        )
        if (workers > 1 or replicas > 1) and not has_redis:
            problems.append(
                f"{name_of(obj)}: {replicas} replica(s) x {workers} worker(s) without HEADWATER_REDIS_URL "
                "(limits would multiply with the processes)"
            )
    return problems


def _optional(value_from: Obj) -> bool:
    return any(ref.get("optional", False) for ref in value_from.values())


def migration_problems(objects: list[Obj]) -> list[str]:
    """The Job runs ``headwater migrate`` with the server's image and settings; servers never migrate."""
    problems = []
    jobs = [
        (o, c)
        for o in objects
        if o["kind"] == "Job"
        for c in containers(pod_spec(o) or {"containers": []})
        if c.get("command", [])[:2] == ["headwater", "migrate"]
    ]
    deployments = [(o, c) for o, c in servers(objects) if o["kind"] == "Deployment"]
    if len(jobs) != 1 or not deployments:
        return [
            f"expected one migration Job and a server Deployment, found {len(jobs)} and {len(deployments)}"
        ]
    job, migrate = jobs[0]
    for obj, server in deployments:
        if settings(objects, server).get("HEADWATER_AUTO_MIGRATE") != {"value": "false"}:
            problems.append(f'{name_of(obj)}: HEADWATER_AUTO_MIGRATE is not "false" (the Job migrates)')
        if migrate["image"] != server["image"]:
            problems.append(f"{name_of(job)}: image {migrate['image']} is not the server's {server['image']}")
        ours = settings(objects, migrate)
        theirs = {k: v for k, v in settings(objects, server).items() if k != "HEADWATER_AUTO_MIGRATE"}
        if ours != theirs:
            differ = sorted(name for name in set(ours) | set(theirs) if ours.get(name) != theirs.get(name))
            problems.append(f"{name_of(job)}: settings differ from {name_of(obj)}'s: {differ}")
    return problems


def image_problems(objects: list[Obj]) -> list[str]:
    """Every Headwater container runs one image, and a real one (a registry path and a tag)."""
    images = {
        c["image"] for o in objects for c in containers(pod_spec(o) or {"containers": []}) if is_headwater(c)
    }
    problems = [
        f"image {image!r} has no registry path or tag"
        for image in images
        if "/" not in image or ":" not in image
    ]
    if len(images) > 1:
        problems.append(f"Headwater containers run different images: {sorted(images)}")
    return problems


def secret_resolution_problems(objects: list[Obj]) -> list[str]:
    """Every required secretKeyRef names a Secret (and key) the render itself holds."""
    secrets = {
        o["metadata"]["name"]: {*o.get("data", {}), *o.get("stringData", {})}
        for o in objects
        if o["kind"] == "Secret"
    }
    problems = []
    for obj, variable, ref in secret_refs(objects):
        if ref.get("optional"):
            continue
        if ref["name"] not in secrets:
            problems.append(f"{name_of(obj)} {variable}: no Secret {ref['name']}")
        elif ref["key"] not in secrets[ref["name"]]:
            problems.append(f"{name_of(obj)} {variable}: Secret {ref['name']} has no key {ref['key']}")
    return problems
