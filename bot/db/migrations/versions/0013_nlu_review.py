"""nlu review: the questions reviewed on the dashboard, the NLU's reviewed training examples

Revision ID: 0013_nlu_review
Revises: 0010_dashboard_security
Create Date: 2026-12-03

One table, `nlu_reviewed`: the reviewed text (redacted, normalised) with its intent and Rasa
markup, or only the hash of a dismissed question; no user, platform id or time of asking.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_nlu_review'
down_revision = '0012_jaap'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nlu_reviewed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('intent', sa.String(length=40), nullable=True),
    sa.Column('annotated', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=80), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nlu_reviewed')),
    sa.UniqueConstraint('key', name=op.f('uq_nlu_reviewed_key'))
    )


def downgrade() -> None:
    op.drop_table('nlu_reviewed')
