"""reports: citizens' reports, their media, status history, follow-ups and daily limits

Revision ID: 0011_reports
Revises: 0010_dashboard_security
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_reports'
down_revision = '0010_dashboard_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_reports()
    _create_linked()


def _create_reports() -> None:
    op.create_table('reports',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=8), nullable=False),
    sa.Column('reporter', sa.String(length=64), nullable=False),
    sa.Column('submission', sa.String(length=64), nullable=False),
    sa.Column('commune_code', sa.String(length=6), nullable=False),
    sa.Column('facility_type', sa.String(length=20), nullable=True),
    sa.Column('facility_id', sa.String(length=40), nullable=True),
    sa.Column('service', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('happened_on', sa.Date(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=4), nullable=True),
    sa.Column('official_fee_riel', sa.Integer(), nullable=True),
    sa.Column('official_fee_source', sa.String(length=60), nullable=True),
    sa.Column('official_fee_checked', sa.Date(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('text_state', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('forwarded_to', sa.Text(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('created_month', sa.String(length=7), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('reference', name=op.f('uq_reports_reference')),
    sa.UniqueConstraint('submission', name=op.f('uq_reports_submission'))
    )
    op.create_index('ix_reports_commune_status', 'reports', ['commune_code', 'status'],
                    unique=False)
    op.create_index('ix_reports_reporter', 'reports', ['reporter'], unique=False)


def _create_linked() -> None:
    op.create_table('report_media',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('report_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('file_name', sa.String(length=48), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_media_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_media'))
    )
    op.create_index(op.f('ix_report_media_report_id'), 'report_media', ['report_id'],
                    unique=False)
    op.create_table('report_history',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('report_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_history_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_history'))
    )
    op.create_index(op.f('ix_report_history_report_id'), 'report_history', ['report_id'],
                    unique=False)
    op.create_table('report_followups',
    sa.Column('report_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_followups_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_report_followups_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'user_id', name=op.f('pk_report_followups'))
    )
    op.create_table('report_limits',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_report_limits'))
    )
    op.create_index(op.f('ix_report_limits_day'), 'report_limits', ['day'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_report_limits_day'), table_name='report_limits')
    op.drop_table('report_limits')
    op.drop_table('report_followups')
    op.drop_index(op.f('ix_report_history_report_id'), table_name='report_history')
    op.drop_table('report_history')
    op.drop_index(op.f('ix_report_media_report_id'), table_name='report_media')
    op.drop_table('report_media')
    op.drop_index('ix_reports_reporter', table_name='reports')
    op.drop_index('ix_reports_commune_status', table_name='reports')
    op.drop_table('reports')
