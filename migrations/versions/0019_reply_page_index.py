"""a thread's replies are read a page at a time, in (created time, id) order: one index on exactly that

Revision ID: 0019_reply_page_index
Revises: 0018_thread_list_indexes

The thread page shows 50 replies after (or before) a cursor on (created_at, id). The index on (thread_id,
created_at) left ties on created_at (imports, the scale seed: every reply of a thread at one instant) to be
sorted, and could not answer the cursor's row comparison as a range; this one answers both, and replaces it.
"""
from alembic import op

revision = '0019_reply_page_index'
down_revision = '0018_thread_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_forum_replies_thread_order', 'forum_replies', ['thread_id', 'created_at', 'id'])
    op.drop_index('ix_forum_replies_thread_created', table_name='forum_replies')


def downgrade():
    op.create_index('ix_forum_replies_thread_created', 'forum_replies', ['thread_id', 'created_at'])
    op.drop_index('ix_forum_replies_thread_order', table_name='forum_replies')
