"""``headwater apply``: make the stored configuration match the documents, idempotently.

Everything is applied in one transaction, in dependency order (groups, users, service accounts,
models, policies; the admins of groups last, as they are users). A dry run does the same work and
rolls it back, so it checks references exactly. When nothing changes, nothing is written and the
revision does not move. It is one unit of work (:mod:`headwater.unit_of_work`): each changed
resource is written to the audit trail, in the transaction,
with the same action as the admin API would record (``model.create``, ``group.update``, ...); a
dry run records nothing.

Every resource apply creates or updates is marked managed (:mod:`headwater.storage.sql.managed`);
one made by hand that a document names is *adopted*: marked, recorded as ``<type>.update`` with a
detail saying so, even when its spec already matches (so the first apply of an export of hand-made
resources changes their marker, and the next changes nothing). With ``prune``, managed resources the
documents no longer name are deleted in the same transaction (:mod:`headwater.resources.prune`);
pruning with no documents is refused, as it would delete everything apply manages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Entry, Origin
from headwater.catalog import service as catalog
from headwater.catalog.schemas import ModelSpec
from headwater.control import ControlPlane
from headwater.directory import accounts
from headwater.directory import service as directory
from headwater.directory.schemas import GroupSpec, ServiceAccountSpec, UserSpec
from headwater.policies import service as policies
from headwater.policies.schemas import PolicySpec
from headwater.problems import InvalidProblem
from headwater.resources.documents import SPECS, Resource, canonical, parse
from headwater.resources.prune import prune_in
from headwater.resources.tracked import TRACKED
from headwater.storage.sql import catalog as catalog_repo
from headwater.storage.sql import directory as directory_repo
from headwater.storage.sql import managed
from headwater.storage.sql import policies as policies_repo
from headwater.unit_of_work import UnitOfWork, perform

Action = Literal["created", "updated", "adopted", "unchanged", "deleted"]
ADOPTED = "adopted by apply: managed from now on (apply --prune deletes it once no document names it)"
#: The diff line of a resource made by hand that apply adopts.
MARKED = "+ metadata.managedBy: 'apply'"


class ResourceResult(BaseModel):
    kind: str
    name: str
    action: Action = Field(
        description="adopted: made by hand and already as documented, now managed by apply (one made by hand "
        "that apply changes is updated, and adopted too); deleted: pruned (prune: true)"
    )
    diff: list[str]


class ApplyWarning(BaseModel):
    loc: list[str | int] = Field(
        description='Where, as written: ["documents", 3, "spec", "deployments", 0, "base_url"].'
    )
    message: str = Field(
        description="One line: document 4 (Model/granite-3.1-8b): spec.deployments.0.base_url is deprecated; "
        "use baseUrl"
    )


class ApplyResult(BaseModel):
    dry_run: bool
    changed: bool
    results: list[ResourceResult]
    warnings: list[ApplyWarning] = Field(
        default_factory=list,
        description="Deprecated spellings in the documents (snake_case fields: use camelCase), "
        "in document order.",
    )


_GETTERS: dict[str, Callable[[AsyncConnection, str], Awaitable[Any]]] = {
    "Group": directory_repo.get_group,
    "User": directory_repo.get_user,
    "ServiceAccount": directory_repo.get_service_account,
    "Model": catalog_repo.get,
    "Policy": policies_repo.get,
}


def spec_of(kind: str, stored: BaseModel) -> BaseModel:
    spec_type = SPECS[kind]
    spec: BaseModel = spec_type.model_validate(stored.model_dump(include=set(spec_type.model_fields)))
    return spec


def _entry(kind: str, name: str, before: Any, after: Any, adopted: bool) -> Entry:
    return TRACKED[kind].entry(name, before, after, detail=ADOPTED if adopted else None)


def _loc(resource: Resource) -> tuple[str | int, ...]:
    return ("documents", resource.index, "spec")


async def _put(conn: AsyncConnection, resource: Resource, credential_prefix: str, *, exists: bool) -> None:
    loc = _loc(resource)
    spec = resource.spec
    if isinstance(spec, GroupSpec):  # its admins once every user is in (see apply)
        await directory.put_group_in(conn, resource.name, spec, loc, exists=exists, with_admins=False)
    elif isinstance(spec, UserSpec):
        await directory.put_user_in(conn, resource.name, spec, loc, exists=exists)
    elif isinstance(spec, ServiceAccountSpec):
        await accounts.put_service_account_in(conn, resource.name, spec, loc, exists=exists)
    elif isinstance(spec, ModelSpec):
        await catalog.put_in(conn, resource.name, spec, credential_prefix, loc, exists=exists)
    elif isinstance(spec, PolicySpec):
        await policies.put_in(conn, resource.name, spec, loc, exists=exists)


def _flatten(value: Any, prefix: str = "spec") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}"))
        return flat
    if isinstance(value, list) and value and any(isinstance(item, dict) for item in value):
        flat = {}
        for index, item in enumerate(value):
            flat.update(_flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value}


def diff(before: Any, after: Any) -> list[str]:
    old = _flatten(before) if before is not None else {}
    new = _flatten(after)
    if before is None:  # a new resource: show what it sets, not every empty default
        new = {path: value for path, value in new.items() if value not in (None, "", [], {})}
    lines = []
    for path in sorted(old.keys() | new.keys()):
        if path not in old:
            lines.append(f"+ {path}: {new[path]!r}")
        elif path not in new:
            lines.append(f"- {path}: {old[path]!r}")
        elif old[path] != new[path]:
            lines.append(f"~ {path}: {old[path]!r} -> {new[path]!r}")
    return lines


def removed(before: Any) -> list[str]:
    """The diff of a deleted resource: what it set."""
    old = _flatten(before)
    return [f"- {path}: {value!r}" for path, value in sorted(old.items()) if value not in (None, "", [], {})]


async def _change(
    conn: AsyncConnection, resources: list[Resource], credential_prefix: str
) -> tuple[list[ResourceResult], list[Entry]]:
    """Applies the resources in ``conn``'s transaction; the results, and audit entries of the changes."""
    results: list[ResourceResult] = []
    changed: list[tuple[Resource, Any, bool]] = []  # (resource, its stored state before, adopted)
    for resource in resources:
        if isinstance(resource.spec, ModelSpec):  # unchanged ones too: a dry run shows every refusal
            catalog.check_credentials(resource.spec, credential_prefix, _loc(resource))
        stored = await _GETTERS[resource.kind](conn, resource.name)
        before = canonical(spec_of(resource.kind, stored)) if stored is not None else None
        after = canonical(resource.spec)
        adopted = stored is not None and not await managed.is_managed(conn, resource.kind, resource.name)
        if before == after and not adopted:
            results.append(
                ResourceResult(kind=resource.kind, name=resource.name, action="unchanged", diff=[])
            )
            continue
        if before != after:
            await _put(conn, resource, credential_prefix, exists=stored is not None)
        await managed.mark(conn, resource.kind, resource.name)
        changed.append((resource, stored, adopted))
        action: Action = "created" if stored is None else "updated" if before != after else "adopted"
        lines = diff(before, after) + ([MARKED] if adopted else [])
        results.append(ResourceResult(kind=resource.kind, name=resource.name, action=action, diff=lines))
    for resource, _, _ in changed:
        if isinstance(resource.spec, GroupSpec):
            await directory.set_group_admins_in(conn, resource.name, resource.spec.admins, _loc(resource))
    entries = []
    for resource, stored, adopted in changed:
        now = await _GETTERS[resource.kind](conn, resource.name)
        entries.append(_entry(resource.kind, resource.name, stored, now, adopted))
    return results, entries


async def _apply_in(
    unit: UnitOfWork, resources: list[Resource], credential_prefix: str, prune: bool
) -> tuple[list[ResourceResult], bool]:
    """The resources applied (and, with ``prune``, the rest pruned) in the unit's transaction: the
    results, and whether anything changed."""
    results, entries = await _change(unit.conn, resources, credential_prefix)
    unit.record(*entries)
    if not prune:
        return results, bool(entries)
    pruned = await prune_in(unit, {(resource.kind, resource.name) for resource in resources})
    for kind, name, before in pruned:
        lines = removed(canonical(spec_of(kind, before)))
        results.append(ResourceResult(kind=kind, name=name, action="deleted", diff=lines))
    return results, bool(entries) or bool(pruned)


def _as_written(problem: InvalidProblem, resources: list[Resource]) -> InvalidProblem:
    """A refusal of the services (which name the models' fields) naming the fields as the document
    spelled them."""
    for resource in resources:
        prefix = _loc(resource)
        if problem.loc[: len(prefix)] == prefix:
            return InvalidProblem(
                (*prefix, *resource.spelling.loc(problem.loc[len(prefix) :])), problem.message
            )
    return problem


async def apply(
    cp: ControlPlane, documents: list[Any], origin: Origin, *, dry_run: bool, prune: bool = False
) -> ApplyResult:
    parsed = parse(documents)
    if parsed.errors:
        first = parsed.errors[0]
        raise InvalidProblem(("body", "documents", first.index, *first.loc), first.message)
    resources = parsed.resources
    if prune and not resources:
        raise InvalidProblem(
            ("body", "documents"),
            "refusing to prune with no documents: it would delete everything apply manages",
        )
    prefix = cp.credential_env_prefix
    try:
        results, changed = await perform(
            cp, origin, lambda unit: _apply_in(unit, resources, prefix, prune), dry_run=dry_run
        )
    except InvalidProblem as problem:
        written = _as_written(problem, resources)
        if written is problem:
            raise
        raise written from None
    position = {(r.kind, r.name): r.index for r in resources}  # the pruned last, as pruned
    results.sort(key=lambda result: position.get((result.kind, result.name), len(documents)))
    warnings = [
        ApplyWarning(loc=["documents", warning.index, *warning.loc], message=warning.message)
        for warning in parsed.warnings
    ]
    return ApplyResult(dry_run=dry_run, changed=changed, results=results, warnings=warnings)
