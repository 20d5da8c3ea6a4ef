"""help-center article feedback ("did this answer your question?")

Revision ID: 0013_article_feedback
Revises: 0012_jobs
"""
from alembic import op
import sqlalchemy as sa

revision = '0013_article_feedback'
down_revision = '0012_jobs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'article_feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('helpful', sa.Boolean(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_feedback_article_id_articles'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_article_feedback_user_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_article_feedback')),
    )
    op.create_index('ix_article_feedback_article_created', 'article_feedback', ['article_id', 'created_at'])


def downgrade():
    op.drop_index('ix_article_feedback_article_created', table_name='article_feedback')
    op.drop_table('article_feedback')
