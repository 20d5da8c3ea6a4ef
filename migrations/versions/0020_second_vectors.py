"""index entries carry a second, multilingual vector (issue 19)

Revision ID: 0020_second_vectors
Revises: 0019_reply_page_index

The passages the bot answers from (help articles, accepted answers, known beta issues) get a vector from
the multilingual model beside MiniLM's, for Chinese questions and questions whose answer is in the other
language (knowledge_index.multilingual). The columns are NULL for every other source type and for rows
written before this revision: `flask coknow index-reindex` fills them (knowledge_index.table.reindex_all).
"""
import sqlalchemy as sa
from alembic import op

revision = '0020_second_vectors'
down_revision = '0019_reply_page_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('index_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vector2', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('model2', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('dim2', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('index_entries', schema=None) as batch_op:
        batch_op.drop_column('dim2')
        batch_op.drop_column('model2')
        batch_op.drop_column('vector2')
