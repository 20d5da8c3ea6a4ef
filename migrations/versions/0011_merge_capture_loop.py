"""joins the capture-loop branches (staff handoff, e-mail outbox, promotion) into one history

Revision ID: 0011
Revises: 0008, 0009, 0010
"""
revision = '0011'
down_revision = ('0008', '0009', '0010')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
