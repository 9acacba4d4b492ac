"""core tables

Revision ID: 0001_core
Revises: 
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001_core'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('chat_key', sa.String(length=96), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_updates')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_inbound_updates_channel'))
    )
    with op.batch_alter_table('inbound_updates', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_updates_chat_key_id', ['chat_key', 'id'], unique=False)
        batch_op.create_index('ix_inbound_updates_status_id', ['status', 'id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('channel_user_id', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('language_chosen', sa.Boolean(), nullable=False),
    sa.Column('commune_code', sa.String(length=6), nullable=True),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('unreachable', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_inbound_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('channel', 'channel_user_id', name=op.f('uq_users_channel'))
    )
    op.create_table('conversations',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_conversations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_conversations'))
    )
    op.create_table('message_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('step', sa.String(length=64), nullable=True),
    sa.Column('intent', sa.String(length=40), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('entities', sa.JSON(), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=True),
    sa.Column('handled_as', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_message_log_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_log'))
    )
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.create_index('ix_message_log_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_message_log_user_id', ['user_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('reply', sa.JSON(), nullable=False),
    sa.Column('automated', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('dedup_key', sa.String(length=128), nullable=True),
    sa.Column('batch', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_outbox_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_outbox_dedup_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_outbox_user_id_id', ['user_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_user_id_id')
        batch_op.drop_index('ix_outbox_status_due')

    op.drop_table('outbox')
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.drop_index('ix_message_log_user_id')
        batch_op.drop_index('ix_message_log_created_at')

    op.drop_table('message_log')
    op.drop_table('conversations')
    op.drop_table('users')
    with op.batch_alter_table('inbound_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_updates_status_id')
        batch_op.drop_index('ix_inbound_updates_chat_key_id')

    op.drop_table('inbound_updates')
