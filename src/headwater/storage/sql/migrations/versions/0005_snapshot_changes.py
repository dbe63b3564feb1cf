"""snapshot changes: what each revision changed, so gateways apply a change as a delta

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshot_changes",
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("revision", "target_type", "target_id", name=op.f("pk_snapshot_changes")),
    )


def downgrade() -> None:
    op.drop_table("snapshot_changes")
