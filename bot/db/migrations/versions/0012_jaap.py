"""jaap: proposal calls, proposals, custom indicators, indicator discussions, JAAP actions, their
status history and deadline reminders, round plans

Revision ID: 0012_jaap
Revises: 0010_dashboard_security
Create Date: 2026-12-03

Round subscriptions are now kept after close until the round's plan is finished (or a year has
passed): nothing changes in their table, only in when they are deleted (docs/privacy.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012_jaap'
down_revision = '0011_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('proposal_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.String(length=40), nullable=False),
    sa.Column('open_facility', sa.String(length=40), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('opened_by', sa.String(length=64), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['scoring_rounds.id'], name=op.f('fk_proposal_calls_round_id_scoring_rounds'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_calls')),
    sa.UniqueConstraint('open_facility', name=op.f('uq_proposal_calls_open_facility')),
    sa.UniqueConstraint('round_id', name=op.f('uq_proposal_calls_round_id'))
    )
    op.create_index(op.f('ix_proposal_calls_facility_id'), 'proposal_calls', ['facility_id'], unique=False)
    op.create_table('proposals',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('proposer', sa.String(length=64), nullable=False),
    sa.Column('indicator', sa.String(length=40), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('merged_into', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['proposal_calls.id'], name=op.f('fk_proposals_call_id_proposal_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals'))
    )
    op.create_index('ix_proposals_call_proposer', 'proposals', ['call_id', 'proposer'], unique=False)
    op.create_table('custom_indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('label_km', sa.Text(), nullable=False),
    sa.Column('label_en', sa.Text(), nullable=False),
    sa.Column('proposal_id', sa.String(length=32), nullable=True),
    sa.Column('supporters', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['proposal_calls.id'], name=op.f('fk_custom_indicators_call_id_proposal_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_indicators'))
    )
    op.create_index(op.f('ix_custom_indicators_call_id'), 'custom_indicators', ['call_id'], unique=False)
    op.create_table('indicator_discussions',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.String(length=40), nullable=False),
    sa.Column('strengths', sa.Text(), nullable=True),
    sa.Column('weaknesses', sa.Text(), nullable=True),
    sa.Column('suggested_actions', sa.Text(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['scoring_rounds.id'], name=op.f('fk_indicator_discussions_round_id_scoring_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'indicator', name=op.f('pk_indicator_discussions'))
    )
    op.create_table('jaap_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.String(length=40), nullable=True),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('responsible', sa.String(length=16), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('progress_note', sa.Text(), nullable=True),
    sa.Column('photo', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("responsible IN ('provider', 'commune_council', 'citizens')", name=op.f('ck_jaap_actions_responsible_kind')),
    sa.CheckConstraint("status IN ('planned', 'in_progress', 'done', 'dropped')", name=op.f('ck_jaap_actions_status_kind')),
    sa.ForeignKeyConstraint(['round_id'], ['scoring_rounds.id'], name=op.f('fk_jaap_actions_round_id_scoring_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jaap_actions'))
    )
    op.create_index(op.f('ix_jaap_actions_round_id'), 'jaap_actions', ['round_id'], unique=False)
    op.create_index('ix_jaap_actions_status_due', 'jaap_actions', ['status', 'due_date'], unique=False)
    op.create_table('jaap_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('announced', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['jaap_actions.id'], name=op.f('fk_jaap_status_changes_action_id_jaap_actions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jaap_status_changes'))
    )
    op.create_index(op.f('ix_jaap_status_changes_action_id'), 'jaap_status_changes', ['action_id'], unique=False)
    op.create_table('jaap_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('days_before', sa.SmallInteger(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['jaap_actions.id'], name=op.f('fk_jaap_reminders_action_id_jaap_actions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jaap_reminders')),
    sa.UniqueConstraint('action_id', 'days_before', 'due_date', name=op.f('uq_jaap_reminders_action_id'))
    )
    op.create_index(op.f('ix_jaap_reminders_action_id'), 'jaap_reminders', ['action_id'], unique=False)
    op.create_table('round_plans',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('shared_at', sa.DateTime(), nullable=True),
    sa.Column('summary_sent_at', sa.DateTime(), nullable=True),
    sa.Column('actions_sent_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['scoring_rounds.id'], name=op.f('fk_round_plans_round_id_scoring_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_round_plans'))
    )


def downgrade() -> None:
    op.drop_table('round_plans')
    op.drop_index(op.f('ix_jaap_reminders_action_id'), table_name='jaap_reminders')
    op.drop_table('jaap_reminders')
    op.drop_index(op.f('ix_jaap_status_changes_action_id'), table_name='jaap_status_changes')
    op.drop_table('jaap_status_changes')
    op.drop_index('ix_jaap_actions_status_due', table_name='jaap_actions')
    op.drop_index(op.f('ix_jaap_actions_round_id'), table_name='jaap_actions')
    op.drop_table('jaap_actions')
    op.drop_table('indicator_discussions')
    op.drop_index(op.f('ix_custom_indicators_call_id'), table_name='custom_indicators')
    op.drop_table('custom_indicators')
    op.drop_index('ix_proposals_call_proposer', table_name='proposals')
    op.drop_table('proposals')
    op.drop_index(op.f('ix_proposal_calls_facility_id'), table_name='proposal_calls')
    op.drop_table('proposal_calls')
