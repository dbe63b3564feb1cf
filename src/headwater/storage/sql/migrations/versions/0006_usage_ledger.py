"""usage ledger: attribution frozen at call time, event ids, cost centers, hourly/daily/monthly rollups

Existing events keep working: their new columns are NULL and reports show them as ``unassigned``.
Rollups are built from the events already stored, so that reports over old ranges are complete.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BUCKETS = 20  # headwater.usage.rollup.BUCKETS when this revision was written


def _rollup(name: str, *, principals: bool) -> None:
    dims = ["bucket", *(["key_id", "principal"] if principals else [])]
    dims += ["model", "deployment", "provider", "cost_center", "policy", "groups", "currency"]
    op.create_table(
        name,
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        *(
            [
                sa.Column("key_id", sa.String(length=16), nullable=False),
                sa.Column("principal", sa.String(length=160), nullable=False),
            ]
            if principals
            else []
        ),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("deployment", sa.String(length=160), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("cost_center", sa.String(length=128), nullable=False),
        sa.Column("policy", sa.String(length=128), nullable=False),
        sa.Column("groups", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("successes", sa.BigInteger(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column(
            "cost_units", sa.BigInteger().with_variant(sa.Numeric(38, 0), "postgresql"), nullable=False
        ),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        sa.Column("ttft_count", sa.BigInteger(), nullable=False),
        sa.Column("ttft_ms_sum", sa.Float(), nullable=False),
        *(sa.Column(f"lat_{i:02d}", sa.BigInteger(), nullable=False) for i in range(BUCKETS)),
        *(sa.Column(f"ttft_{i:02d}", sa.BigInteger(), nullable=False) for i in range(BUCKETS)),
    )
    op.create_index(f"uq_{name}_dims", name, dims, unique=True)
    if principals:
        op.create_index(f"ix_{name}_key_id_bucket", name, ["key_id", "bucket"])
        op.create_index(f"ix_{name}_principal_bucket", name, ["principal", "bucket"])
    else:
        op.create_index(f"ix_{name}_bucket", name, ["bucket"])


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("cost_center", sa.String(length=128), nullable=True))
    with op.batch_alter_table("service_accounts") as batch:
        batch.add_column(sa.Column("cost_center", sa.String(length=128), nullable=True))
    with op.batch_alter_table("usage_events") as batch:
        batch.add_column(sa.Column("event_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("groups", sa.Text(), nullable=True))
        batch.add_column(sa.Column("cost_center", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("policy", sa.String(length=128), nullable=True))
        batch.create_unique_constraint(op.f("uq_usage_events_event_id"), ["event_id"])
    _rollup("usage_hourly", principals=True)
    _rollup("usage_daily", principals=False)
    _rollup("usage_monthly", principals=False)
    # The events already stored are rolled up by `headwater usage rebuild` or, at the first start
    # after this upgrade, by the server (headwater.storage.sql.rollups.backfill): a migration must
    # not depend on the application's code, which changes after it is written.


def downgrade() -> None:
    for name in ("usage_monthly", "usage_daily", "usage_hourly"):
        op.drop_table(name)
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_constraint(op.f("uq_usage_events_event_id"), type_="unique")
        for column in ("policy", "cost_center", "groups", "event_id"):
            batch.drop_column(column)
    with op.batch_alter_table("service_accounts") as batch:
        batch.drop_column("cost_center")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("cost_center")
