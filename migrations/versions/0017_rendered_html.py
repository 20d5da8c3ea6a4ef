"""posts, replies, ideas, comments and articles keep their rendered HTML (render once, read on view)

Revision ID: 0017_rendered_html
Revises: 0016_merge_session3

The columns start empty: pages render live until the re-render job (community.rendered.rerender_stale,
enqueued by `flask coknow serve` and `flask coknow markup rerender`) has filled them in.
"""
from alembic import op
import sqlalchemy as sa

revision = '0017_rendered_html'
down_revision = '0016_merge_session3'
branch_labels = None
depends_on = None

TABLES = ('forum_threads', 'forum_replies', 'ideas', 'idea_comments', 'articles')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('body_html', sa.Text(), nullable=True))
            batch.add_column(sa.Column('body_html_version', sa.Integer(), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('body_html_version')
            batch.drop_column('body_html')
