"""the chat's lookups by session key and by the message a reply answers use an index (issue 21)

Revision ID: 0021_chat_lookup_indexes
Revises: 0020_second_vectors

An anonymous visitor's open conversation is found by (session_key, newest last_message_at): on the
session key alone SQLite's planner preferred ix_conversations_user_last (`user_id IS NULL`) and scanned
every anonymous conversation on each question. A re-sent message's reply is found by reply_to_id, which
had no index (a scan of every chat message). A conversation's last answered question is read by
(conversation_id, role, id) instead of sorting all its messages.
"""
from alembic import op

revision = '0021_chat_lookup_indexes'
down_revision = '0020_second_vectors'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_session_key')
        batch_op.create_index('ix_conversations_session_key_last', ['session_key', 'last_message_at'], unique=False)
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.create_index('ix_chat_messages_reply_to', ['reply_to_id'], unique=False)
        batch_op.create_index('ix_chat_messages_conversation_role', ['conversation_id', 'role', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_messages_conversation_role')
        batch_op.drop_index('ix_chat_messages_reply_to')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_session_key_last')
        batch_op.create_index('ix_conversations_session_key', ['session_key'], unique=False)
