"""scorecard: rounds, responses, ratings, profile answers, comments, subscriptions

Revision ID: 0005_scorecard
Revises: 0001_core
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_scorecard'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scoring_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.String(length=40), nullable=False),
    sa.Column('survey_id', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=True),
    sa.Column('open_facility', sa.String(length=40), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('opened_by', sa.String(length=64), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('summaries', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_rounds')),
    sa.UniqueConstraint('open_facility', name=op.f('uq_scoring_rounds_open_facility'))
    )
    with op.batch_alter_table('scoring_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scoring_rounds_facility_id'), ['facility_id'], unique=False)

    op.create_table('round_subscriptions',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['scoring_rounds.id'], name=op.f('fk_round_subscriptions_round_id_scoring_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_round_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'user_id', name=op.f('pk_round_subscriptions'))
    )
    op.create_table('survey_comments',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['scoring_rounds.id'], name=op.f('fk_survey_comments_round_id_scoring_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_comments')),
    sa.UniqueConstraint('round_id', 'author', name=op.f('uq_survey_comments_round_id'))
    )
    op.create_table('survey_responses',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('respondent', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['scoring_rounds.id'], name=op.f('fk_survey_responses_round_id_scoring_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
    sa.UniqueConstraint('round_id', 'respondent', name=op.f('uq_survey_responses_round_id'))
    )
    op.create_table('survey_profile_answers',
    sa.Column('response_id', sa.String(length=32), nullable=False),
    sa.Column('question', sa.String(length=40), nullable=False),
    sa.Column('option', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_survey_profile_answers_response_id_survey_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'question', name=op.f('pk_survey_profile_answers'))
    )
    op.create_table('survey_ratings',
    sa.Column('response_id', sa.String(length=32), nullable=False),
    sa.Column('indicator', sa.String(length=40), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=True),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_survey_ratings_score_range')),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_survey_ratings_response_id_survey_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'indicator', name=op.f('pk_survey_ratings'))
    )


def downgrade() -> None:
    op.drop_table('survey_ratings')
    op.drop_table('survey_profile_answers')
    op.drop_table('survey_responses')
    op.drop_table('survey_comments')
    op.drop_table('round_subscriptions')
    with op.batch_alter_table('scoring_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scoring_rounds_facility_id'))

    op.drop_table('scoring_rounds')
