"""The checks of what the database holds: stored credentials open, every deployment can be called.

Stored credentials must all open under the configured secret key. Each deployment of each model
gets a row: its credential is present (the environment variable is set and may be a credential, or
the stored credential exists and opens; openai deployments may have none, a local server needs
none) and its ``base_url`` is reachable. An openai deployment is asked ``GET {base_url}/models``
exactly as ``test-connection`` does (:func:`headwater.catalog.connection.try_connection`, the
credential sent to that server alone); any other provider gets a TCP connection to its host and
port and nothing else: no prompt is ever sent.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.catalog.connection import try_connection
from headwater.catalog.credentials import refusal
from headwater.catalog.schemas import ConnectionTest, DeploymentSpec, ModelRead
from headwater.catalog.secret_box import CannotOpen
from headwater.doctor.report import Check, Status, error, ok, redact_url, warning, worst
from headwater.settings import Settings
from headwater.storage.sql import catalog as model_rows
from headwater.storage.sql import credentials as credential_rows

CREDENTIALS = "stored credentials"
#: Deployments checked at the same time.
MAX_AT_ONCE = 16
_KEY_FIX = (
    "set HEADWATER_SECRET_KEY (or HEADWATER_SECRET_KEY_FILE) to the key that sealed them, or store the "
    "values again: headwater credentials set NAME"
)


@dataclass
class Catalog:
    models: list[ModelRead]
    stored: set[str]
    #: Name → value of the stored credentials that open under the configured key.
    opened: dict[str, str] = field(default_factory=dict)


async def read(engine: AsyncEngine) -> tuple[Catalog, list[credential_rows.CredentialRow]]:
    async with engine.connect() as conn:
        models = await model_rows.list_all(conn)
        rows = await credential_rows.list_rows(conn)
    return Catalog(models, {row.name for row in rows}), rows


def check_credentials(
    catalog: Catalog, rows: list[credential_rows.CredentialRow], settings: Settings
) -> Check:
    """Opens every stored value into ``catalog.opened``."""
    box = settings.secret_box()
    if box is None:
        return error(
            CREDENTIALS, f"{len(rows)} stored, but no secret key is configured to open them", _KEY_FIX
        )
    refused: list[str] = []
    for row in rows:
        try:
            catalog.opened[row.name] = box.open(row.name, row.sealed)
        except CannotOpen as exc:
            refused.append(str(exc))
    if refused:
        return error(CREDENTIALS, "; ".join(refused), _KEY_FIX)
    return ok(CREDENTIALS, f"all {len(rows)} open under the configured key ({box.id})")


@dataclass
class _Row:
    statuses: list[Status] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)

    def add(self, status: Status, detail: str, fix: str = "") -> None:
        self.statuses.append(status)
        self.details.append(detail)
        if fix:
            self.fixes.append(fix)

    def check(self, name: str) -> Check:
        return Check(name, worst(self.statuses), "; ".join(self.details), "; ".join(self.fixes))


def _credential(dep: DeploymentSpec, catalog: Catalog, settings: Settings, row: _Row) -> str | None:
    """The deployment's credential value, when it has one that is usable (``row`` says what is wrong)."""
    if dep.credential_env is not None:
        name = dep.credential_env
        why = refusal(name, settings.credential_env_prefix)
        if why is not None:
            row.add("error", why, f"name a variable that starts with {settings.credential_env_prefix}")
            return None
        value = os.environ.get(name)
        if not value:
            row.add(
                "error",
                f"credential {name} is not set",
                f"set {name} in the server's environment (every replica)",
            )
            return None
        row.add("ok", f"credential {name} is set")
        return value
    if dep.credential is not None:
        name = dep.credential
        if name not in catalog.stored:
            row.add("error", f"stored credential {name} does not exist", f"headwater credentials set {name}")
            return None
        if name not in catalog.opened:
            row.add("error", f"stored credential {name} does not open", f"see the {CREDENTIALS} row")
            return None
        row.add("ok", f"stored credential {name} opens")
        return catalog.opened[name]
    if dep.provider != "openai":
        row.add(
            "warning",
            "no credential named",
            f"give the deployment credential_env or credential ({dep.provider})",
        )
    return None


async def _models_endpoint(
    dep: DeploymentSpec, credential: str | None, settings: Settings, timeout_s: float, row: _Row
) -> None:
    spec = ConnectionTest(provider=dep.provider, base_url=dep.base_url, upstream_model=dep.upstream_model)
    result = await try_connection(
        spec, settings.credential_env_prefix, timeout_s=timeout_s, stored_credential=credential
    )
    if result.ok and result.upstream_model_listed:
        row.add("ok", f"GET /models answered in {result.latency_ms:g} ms, listing {dep.upstream_model}")
    elif result.ok:
        listed = ", ".join(result.models[:10]) or "nothing"
        row.add(
            "warning",
            f"GET /models answered, but does not list {dep.upstream_model}",
            f"check upstream_model (the server lists: {listed})",
        )
    elif result.status in (401, 403):
        row.add("error", f"GET /models: {result.error}", "check the deployment's credential")
    else:
        row.add(
            "error",
            f"GET /models: {result.error}",
            "check base_url and that the server runs and is reachable from here",
        )


async def _tcp(dep: DeploymentSpec, timeout_s: float, row: _Row) -> None:
    host, port = dep.base_url.host or "", dep.base_url.port or (443 if dep.base_url.scheme == "https" else 80)
    fix = "check base_url and that this host may connect to it (firewall, proxy, DNS)"
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        row.add("error", f"no TCP connection to {host}:{port} within {timeout_s:g} s", fix)
        return
    except socket.gaierror:
        row.add("error", f"{host} does not resolve", fix)
        return
    except OSError as exc:
        reason = os.strerror(exc.errno).lower() if exc.errno else "connection failed"
        row.add("error", f"no TCP connection to {host}:{port} ({reason})", fix)
        return
    writer.close()
    await asyncio.gather(writer.wait_closed(), return_exceptions=True)
    row.add("ok", f"TCP connection to {host}:{port} (no request sent)")


async def check_deployment(
    model: ModelRead, index: int, dep: DeploymentSpec, catalog: Catalog, settings: Settings, timeout_s: float
) -> Check:
    row = _Row()
    row.add("ok", f"{dep.provider} {redact_url(dep.url())}")
    credential = _credential(dep, catalog, settings, row)
    try:
        async with asyncio.timeout(timeout_s + 1):
            if dep.provider == "openai":
                await _models_endpoint(dep, credential, settings, timeout_s, row)
            else:
                await _tcp(dep, timeout_s, row)
    except TimeoutError:
        row.add("error", f"no answer within {timeout_s:g} s", "check base_url and that the server runs")
    disabled = " (disabled)" if model.status == "disabled" else ""
    return row.check(f"model {model.name}{disabled} #{index + 1}")


async def check_catalog(
    engine: AsyncEngine, settings: Settings, timeout_s: float
) -> tuple[list[Check], list[str]]:
    """The rows, and the credential values read (for the report to cut out, should one slip in)."""
    async with asyncio.timeout(timeout_s):
        catalog, rows = await read(engine)
    checks = [check_credentials(catalog, rows, settings)] if rows else []
    if not catalog.models:
        checks.append(
            warning("models", "none registered: the gateway serves nothing", "headwater apply -f FILE")
        )
    at_once = asyncio.Semaphore(MAX_AT_ONCE)

    async def bounded(model: ModelRead, index: int, dep: DeploymentSpec) -> Check:
        async with at_once:
            return await check_deployment(model, index, dep, catalog, settings, timeout_s)

    checks += await asyncio.gather(
        *(
            bounded(model, index, dep)
            for model in catalog.models
            for index, dep in enumerate(model.deployments)
        )
    )
    secrets = list(catalog.opened.values())
    secrets += [
        os.environ.get(d.credential_env, "")
        for m in catalog.models
        for d in m.deployments
        if d.credential_env
    ]
    return checks, secrets
