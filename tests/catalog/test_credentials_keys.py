"""The server's key for stored credentials: none configured, or one that is not a key.

Without ``HEADWATER_SECRET_KEY`` the server runs as before, and storing a credential is a 409 that
says which setting to give. A malformed key (or key file) stops ``headwater serve`` at once, with a
message naming the setting and never showing what was given.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from headwater.catalog.secret_box import generate_key
from tests.support import cli, database, free_port, start_server, stop

pytestmark = pytest.mark.e2e

VALUE = "sk-" + "never-stored-5d1e0a"


def test_without_a_key_nothing_can_be_stored(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        server = start_server(url)
        try:
            with server.admin() as admin:
                refused = admin.put("/credentials/openai", json={"value": VALUE})
                listed = admin.get("/credentials")
                missing = admin.get("/credentials/openai")
        finally:
            log = stop(server.process)
    assert refused.status_code == 409, refused.text
    assert "HEADWATER_SECRET_KEY" in refused.json()["detail"]
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert missing.status_code == 404
    assert VALUE not in refused.text + log


@pytest.mark.parametrize(
    ("setting", "given", "message"),
    [
        ("HEADWATER_SECRET_KEY", base64.b64encode(b"sixteen-byte-key").decode(), "base64 of 32 bytes"),
        ("HEADWATER_SECRET_KEY", "this is not base64 at all", "not valid base64"),
        ("HEADWATER_SECRET_KEY_FILE", "/nonexistent/headwater.key", "no such file"),
    ],
)
def test_a_malformed_key_stops_the_start(tmp_path: Path, setting: str, given: str, message: str) -> None:
    env = {
        setting: given,
        "HEADWATER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hw.db'}",
        "HEADWATER_ADMIN_TOKEN": "t" * 20,
    }
    done = cli("serve", "--port", str(free_port()), env=env)
    assert done.returncode != 0
    assert message in done.stderr and setting in done.stderr, done.stderr
    if setting == "HEADWATER_SECRET_KEY":
        assert given not in done.stdout + done.stderr


def test_both_a_key_and_a_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(generate_key())
    key = generate_key()
    env = {
        "HEADWATER_SECRET_KEY": key,
        "HEADWATER_SECRET_KEY_FILE": str(path),
        "HEADWATER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hw.db'}",
    }
    done = cli("serve", "--port", str(free_port()), env=env)
    assert done.returncode != 0 and "not both" in done.stderr, done.stderr
    assert key not in done.stdout + done.stderr
