"""joins the session's feature branches (jobs and help center, beta, customers, insights, message kinds,
integrations) into one history

Revision ID: 0016_merge_session3
Revises: 0012_beta, 0012_customers, 0012_insights, 0012_message_kind, 0015_integrations, 0012_issue18
"""

revision = '0016_merge_session3'
down_revision = ('0012_beta', '0012_customers', '0012_insights', '0012_message_kind', '0015_integrations',
                 '0012_issue18')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
