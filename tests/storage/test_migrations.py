"""Alembic: upgrade from empty, downgrade/upgrade round trip, concurrent start-up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect

from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine, current_revision
from headwater.storage.sql.tables import metadata
from tests.support import database


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_upgrade_from_empty_then_round_trip(backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as url:

        async def scenario() -> None:
            engine = create_engine(url)
            try:
                await migrate.upgrade(engine)
                assert await migrate.current(engine) == "0009"
                assert set(metadata.tables) <= await _tables(url)
                async with engine.connect() as conn:
                    assert await current_revision(conn) == 1
                await migrate.downgrade(engine, "base")
                assert await migrate.current(engine) is None
                assert (await _tables(url)) - {"alembic_version"} == set()
                await migrate.upgrade(engine)
                assert set(metadata.tables) <= await _tables(url)
                await migrate.upgrade(engine)  # nothing left to do: no error
                assert await migrate.current(engine) == "0009"
            finally:
                await engine.dispose()

        asyncio.run(scenario())


@pytest.mark.postgres
def test_replicas_starting_together_migrate_once(tmp_path: Path) -> None:
    with database("postgres", tmp_path) as url:

        async def scenario() -> None:
            engines = [create_engine(url) for _ in range(4)]
            try:
                await asyncio.gather(*(migrate.upgrade(engine) for engine in engines))
                assert await migrate.current(engines[0]) == "0009"
            finally:
                for engine in engines:
                    await engine.dispose()

        asyncio.run(scenario())


def test_models_match_the_migrations(tmp_path: Path) -> None:
    """The tables in code and the schema the migrations build do not drift apart."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = f"sqlite+aiosqlite:///{tmp_path / 'drift.db'}"

    async def scenario() -> list[object]:
        engine = create_engine(url)
        try:
            await migrate.upgrade(engine)
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
                )
        finally:
            await engine.dispose()

    assert asyncio.run(scenario()) == []
