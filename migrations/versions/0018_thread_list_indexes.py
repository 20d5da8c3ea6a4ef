"""forum lists read threads in index order: one index per sort, with and without a category

Revision ID: 0018_thread_list_indexes
Revises: 0017_rendered_html

Found with `flask coknow seed --scale 2000000`: the forum list sorted all 500,000 threads for each view (2 s).
"""
from alembic import op

revision = '0018_thread_list_indexes'
down_revision = '0017_rendered_html'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_forum_threads_latest': ['pinned', 'last_activity_at', 'id'],
    'ix_forum_threads_category_latest': ['category_id', 'pinned', 'last_activity_at', 'id'],
    'ix_forum_threads_new': ['created_at', 'id'],
    'ix_forum_threads_category_new': ['category_id', 'created_at', 'id'],
    'ix_forum_threads_top': ['reply_count', 'views', 'id'],
}


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, 'forum_threads', columns)


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name='forum_threads')
