"""Which environment variables a deployment may name as its upstream credential.

A deployment's ``credential_env`` names a variable of the server's environment, read when the
snapshot is built and sent to the deployment's ``base_url`` as a bearer token. Whoever may register
a model could otherwise make Headwater send any variable (the admin token, the OIDC client secret,
the database URL) to a server of their own. So a name must start with the configured prefix
(``HEADWATER_CREDENTIAL_ENV_PREFIX``, default ``HEADWATER_UPSTREAM_``), and Headwater's own settings
are never credentials, whatever the prefix: pydantic-settings reads them case-insensitively, so the
comparison is too.
"""

from __future__ import annotations

from headwater.catalog.secret_box import NEW_KEY_ENV
from headwater.settings import CONFIG_ENV, Settings

DEFAULT_PREFIX = "HEADWATER_UPSTREAM_"

#: The variables Headwater itself reads (server settings, the CLI's URL and token, the new key of
#: ``headwater secrets rotate-key``).
RESERVED = frozenset(
    {f"HEADWATER_{name.upper()}" for name in Settings.model_fields}
    | {CONFIG_ENV, "HEADWATER_URL", "HEADWATER_TOKEN", NEW_KEY_ENV}
)


def refusal(name: str, prefix: str) -> str | None:
    """Why ``name`` may not be a deployment's credential variable, or None when it may."""
    if name.upper() in RESERVED:
        return f"{name} is one of Headwater's own settings and can never be a credential"
    if not name.startswith(prefix):
        return (
            f"credential_env must start with {prefix} (HEADWATER_CREDENTIAL_ENV_PREFIX): "
            "only variables meant for upstreams may be sent to one"
        )
    return None
