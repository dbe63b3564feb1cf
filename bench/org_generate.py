"""An organisation in PostgreSQL, written with SQL (COPY), not through the API (issue 11).

    .venv/bin/python bench/org_generate.py --keys 100000 --users 20000 --groups 2000 \\
        --policies 1000 --models 500 --upstream http://127.0.0.1:8001/v1 --keys-file /tmp/org-keys.jsonl

Creates a fresh database ``hw_org_<random>`` on the server of ``--server`` (default
127.0.0.1:5432, trust authentication) unless ``--database-url`` names an existing empty one, runs
Headwater's migrations, then writes in one transaction:

* groups (local, a cost centre each, one admin each);
* users (active, an email each), each a member of 1 to 3 groups;
* models (chat; one in ten ``restricted``), each with one deployment at ``--upstream``;
* policies: each targets 2 groups and 2 users, covers 5 named models (one in four: ``all``), and
  holds request and token limits too large to be reached, so admission runs on every call;
* keys: real keys (:func:`headwater.keys.secret.new_key`, only the SHA-256 stored), 90 % owned by
  a user (self-service: created by that user), 10 % by a group (created by the admin token); 3 %
  revoked. ``--sample`` of the active user keys are written in plain text to ``--keys-file``
  (JSON lines ``{"id", "key", "owner"}``, mode 0600) for the scenario to call with;

then bumps the revision, as a change does. No audit entries are written (the API would write one
per change: the audit trail of a generated organisation starts empty). Prints a JSON summary
(database URL, counts, seconds per step) as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from headwater.keys.secret import new_key
from headwater.policies.schemas import PolicySpec
from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine

DEFAULT_SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Sizes:
    keys: int = 100_000
    users: int = 20_000
    groups: int = 2_000
    policies: int = 1_000
    models: int = 500
    sample: int = 1_000  # plain-text keys written to the keys file


@dataclass
class Generated:
    database_url: str  # SQLAlchemy form (postgresql+asyncpg://...)
    sizes: Sizes
    keys_file: str
    revision: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    created_database: bool = False

    def summary(self) -> dict[str, Any]:
        return {**asdict(self), "total_s": round(sum(self.seconds.values()), 2)}


def plain_url(url: str) -> str:
    """The libpq form asyncpg takes (``postgresql://``), from either form."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    return plain_url(url).replace("postgresql://", "postgresql+asyncpg://", 1)


async def create_database(server: str, prefix: str = "hw_org_") -> str:
    """A new empty database on ``server``'s cluster; its SQLAlchemy URL."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(plain_url(server))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return sqlalchemy_url(f"{plain_url(server).rsplit('/', 1)[0]}/{name}")


async def drop_database(server: str, database_url: str) -> None:
    name = plain_url(database_url).rsplit("/", 1)[1].split("?", 1)[0]
    conn = await asyncpg.connect(plain_url(server))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def migrated(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def names(prefix: str, count: int) -> list[str]:
    width = len(str(max(count, 1)))
    return [f"{prefix}{n:0{width}d}" for n in range(1, count + 1)]


def build_rows(
    sizes: Sizes, upstream: str, rng: random.Random
) -> tuple[dict[str, list[tuple[Any, ...]]], list[dict[str, str]]]:
    """Every table's rows, as COPY takes them, and the sample of plain-text keys."""
    now = datetime.now(UTC)
    year_ago = now - timedelta(days=365)
    group_names = names("team-", sizes.groups)
    user_names = names("user-", sizes.users)
    model_names = names("org-model-", sizes.models)
    rows: dict[str, list[tuple[Any, ...]]] = {}
    rows["groups"] = [
        (name, f"Team {name}", "local", f"cc-{index % 97:03d}", year_ago, year_ago)
        for index, name in enumerate(group_names)
    ]
    rows["users"] = [
        (name, f"{name}@example.com", f"User {name[5:]}", None, "user", "active", year_ago, year_ago, None)
        for name in user_names
    ]
    members: list[tuple[Any, ...]] = []
    for user in user_names:
        for group in rng.sample(group_names, min(rng.randint(1, 3), len(group_names))):
            members.append((user, group))
    rows["group_members"] = members
    rows["group_admins"] = [(group, rng.choice(user_names)) for group in group_names]
    base_url = upstream.rstrip("/")
    money = Decimal("0.20"), Decimal("0.60")
    restricted = {name for index, name in enumerate(model_names) if index % 10 == 9}
    rows["models"] = [
        (name, "chat", "restricted" if name in restricted else "open", f"Model {name}", 8192, *money,
         "USD", "active", year_ago, year_ago, None, None)
        for name in model_names
    ]  # fmt: skip
    rows["deployments"] = [(name, 0, "openai", base_url, name, None, None, 1, None) for name in model_names]
    policies: list[tuple[Any, ...]] = []
    for index, name in enumerate(names("tier-", sizes.policies)):
        assets: Any = "all" if index % 4 == 0 else sorted(rng.sample(model_names, min(5, len(model_names))))
        spec = PolicySpec.model_validate(
            {
                "description": f"Generated tier {name}",
                "assets": {"models": assets},
                "targets": {
                    "groups": sorted(rng.sample(group_names, min(2, len(group_names)))),
                    "users": sorted(rng.sample(user_names, min(2, len(user_names)))),
                },
                "limits": [
                    {"requests": 1_000_000_000, "window": "1h", "scope": "user"},
                    {"tokens": 100_000_000_000, "window": "1d", "scope": "user"},
                ],
                "priority": rng.randint(-10, 10),
            }
        )
        policies.append((name, _json(spec.model_dump(mode="json")), year_ago, year_ago))
    rows["policies"] = policies
    keys: list[tuple[Any, ...]] = []
    sample: list[dict[str, str]] = []
    seen: set[str] = set()
    step = (now - year_ago) / max(sizes.keys, 1)
    for index in range(sizes.keys):
        made = new_key()
        while made.id in seen:  # 12 base62 characters: a repeat is most unlikely, never stored
            made = new_key()
        seen.add(made.id)
        created = year_ago + step * index
        if index % 10 == 9:
            owner_type, owner_name, created_by = "group", rng.choice(group_names), "admin:bootstrap"
        else:
            owner_type = "user"
            owner_name = rng.choice(user_names)
            created_by = f"user:{owner_name}"
        revoked = index % 33 == 32
        keys.append(
            (made.id, made.hash, made.prefix, f"key-{index}", "", owner_type, owner_name, None,
             "revoked" if revoked else "active", None, None, created_by, created, created,
             created + timedelta(days=1) if revoked else None, None, None, None, None, None)
        )  # fmt: skip
        if not revoked and owner_type == "user" and len(sample) < sizes.sample:
            sample.append({"id": made.id, "key": made.key, "owner": f"user:{owner_name}"})
    rows["api_keys"] = keys
    return rows, sample


COLUMNS: dict[str, Sequence[str]] = {
    "groups": ("name", "description", "source", "cost_center", "created_at", "updated_at"),
    "users": ("name", "email", "display_name", "subject", "role", "status", "created_at", "updated_at",
              "last_login_at"),
    "group_members": ("user_name", "group_name"),
    "group_admins": ("group_name", "user_name"),
    "models": ("name", "kind", "access", "description", "context_window", "input_per_million",
               "output_per_million", "currency", "status", "created_at", "updated_at", "limits",
               "max_output_tokens"),
    "deployments": ("model_name", "position", "provider", "base_url", "upstream_model", "credential_env",
                    "timeout_s", "weight", "deadline_s"),
    "policies": ("name", "spec", "created_at", "updated_at"),
    "api_keys": ("id", "hash", "prefix", "name", "description", "owner_type", "owner_name", "models",
                 "status", "expires_at", "last_used_at", "created_by", "created_at", "updated_at",
                 "revoked_at", "limits", "previous_hash", "previous_expires_at", "rotated_at",
                 "restrictions"),
}  # fmt: skip


async def write(database_url: str, rows: dict[str, list[tuple[Any, ...]]]) -> int:
    """COPY every table in one transaction and bump the revision; the new revision."""
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        async with conn.transaction():
            for table, columns in COLUMNS.items():  # in foreign-key order
                await conn.copy_records_to_table(table, records=rows[table], columns=list(columns))
            revision = await conn.fetchval(
                "UPDATE state SET revision = revision + 1 WHERE id = 1 RETURNING revision"
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return int(revision)


async def generate(
    sizes: Sizes,
    upstream: str,
    keys_file: Path,
    *,
    database_url: str | None = None,
    server: str = DEFAULT_SERVER,
    seed: int = 0,
) -> Generated:
    started = time.perf_counter()
    created = database_url is None
    url = await create_database(server) if database_url is None else sqlalchemy_url(database_url)
    result = Generated(url, sizes, str(keys_file), created_database=created)
    try:
        await migrated(url)
        result.seconds["create_and_migrate"] = round(time.perf_counter() - started, 2)
        mark = time.perf_counter()
        rows, sample = build_rows(sizes, upstream, random.Random(seed))
        result.seconds["build_rows"] = round(time.perf_counter() - mark, 2)
        mark = time.perf_counter()
        result.revision = await write(url, rows)
        result.seconds["copy"] = round(time.perf_counter() - mark, 2)
    except BaseException:
        if created:
            await drop_database(server, url)
        raise
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(keys_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.writelines(orjson.dumps(entry) + b"\n" for entry in sample)
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    sizes = Sizes()
    for name in ("keys", "users", "groups", "policies", "models", "sample"):
        parser.add_argument(f"--{name}", type=int, default=getattr(sizes, name))
    parser.add_argument("--upstream", required=True, help="the deployments' base URL, up to /v1")
    parser.add_argument("--keys-file", type=Path, required=True, help="where the sampled plain-text keys go")
    parser.add_argument("--database-url", help="an existing empty database (default: create hw_org_<random>)")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="any database of the cluster to create in")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("keys", "users", "groups", "policies", "models"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sizes = Sizes(args.keys, args.users, args.groups, args.policies, args.models, args.sample)
    result = asyncio.run(
        generate(sizes, args.upstream, args.keys_file, database_url=args.database_url, server=args.server,
                 seed=args.seed)
    )  # fmt: skip
    print(orjson.dumps(result.summary()).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
