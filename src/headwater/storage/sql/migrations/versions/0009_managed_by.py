"""managed by: which resources ``headwater apply`` manages (and ``apply --prune`` may delete)

A nullable ``managed_by`` on the tables of the kinds apply handles (groups, users, service accounts,
models, policies): ``"apply"`` once apply created or adopted the row, null for rows made by hand
(admin API, console, sign-in). Existing rows stay null: nothing is pruned until apply has marked it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-11 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("groups", "users", "service_accounts", "models", "policies")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("managed_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a batch copy: copying ``users`` or
    # ``groups`` would drop the table, and the foreign keys would cascade to their members.
    for table in reversed(TABLES):
        op.drop_column(table, "managed_by")
