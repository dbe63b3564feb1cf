"""Running every check: the settings first, then the independent checks at once, then what the
database holds (when the database is ready).

:func:`load` turns a settings error into the report's first row (never a traceback);
:func:`diagnose` answers every row, secrets cut out (:func:`headwater.doctor.report.scrub`).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from pydantic import ValidationError

from headwater.catalog.secret_box import NEW_KEY_ENV
from headwater.doctor import catalog, database, journal
from headwater.doctor.report import Check, error, ok, scrub, url_password, warning
from headwater.doctor.services import check_oidc, check_redis
from headwater.settings import CONFIG_ENV, Settings, load_settings

SETTINGS = "settings"
DEFAULT_TIMEOUT_S = 5.0
_CONFIG_DOCS = "docs/configuration.md"
#: Settings whose values are secrets, as environment variables.
_SECRET_ENV = ("HEADWATER_ADMIN_TOKEN", "HEADWATER_SECRET_KEY", "HEADWATER_OIDC_CLIENT_SECRET", NEW_KEY_ENV)
_URL_ENV = ("HEADWATER_DATABASE_URL", "HEADWATER_REDIS_URL")


def environment_secrets(credential_prefix: str = "HEADWATER_UPSTREAM_") -> list[str]:
    """Every secret the environment holds: secret settings, URL passwords, upstream credentials."""
    found = [os.environ.get(name, "") for name in _SECRET_ENV]
    found += [url_password(os.environ.get(name, "")) or "" for name in _URL_ENV]
    found += [value for name, value in os.environ.items() if name.startswith(credential_prefix)]
    return found


def _settings_error(exc: ValidationError) -> Check:
    details, fixes = [], []
    for problem in exc.errors():
        where = ".".join(map(str, problem["loc"]))
        message = problem["msg"].removeprefix("Value error, ")
        details.append(f"HEADWATER_{where.upper()}: {message}" if where else message)
        fixes.append(
            f"correct HEADWATER_{where.upper()}" if where else "correct the settings the message names"
        )
    fix = "; ".join(dict.fromkeys(fixes)) + f" ({_CONFIG_DOCS})"
    return error(SETTINGS, "; ".join(details), fix)


def load(config_file: str | None) -> Settings | Check:
    """The settings, or the row that says why they cannot be read."""
    try:
        return load_settings(config_file)
    except FileNotFoundError as exc:
        return error(SETTINGS, str(exc), "give --config an existing YAML file")
    except ValidationError as exc:
        return scrub([_settings_error(exc)], environment_secrets())[0]
    except (OSError, ValueError) as exc:  # an unreadable or invalid YAML file
        where = os.environ.get(CONFIG_ENV, "the settings")
        return error(SETTINGS, f"{where}: {' '.join(str(exc).split())[:300]}", f"correct it ({_CONFIG_DOCS})")


def _settings_row(settings: Settings) -> Check:
    source = os.environ.get(CONFIG_ENV)
    where = f"environment and {Path(source).name}" if source else "environment"
    return ok(SETTINGS, f"valid (from the {where}); {settings.workers} worker(s)")


def _secrets(settings: Settings) -> list[str]:
    found = environment_secrets(settings.credential_env_prefix)
    for secret in (settings.admin_token, settings.oidc_client_secret, settings.secret_key):
        if secret is not None:
            found.append(secret.get_secret_value())
    found += [url_password(settings.resolved_database_url) or "", url_password(settings.redis_url) or ""]
    return found


async def _database(settings: Settings, timeout_s: float) -> tuple[Check, list[Check], list[str]]:
    """The database row, then the rows of what it holds (when it is ready), and the secrets read."""
    from headwater.storage.sql.database import create_engine

    url = settings.resolved_database_url
    not_read = [warning("models", "not checked: the database is not ready", "fix the database first")]
    try:
        missing = database.missing_file(url)
        if missing is not None:
            return missing, not_read, []
        engine = create_engine(url)
    except Exception as exc:  # an unknown driver or a malformed URL
        wrong = error(
            database.NAME, f"{database.shown(url)}: {type(exc).__name__}", "correct HEADWATER_DATABASE_URL"
        )
        return wrong, not_read, []
    try:
        row = await database.check(engine, url, timeout_s)
        if row.status != "ok":
            return row, not_read, []
        try:
            rows, secrets = await catalog.check_catalog(engine, settings, timeout_s)
        except TimeoutError:
            rows, secrets = [error("models", f"not read within {timeout_s:g} s", "check the database")], []
        return row, rows, secrets
    finally:
        await engine.dispose()


async def diagnose(settings: Settings, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[Check]:
    (db_row, catalog_rows, read_secrets), redis_row, oidc_row, journal_row = await asyncio.gather(
        _database(settings, timeout_s),
        check_redis(settings, timeout_s),
        check_oidc(settings, timeout_s),
        asyncio.to_thread(journal.check, settings),
    )
    checks = [_settings_row(settings), db_row, redis_row, oidc_row, journal_row, *catalog_rows]
    return scrub(checks, [*_secrets(settings), *read_secrets])
