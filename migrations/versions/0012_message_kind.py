"""each chat message remembers what kind of message it was (question, feature request, bug report, other)

Revision ID: 0012_message_kind
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_message_kind'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_kind', sa.String(length=16), nullable=True))
        # Insights count messages by kind over time.
        batch_op.create_index('ix_chat_messages_kind_created', ['message_kind', 'created_at'])


def downgrade():
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_messages_kind_created')
        batch_op.drop_column('message_kind')
