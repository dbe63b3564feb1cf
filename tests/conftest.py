"""Shared fixtures. Backends: every end-to-end module runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.oidc_provider import TEST_USERS, OidcProvider, start_oidc_provider
from tests.support import Server, Sim, database, start_server, start_sim, stop, stop_all

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", autouse=True)
def no_process_left_running() -> Iterator[None]:
    """Whatever happens to a test or a fixture, no `headwater` process outlives the run."""
    yield
    stop_all()


def _headwater_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name.startswith("HEADWATER_")}


@pytest.fixture(autouse=True)
def no_setting_leaks_into_later_tests() -> Iterator[None]:
    """A test that leaves a ``HEADWATER_*`` variable behind changes every `headwater` process the
    tests after it start in the same worker (they inherit the environment): fail it, here, rather
    than a later test somewhere else depending on the order the tests ran in."""
    before = _headwater_environment()
    yield
    after = _headwater_environment()
    assert after == before, f"this test left HEADWATER_* settings changed: {sorted(set(after) ^ set(before))}"


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    """One simulator for the whole run: no delays, any model name."""
    started = start_sim()
    yield started
    stop(started.process)


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    started = start_server(database_url)
    yield started
    stop(started.process)


@pytest.fixture
def tmp_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def oidc() -> Iterator[OidcProvider]:
    """One real OIDC provider (npm's oidc-provider) for the run, with :data:`TEST_USERS`."""
    provider = start_oidc_provider(TEST_USERS)
    yield provider
    provider.stop()
