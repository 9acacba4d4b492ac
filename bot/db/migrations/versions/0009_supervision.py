"""supervision: an inbox update can wait out an outage (retry_at); an outbox row remembers
when its temporary failures began (retry_since), so a send gives up after a horizon in time
rather than after a count of attempts

Revision ID: 0009_supervision
Revises: 0008_retention
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_supervision"
down_revision = "0008_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbound_updates", sa.Column("retry_at", sa.DateTime(), nullable=True))
    op.add_column("outbox", sa.Column("retry_since", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("retry_since")
    with op.batch_alter_table("inbound_updates") as batch:
        batch.drop_column("retry_at")
