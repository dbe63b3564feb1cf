"""policies, limit events, key and model limits

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headwater.storage.sql import types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_policies")),
    )
    op.create_table(
        "limit_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("ts", types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("principal", sa.String(length=160), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("policy", sa.String(length=128), nullable=True),
        sa.Column("limit", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limit_events")),
    )
    for column in ("ts", "key_id", "principal", "policy"):
        op.create_index(op.f(f"ix_limit_events_{column}"), "limit_events", [column], unique=False)
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("limits", sa.JSON(), nullable=True))
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("limits", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.drop_column("limits")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("limits")
    for column in ("ts", "key_id", "principal", "policy"):
        op.drop_index(op.f(f"ix_limit_events_{column}"), table_name="limit_events")
    op.drop_table("limit_events")
    op.drop_table("policies")
