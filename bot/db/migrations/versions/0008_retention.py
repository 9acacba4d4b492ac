"""retention: handled inbox updates keep no payload or chat key, final outbox rows no message

Revision ID: 0008_retention
Revises: 0007_dashboard
Create Date: 2026-12-03

The columns become nullable, and what was kept before this version is cleared now, so that an
upgraded database holds no more than a new one (docs/privacy.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_retention"
down_revision = "0007_dashboard"
branch_labels = None
depends_on = None

_FINAL = "('sent', 'failed', 'unreachable', 'withdrawn')"  # bot.delivery.FINAL


def upgrade() -> None:
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.alter_column("chat_key", existing_type=sa.String(length=96), nullable=True)
        batch_op.alter_column("payload", existing_type=sa.JSON(), nullable=True)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("reply", existing_type=sa.JSON(), nullable=True)
    op.execute("UPDATE inbound_updates SET payload = NULL, chat_key = NULL "
               "WHERE status IN ('done', 'failed')")
    op.execute(f"UPDATE outbox SET reply = NULL WHERE status IN {_FINAL}")


def downgrade() -> None:
    op.execute("UPDATE inbound_updates SET payload = '{}' WHERE payload IS NULL")
    op.execute("UPDATE inbound_updates SET chat_key = channel WHERE chat_key IS NULL")
    op.execute("UPDATE outbox SET reply = '{}' WHERE reply IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("reply", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("chat_key", existing_type=sa.String(length=96), nullable=False)
