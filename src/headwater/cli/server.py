"""headwater serve | sim | migrate

The server stack (uvicorn, SQLAlchemy, the app) is imported inside the commands that run it, so
that the client commands (keys, models, usage, apply) start quickly.
"""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer
from pydantic import ValidationError

from headwater.cli.client import CliError
from headwater.cli.migrate_apart import migrate_apart
from headwater.cli.output import console, errors
from headwater.logs import configure
from headwater.settings import Settings, load_settings

ConfigOption = Annotated[
    str | None, typer.Option("--config", help="YAML settings file (HEADWATER_* names, lower case).")
]


def _settings(config: str | None, **overrides: object) -> Settings:
    try:
        return load_settings(config, **overrides)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise CliError(f"invalid setting{' ' + where if where else ''}: {first['msg']}") from None


async def _prepare(settings: Settings) -> str | None:
    from headwater.bootstrap import prepare
    from headwater.storage.sql.database import create_engine

    engine = create_engine(settings.resolved_database_url)
    try:
        return await prepare(engine, settings)
    finally:
        await engine.dispose()


def serve(
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default 8080.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=64)] = None,
    config: ConfigOption = None,
) -> None:
    """Run Headwater: the gateway on /v1, the admin API on /api/v1."""
    from headwater.serving.config import PROTOCOL, ServingConfig
    from headwater.serving.config import run as run_server

    settings = _settings(config, host=host, port=port, workers=workers)
    configure(settings.log_format, settings.log_level, settings.access_log)
    try:
        if settings.auto_migrate:
            migrate_apart(settings)  # Alembic stays out of the serving process (~10 MB resident)
        token = asyncio.run(_prepare(settings))
    except Exception as exc:
        raise CliError(f"cannot prepare the database: {exc}") from None
    if token:
        errors.print(
            "[bold yellow]Generated the admin token. It is shown this once; store it now:[/bold yellow]\n"
            f"  {token}\n"
            "Use it as HEADWATER_TOKEN for the CLI, or set HEADWATER_ADMIN_TOKEN to choose your own."
        )
    # Workers must build exactly these settings: pass the overrides on, migrations are done.
    os.environ["HEADWATER_HOST"] = settings.host
    os.environ["HEADWATER_PORT"] = str(settings.port)
    os.environ["HEADWATER_AUTO_MIGRATE"] = "false"
    serving = ServingConfig(
        "headwater.main:app_factory",
        header_timeout_s=settings.header_timeout_s,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http=PROTOCOL,  # httptools, with a bound on the time to send headers
        # No WebSocket route exists (the app ignores that scope): an Upgrade request is served as
        # plain HTTP, and the websockets package (~1 MB resident) is never imported.
        ws="none",
        lifespan="on",
        access_log=settings.access_log,
        log_config=None,
        timeout_graceful_shutdown=int(settings.graceful_shutdown_s),
        server_header=False,
        # X-Forwarded-* are not trusted by default (a middleware pass on every request otherwise).
        proxy_headers=False,
    )
    if not run_server(serving):  # workers exit with the serving process (headwater.serving.supervise)
        raise typer.Exit(3)


def sim(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8001,
    ttft_ms: Annotated[float, typer.Option("--ttft-ms", min=0, help="Time to first token.")] = 150.0,
    tokens_per_second: Annotated[
        float, typer.Option("--tokens-per-second", min=0, help="0: no delay.")
    ] = 80.0,
    error_rate: Annotated[float, typer.Option("--error-rate", min=0, max=1)] = 0.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    max_model_len: Annotated[
        int, typer.Option("--max-model-len", min=1, help="Context length (prompt + reply per choice).")
    ] = 4096,
) -> None:
    """Run the built-in OpenAI-compatible simulated model server."""
    from headwater.sim.config import SimConfig
    from headwater.sim.server import run

    configure("text", "warning")
    console.print(f"headwater sim on http://{host}:{port}/v1 (any model name is served)")
    run(
        SimConfig(
            ttft_ms=ttft_ms,
            tokens_per_second=tokens_per_second,
            error_rate=error_rate,
            seed=seed,
            max_model_len=max_model_len,
        ),
        host=host,
        port=port,
    )


def migrate_command(
    config: ConfigOption = None,
    revision: Annotated[str, typer.Option("--revision", help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (safe to run while other replicas start)."""
    from headwater.storage.sql import migrate
    from headwater.storage.sql.database import create_engine

    settings = _settings(config)

    async def run() -> str | None:
        engine = create_engine(settings.resolved_database_url)
        try:
            await migrate.upgrade(engine, revision)
            return await migrate.current(engine)
        finally:
            await engine.dispose()

    try:
        current = asyncio.run(run())
    except Exception as exc:
        raise CliError(f"migration failed: {exc}") from None
    console.print(f"database at revision {current}")
