"""The GitOps tests' server: one of its own per test, as prune and export see the whole system."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.support import Server, database, start_server, stop


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server of its own, on SQLite and on PostgreSQL."""
    with database(request.param, tmp_path) as url:
        server = start_server(url)
        try:
            yield server
        finally:
            stop(server.process)
