"""The ``headwater`` command."""

from __future__ import annotations

import sys

import typer

from headwater import __version__
from headwater.cli import audit, credentials, db, keys, models, policies, secrets, usage
from headwater.cli.apply import apply_command
from headwater.cli.client import CliError
from headwater.cli.demo import demo
from headwater.cli.diff import diff_command
from headwater.cli.doctor import doctor
from headwater.cli.export import export_command
from headwater.cli.output import errors
from headwater.cli.quota import quota
from headwater.cli.server import migrate_command, serve, sim
from headwater.cli.whoami import whoami

app = typer.Typer(
    name="headwater",
    help="Headwater: one governed, OpenAI-compatible endpoint for every model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(serve)
app.command("sim")(sim)
app.command("migrate")(migrate_command)
app.command("apply")(apply_command)
app.command("diff")(diff_command)
app.command("export")(export_command)
app.command("demo")(demo)
app.command("whoami")(whoami)
app.command("quota")(quota)
app.command("doctor")(doctor)
app.add_typer(keys.app, name="keys")
app.add_typer(models.app, name="models")
app.add_typer(credentials.app, name="credentials")
app.add_typer(secrets.app, name="secrets")
app.add_typer(policies.app, name="policies")
app.add_typer(usage.app, name="usage")
app.add_typer(audit.app, name="audit")
app.add_typer(db.app, name="db")


@app.command("version")
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    try:
        app()
    except CliError as exc:
        errors.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
