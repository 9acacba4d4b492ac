"""dashboard: accounts, their communes, sessions, login attempts, published rounds

Revision ID: 0007_dashboard
Revises: 0005_scorecard
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_dashboard'
down_revision = "0006_meetings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dashboard_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_dashboard_accounts_username'))
    )
    op.create_table('dashboard_login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_login_attempts'))
    )
    op.create_index('ix_dashboard_login_attempts_key_at', 'dashboard_login_attempts',
                    ['key', 'at'], unique=False)
    op.create_table('dashboard_account_communes',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('commune_code', sa.String(length=6), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['dashboard_accounts.id'], name=op.f('fk_dashboard_account_communes_account_id_dashboard_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'commune_code', name=op.f('pk_dashboard_account_communes'))
    )
    op.create_table('dashboard_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['dashboard_accounts.id'], name=op.f('fk_dashboard_sessions_account_id_dashboard_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_sessions'))
    )
    op.create_index(op.f('ix_dashboard_sessions_account_id'), 'dashboard_sessions',
                    ['account_id'], unique=False)
    op.create_table('published_rounds',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['scoring_rounds.id'], name=op.f('fk_published_rounds_round_id_scoring_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_published_rounds'))
    )


def downgrade() -> None:
    op.drop_table('published_rounds')
    op.drop_index(op.f('ix_dashboard_sessions_account_id'), table_name='dashboard_sessions')
    op.drop_table('dashboard_sessions')
    op.drop_table('dashboard_account_communes')
    op.drop_index('ix_dashboard_login_attempts_key_at', table_name='dashboard_login_attempts')
    op.drop_table('dashboard_login_attempts')
    op.drop_table('dashboard_accounts')
