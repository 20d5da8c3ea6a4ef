"""community answers promoted to help articles: an article remembers the thread it came from

Revision ID: 0010
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_thread_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_articles_origin_thread_id_forum_threads'), 'forum_threads', ['origin_thread_id'], ['id'],
            ondelete='SET NULL',
        )
        # One article per thread: proposing twice (or two clicks at once) finds the first.
        batch_op.create_index('ux_articles_origin_thread_id', ['origin_thread_id'], unique=True)
    # Linking a forum thread to the gap of a chat message looks variants up by message.
    op.create_index('ix_knowledge_gap_variants_message', 'knowledge_gap_variants', ['message_id'])


def downgrade():
    op.drop_index('ix_knowledge_gap_variants_message', table_name='knowledge_gap_variants')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ux_articles_origin_thread_id')
        batch_op.drop_constraint(batch_op.f('fk_articles_origin_thread_id_forum_threads'), type_='foreignkey')
        batch_op.drop_column('origin_thread_id')
