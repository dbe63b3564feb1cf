"""headwater secrets generate-key | rotate-key

``rotate-key`` works on the database directly (like ``migrate``): the old key is the configured one
(``HEADWATER_SECRET_KEY`` or ``HEADWATER_SECRET_KEY_FILE``), the new one is read from
``--new-key-file`` or ``HEADWATER_NEW_SECRET_KEY``, never from the command line (where ``ps`` would
show it). No key is ever printed but the one ``generate-key`` makes.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from headwater.catalog.secret_box import (
    KEY_ENV,
    KEY_FILE_ENV,
    NEW_KEY_ENV,
    BadKey,
    SecretBox,
    generate_key,
    parse_key,
    read_key_file,
)
from headwater.cli.client import CliError
from headwater.cli.output import console
from headwater.cli.server import ConfigOption, _settings

app = typer.Typer(help="The key that encrypts stored credentials.", no_args_is_help=True)


@app.command("generate-key")
def generate() -> None:
    """Print a fresh key (base64 of 32 random bytes) for HEADWATER_SECRET_KEY."""
    print(generate_key())


def _new_key(new_key_file: Path | None) -> SecretBox:
    try:
        if new_key_file is not None:
            return SecretBox(read_key_file(new_key_file, "--new-key-file"))
        text = os.environ.get(NEW_KEY_ENV, "")
        if not text:
            raise CliError(f"give the new key: --new-key-file PATH, or {NEW_KEY_ENV}")
        return SecretBox(parse_key(text, NEW_KEY_ENV))
    except BadKey as exc:
        raise CliError(str(exc)) from None


@app.command("rotate-key")
def rotate_key(
    new_key_file: Annotated[
        Path | None, typer.Option("--new-key-file", help=f"A file holding the new key (or {NEW_KEY_ENV}).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything, change nothing.")] = False,
    config: ConfigOption = None,
) -> None:
    """Re-encrypt every stored credential under a new key, in one transaction. Then restart the
    servers with the new key as HEADWATER_SECRET_KEY (see docs/credentials.md)."""
    from headwater.audit.record import Origin
    from headwater.control import ControlPlane
    from headwater.credentials.rotation import RotationRefused, rotate
    from headwater.storage.sql.database import create_engine

    settings = _settings(config)
    old = settings.secret_box()
    if old is None:
        raise CliError(f"no key is configured: set {KEY_ENV} (or {KEY_FILE_ENV}) to the key in use now")
    new = _new_key(new_key_file)

    async def nobody() -> None:
        """Running servers notice the change at their next revision check."""

    async def run() -> tuple[int, int]:
        engine = create_engine(settings.resolved_database_url)
        try:
            cp = ControlPlane(engine=engine, changed=nobody)
            origin = Origin(actor="system:cli", request_id="", source_ip=None)
            done = await rotate(cp, old, new, origin, dry_run=dry_run)
            return done.resealed, done.skipped
        finally:
            await engine.dispose()

    try:
        resealed, skipped = asyncio.run(run())
    except RotationRefused as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:
        raise CliError(f"rotation failed, nothing was changed: {type(exc).__name__}: {exc}") from None
    verb = "would re-encrypt" if dry_run else "re-encrypted"
    console.print(
        f"{verb} {resealed} credential{'s' if resealed != 1 else ''} under key {new.id}"
        f" ({skipped} already under it)"
    )
    if not dry_run:
        console.print(f"now restart the servers with the new key as {KEY_ENV} (or {KEY_FILE_ENV})")
