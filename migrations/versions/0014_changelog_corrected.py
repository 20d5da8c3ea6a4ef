"""changelog entries remember when staff corrected them

Revision ID: 0014_changelog_corrected
Revises: 0013_article_feedback
"""
from alembic import op
import sqlalchemy as sa

revision = '0014_changelog_corrected'
down_revision = '0013_article_feedback'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('changelog_entries') as batch:
        batch.add_column(sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('changelog_entries') as batch:
        batch.drop_column('corrected_at')
