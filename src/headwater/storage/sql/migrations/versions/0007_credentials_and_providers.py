"""credentials and providers: stored, encrypted deployment credentials; per-provider deployment fields

``credentials`` holds a credential's value only as AES-256-GCM ciphertext with its nonce and the id of
the key that sealed it (headwater.catalog.secret_box). A deployment names one in ``credential``
(``credential_env`` keeps working); ``api_version`` (azure-openai), ``region`` (bedrock) and
``responses_api`` (openai, azure-openai) are the providers' own settings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headwater.storage.sql import types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_credentials")),
    )
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("credential", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("api_version", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("region", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("responses_api", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        for column in ("responses_api", "region", "api_version", "credential"):
            batch.drop_column(column)
    op.drop_table("credentials")
