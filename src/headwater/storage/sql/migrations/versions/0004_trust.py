"""trust: admin restrictions on keys and service accounts, dead letters, deadlines, output caps

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headwater.storage.sql import types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("restrictions", sa.JSON(), nullable=True))
    with op.batch_alter_table("service_accounts") as batch:
        batch.add_column(sa.Column("admin_disabled", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("max_output_tokens", sa.Integer(), nullable=True))
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("deadline_s", sa.Float(), nullable=True))
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("ts", types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index(op.f("ix_dead_letters_ts"), "dead_letters", ["ts"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dead_letters_ts"), table_name="dead_letters")
    op.drop_table("dead_letters")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("deadline_s")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("max_output_tokens")
    with op.batch_alter_table("service_accounts") as batch:
        batch.drop_column("admin_disabled")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("restrictions")
