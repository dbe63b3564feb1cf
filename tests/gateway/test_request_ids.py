"""Request ids a client sends are echoed only when they are sane; anything else gets an id of ours.

A request id is echoed, logged, stored with the usage event and exported: 1-128 characters of
letters, digits and ``._:-``, starting with a letter or digit. A value such as ``=HYPERLINK(...)``
would be a formula in a spreadsheet, and a newline a forged log line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support import (
    Server,
    Sim,
    apply,
    create_key,
    model_doc,
    start_server,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def server(database_url: str, sim: Sim) -> Iterator[Server]:
    started = start_server(database_url)
    apply(started, model_doc("rid-chat", sim.url))
    yield started
    stop(started.process)


def call(server: Server, key: str, request_id: str | bytes) -> str:
    rid = request_id if isinstance(request_id, bytes) else request_id.encode()
    response = httpx.post(
        f"{server.v1}/chat/completions",
        json={"model": "rid-chat", "messages": [{"role": "user", "content": "hi"}]},
        headers={b"Authorization": f"Bearer {key}".encode(), b"X-Request-Id": rid},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.headers["x-request-id"]


@pytest.mark.parametrize("given", ["abc", "0f8e-41:trace.7_x", "A" * 128])
def test_a_sane_request_id_is_kept(server: Server, given: str) -> None:
    created = create_key(server)
    assert call(server, created["key"], given) == given
    assert wait_for(lambda: usage_events(server, key_id=created["id"]))[0]["request_id"] == given


@pytest.mark.parametrize(
    "given",
    ['=HYPERLINK("http://x")', "+1", "-1", "@SUM(A1)", "a b", "a\tb", "A" * 129, "é".encode(), "_x", "a/b"],
)
def test_anything_else_is_replaced(server: Server, given: str | bytes) -> None:
    created = create_key(server)
    echoed = call(server, created["key"], given)
    assert GENERATED.fullmatch(echoed), echoed
    assert wait_for(lambda: usage_events(server, key_id=created["id"]))[0]["request_id"] == echoed
