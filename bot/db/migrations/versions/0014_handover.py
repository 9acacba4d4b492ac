"""handover: conversations handed to a person (the commune's CAF or the NGO's staff)

Revision ID: 0014_handover
Revises: 0010_dashboard_security
Create Date: 2026-12-03

One row per request to talk to a person: whose conversation (users.id), for which commune,
its state and who holds it. No text and no platform identity (docs/privacy.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014_handover'
down_revision = '0013_nlu_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('commune_code', sa.String(length=6), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('taken_by', sa.String(length=64), nullable=True),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_handovers_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_user_id'], ['users.id'], name=op.f('fk_handovers_staff_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handovers'))
    )
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.create_index('ix_handovers_status', ['status'], unique=False)
        batch_op.create_index('ix_handovers_user_id', ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.drop_index('ix_handovers_user_id')
        batch_op.drop_index('ix_handovers_status')
    op.drop_table('handovers')
