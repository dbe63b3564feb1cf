"""headwater whoami: who the admin API takes HEADWATER_TOKEN to be."""

from __future__ import annotations

from typing import Annotated

import typer

from headwater.cli.client import AdminClient
from headwater.cli.output import details, print_json


def whoami(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show who you are to Headwater: name, role, groups, the groups you administer."""
    with AdminClient() as client:
        me = client.get("/me")
    if as_json:
        print_json(me)
        return
    details(
        me,
        [
            ("name", "Name"),
            ("role", "Role"),
            ("via", "Signed in with"),
            ("groups", "Groups"),
            ("admin_of", "Administers"),
        ],
    )
