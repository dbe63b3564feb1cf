"""Tables. Names are natural keys (a resource's ``metadata.name``), as in the declarative files.

The kinds ``headwater apply`` handles (groups, users, service accounts, models, policies) carry
``managed_by``: ``"apply"`` once apply created or adopted the row, so that ``apply --prune`` deletes
only what apply manages; null for what was made by hand (admin API, console, sign-in).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    false,
)

from headwater.storage.sql.types import Money, UTCDateTime
from headwater.usage.rollup import BUCKETS

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

# One row: the configuration revision. Every change the gateway must see bumps it in the same
# transaction; gateways poll it and reload their snapshot when it moves.
state = Table(
    "state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("revision", BigInteger, nullable=False),
)

# What each revision changed (``target_type``, ``target_id``: an audit entry's target; a revision
# that changed nothing a gateway serves has one ``("-", "")`` row), so that gateways apply a change
# as a delta. Rows older than the newest CHANGES_KEPT revisions are pruned: a gateway that far
# behind rebuilds its snapshot.
snapshot_changes = Table(
    "snapshot_changes",
    metadata,
    Column("revision", BigInteger, primary_key=True),
    Column("target_type", String(32), primary_key=True),
    Column("target_id", String(160), primary_key=True),
)

admin_tokens = Table(
    "admin_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("source", String(16), nullable=False, default="local"),
    Column("cost_center", String(128), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("managed_by", String(32), nullable=True),  # "apply" or null: see the docstring
)

users = Table(
    "users",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("email", String(320), nullable=True),
    Column("display_name", String(256), nullable=True),
    Column("subject", String(256), nullable=True, unique=True),
    Column("role", String(16), nullable=False, default="user"),
    Column("status", String(16), nullable=False, default="active"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime, nullable=True),
    Column("cost_center", String(128), nullable=True),
    Column("managed_by", String(32), nullable=True),  # "apply" or null: see the docstring
)

group_members = Table(
    "group_members",
    metadata,
    Column("user_name", String(128), ForeignKey("users.name", ondelete="CASCADE"), primary_key=True),
    Column("group_name", String(128), ForeignKey("groups.name", ondelete="CASCADE"), primary_key=True),
)

# Users who administer a group: its keys, service accounts and its members' usage. Kept apart from
# membership, which an identity provider rewrites at every sign-in.
group_admins = Table(
    "group_admins",
    metadata,
    Column("group_name", String(128), ForeignKey("groups.name", ondelete="CASCADE"), primary_key=True),
    Column("user_name", String(128), ForeignKey("users.name", ondelete="CASCADE"), primary_key=True),
)

service_accounts = Table(
    "service_accounts",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("group_name", String(128), ForeignKey("groups.name", ondelete="RESTRICT"), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="active"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Disabled by an admin: a group admin may not enable it again.
    Column("admin_disabled", Boolean, nullable=False, default=False, server_default=false()),
    Column("cost_center", String(128), nullable=True),
    Column("managed_by", String(32), nullable=True),  # "apply" or null: see the docstring
)

models = Table(
    "models",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("access", String(16), nullable=False, default="open"),
    Column("description", Text, nullable=False, default=""),
    Column("context_window", Integer, nullable=True),
    Column("input_per_million", Money, nullable=False),
    Column("output_per_million", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False, default="active"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("limits", JSON, nullable=True),  # model-wide capacity limits
    Column("max_output_tokens", Integer, nullable=True),  # per choice; the default and the cap
    Column("managed_by", String(32), nullable=True),  # "apply" or null: see the docstring
)

deployments = Table(
    "deployments",
    metadata,
    Column("model_name", String(128), ForeignKey("models.name", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("provider", String(32), nullable=False),
    Column("base_url", String(2048), nullable=False),
    Column("upstream_model", String(256), nullable=False),
    Column("credential_env", String(256), nullable=True),
    Column("timeout_s", Float, nullable=True),
    Column("weight", Integer, nullable=False, default=1),
    Column("deadline_s", Float, nullable=True),  # total time a call may take
    Column("credential", String(128), nullable=True),  # a stored credential's name (credentials.name)
    Column("api_version", String(32), nullable=True),  # azure-openai
    Column("region", String(32), nullable=True),  # bedrock
    Column("responses_api", Boolean, nullable=False, default=False, server_default=false()),
)

# Stored upstream credentials: the value only as AES-256-GCM ciphertext (headwater.catalog.secret_box),
# with its nonce and the id of the key that sealed it.
credentials = Table(
    "credentials",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("nonce", LargeBinary(12), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("owner_type", String(16), nullable=True),
    Column("owner_name", String(128), nullable=True),
    Column("models", JSON, nullable=True),  # null: every model the owner may use
    Column("status", String(16), nullable=False, default="active"),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("created_by", String(160), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("limits", JSON, nullable=True),  # the key's own limits (KeyLimits)
    # After a rotation, the replaced secret's hash keeps working until previous_expires_at.
    Column("previous_hash", String(64), nullable=True),
    Column("previous_expires_at", UTCDateTime, nullable=True),
    Column("rotated_at", UTCDateTime, nullable=True),
    # What an admin set on the key (models, expiry, limits, disabled): the owner may only tighten it.
    Column("restrictions", JSON, nullable=True),
    Index("ix_api_keys_owner", "owner_type", "owner_name"),
)

usage_events = Table(
    "usage_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("ts", UTCDateTime, nullable=False, index=True),
    Column("request_id", String(128), nullable=False),
    Column("key_id", String(16), nullable=False, index=True),
    Column("principal", String(160), nullable=False, index=True),
    Column("model", String(128), nullable=False, index=True),
    Column("deployment", String(160), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("endpoint", String(32), nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cost", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("http_status", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ttft_ms", Float, nullable=True),
    Column("streamed", Boolean, nullable=False),
    Column("estimated", Boolean, nullable=False),
    # Since 0006 (older rows: NULL, reported as unassigned): the event's own id (a replay is written
    # once), and the attribution frozen at call time: the caller's groups as ``|a|b|``, the cost
    # center and the policy that admitted the call.
    Column("event_id", String(32), nullable=True, unique=True),
    Column("groups", Text, nullable=True),
    Column("cost_center", String(128), nullable=True),
    Column("policy", String(128), nullable=True),
)


def _rollup(name: str, *, principals: bool) -> Table:
    """Usage summed per hour, day or month (:mod:`headwater.usage.rollup`); '' where no value."""
    dims = ["bucket", *(["key_id", "principal"] if principals else [])]
    dims += ["model", "deployment", "provider", "cost_center", "policy", "groups", "currency"]
    columns: list[Column[Any]] = [
        Column("bucket", UTCDateTime, nullable=False),
        *(
            [Column("key_id", String(16), nullable=False), Column("principal", String(160), nullable=False)]
            if principals
            else []
        ),
        Column("model", String(128), nullable=False),
        Column("deployment", String(160), nullable=False),
        Column("provider", String(32), nullable=False),
        Column("cost_center", String(128), nullable=False),
        Column("policy", String(128), nullable=False),
        Column("groups", Text, nullable=False),
        Column("currency", String(3), nullable=False),
        Column("requests", BigInteger, nullable=False),
        Column("successes", BigInteger, nullable=False),
        Column("prompt_tokens", BigInteger, nullable=False),
        Column("completion_tokens", BigInteger, nullable=False),
        # 10^-12 of the currency unit: summed exactly by every engine (NUMERIC on PostgreSQL).
        Column("cost_units", BigInteger().with_variant(Numeric(38, 0), "postgresql"), nullable=False),
        Column("latency_ms_sum", Float, nullable=False),
        Column("ttft_count", BigInteger, nullable=False),
        Column("ttft_ms_sum", Float, nullable=False),
        *(Column(f"lat_{i:02d}", BigInteger, nullable=False) for i in range(BUCKETS)),
        *(Column(f"ttft_{i:02d}", BigInteger, nullable=False) for i in range(BUCKETS)),
    ]
    table = Table(name, metadata, *columns)
    Index(f"uq_{name}_dims", *(table.c[d] for d in dims), unique=True)
    if principals:
        Index(f"ix_{name}_key_id_bucket", table.c.key_id, table.c.bucket)
        Index(f"ix_{name}_principal_bucket", table.c.principal, table.c.bucket)
    else:
        Index(f"ix_{name}_bucket", table.c.bucket)
    return table


usage_hourly = _rollup("usage_hourly", principals=True)
usage_daily = _rollup("usage_daily", principals=False)
usage_monthly = _rollup("usage_monthly", principals=False)
ROLLUPS = {"hour": usage_hourly, "day": usage_daily, "month": usage_monthly}

# Usage (and limit) events the database refused for their data: kept whole, never retried.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("ts", UTCDateTime, nullable=False, index=True),
    Column("kind", String(32), nullable=False),  # usage | limit events
    Column("payload", JSON, nullable=False),
    Column("error", Text, nullable=False),
)

policies = Table(
    "policies",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("managed_by", String(32), nullable=True),  # "apply" or null: see the docstring
)

# Requests refused (hard) or let through with a warning (soft) by a limit, budget or schedule.
limit_events = Table(
    "limit_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("ts", UTCDateTime, nullable=False, index=True),
    Column("request_id", String(128), nullable=False),
    Column("key_id", String(16), nullable=False, index=True),
    Column("principal", String(160), nullable=False, index=True),
    Column("model", String(128), nullable=False),
    Column("policy", String(128), nullable=True, index=True),
    Column("limit", String(256), nullable=False),
    Column("kind", String(16), nullable=False),  # rate | budget | schedule
    Column("action", String(16), nullable=False),  # denied | warned
)

# Append-only and hash-chained: each event's hash covers its content and the previous event's hash.
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("ts", UTCDateTime, nullable=False, index=True),
    Column("actor", String(200), nullable=False, index=True),
    Column("action", String(64), nullable=False, index=True),
    Column("target_type", String(32), nullable=False),
    Column("target_id", String(256), nullable=False, index=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("request_id", String(128), nullable=False),
    Column("source_ip", String(64), nullable=True),
    Column("outcome", String(16), nullable=False),  # success | denied | failure
    Column("detail", Text, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the chain's head (last seq and hash). Writers update it first, which serialises them.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Browser sessions (after OIDC sign-in). The cookie holds a random token; only its hash is stored.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie token
    Column("user_name", String(128), ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("source_ip", String(64), nullable=True),
)

# Sign-ins under way: state, PKCE verifier and nonce, kept server-side until the IdP calls back.
login_states = Table(
    "login_states",
    metadata,
    Column("state", String(128), primary_key=True),
    Column("code_verifier", String(128), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("return_to", String(2048), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
)

# Responses API responses kept for ``previous_response_id`` and GET /v1/responses/{id}: readable only
# by ``owner`` (a principal) until ``expires_at``; then deleted by the retention pass. ``body`` is the
# zlib-compressed JSON {"input_items": [...], "response": {...}} (headwater.storage.sql.stored_responses).
stored_responses = Table(
    "stored_responses",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("owner", String(160), nullable=False),
    Column("model", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("body", LargeBinary, nullable=False),
)
