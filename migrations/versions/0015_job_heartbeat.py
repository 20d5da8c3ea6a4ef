"""job runs beat while they run, so a run whose worker died is found and run again

Revision ID: 0015_job_heartbeat
Revises: 0014_changelog_corrected
"""
from alembic import op
import sqlalchemy as sa

revision = '0015_job_heartbeat'
down_revision = '0014_changelog_corrected'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job_runs') as batch:
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('job_runs') as batch:
        batch.drop_column('heartbeat_at')
