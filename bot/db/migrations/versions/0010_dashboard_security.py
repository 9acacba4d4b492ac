"""dashboard security: accounts can be disabled; login limits as atomic counters

Revision ID: 0010_dashboard_security
Revises: 0009_supervision
Create Date: 2026-12-03

The failed-attempt rows (counted, then inserted: parallel attempts all passed the count) give
way to one counter per account name or address, raised by a single upsert before the password
is checked. Existing attempt rows are dropped: at worst a limit starts afresh once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_dashboard_security'
down_revision = '0009_supervision'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dashboard_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(), nullable=True))
    op.create_table('dashboard_login_limits',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('window_started_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_dashboard_login_limits'))
    )
    op.create_index(op.f('ix_dashboard_login_limits_window_started_at'),
                    'dashboard_login_limits', ['window_started_at'], unique=False)
    op.drop_index('ix_dashboard_login_attempts_key_at', table_name='dashboard_login_attempts')
    op.drop_table('dashboard_login_attempts')


def downgrade() -> None:
    op.create_table('dashboard_login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_login_attempts'))
    )
    op.create_index('ix_dashboard_login_attempts_key_at', 'dashboard_login_attempts',
                    ['key', 'at'], unique=False)
    op.drop_index(op.f('ix_dashboard_login_limits_window_started_at'),
                  table_name='dashboard_login_limits')
    op.drop_table('dashboard_login_limits')
    with op.batch_alter_table('dashboard_accounts', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
