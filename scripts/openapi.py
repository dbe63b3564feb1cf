"""Write the admin API's OpenAPI document to docs/openapi.json (`make openapi`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from headwater.admin.app import create_admin_app
from headwater.admin.auth import IdentityConfig
from headwater.control import ControlPlane
from headwater.keys.selfservice import KeyRules
from headwater.snapshot import Snapshot
from headwater.storage.sql.database import create_engine

TARGET = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


async def _nothing() -> None:
    return None


def document() -> dict[str, Any]:
    engine = create_engine("sqlite+aiosqlite:///:memory:")  # never connected: only the schema is built
    app = create_admin_app(ControlPlane(engine, _nothing), IdentityConfig(), None, KeyRules(), Snapshot)
    spec: dict[str, Any] = app.openapi()
    return spec


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render())
    sys.stdout.write(f"wrote {TARGET}\n")
