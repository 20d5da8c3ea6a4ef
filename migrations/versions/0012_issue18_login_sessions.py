"""login sessions that the server can end (issue 18)

Revision ID: 0012_issue18
Revises: 0015_job_heartbeat
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_issue18'
down_revision = '0015_job_heartbeat'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('remember', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_login_sessions_token_hash')),
    )
    op.create_index('ix_login_sessions_user_open', 'login_sessions', ['user_id', 'revoked_at'])


def downgrade():
    op.drop_index('ix_login_sessions_user_open', table_name='login_sessions')
    op.drop_table('login_sessions')
