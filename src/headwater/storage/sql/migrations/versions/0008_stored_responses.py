"""stored responses: Responses API responses kept for previous_response_id and GET /v1/responses/{id}

One row per response, readable only by its owner (a principal) until ``expires_at``; ``body`` is the
zlib-compressed JSON of its input items and response. Expired rows are deleted by the retention pass
through the index on ``expires_at``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headwater.storage.sql import types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_responses",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=160), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("created_at", types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_responses")),
    )
    op.create_index(op.f("ix_stored_responses_expires_at"), "stored_responses", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_stored_responses_expires_at"), table_name="stored_responses")
    op.drop_table("stored_responses")
