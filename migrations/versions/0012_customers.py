"""knowledge about customers: CRM profiles with value segments, segment rules, the staff access log,
and deleted (anonymised) accounts

Revision ID: 0012_customers
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_customers'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    # Case-insensitive e-mail matching (the CRM import looks up thousands per batch) uses this index.
    op.create_index('ix_users_email_lower', 'users', [sa.text('lower(email)')])

    op.create_table(
        'customer_profiles',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('company', sa.String(length=200), nullable=True),
        sa.Column('plan', sa.String(length=80), nullable=True),
        sa.Column('annual_value', sa.Float(), nullable=True),
        sa.Column('signup_date', sa.Date(), nullable=True),
        sa.Column('attributes', sa.JSON(), nullable=False),
        sa.Column('crm_hash', sa.String(length=64), nullable=True),
        sa.Column('crm_imported_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('segment', sa.String(length=24), server_default='ordinary', nullable=False),
        sa.Column('value_score', sa.Float(), server_default='0', nullable=False),
        sa.Column('engagement', sa.Integer(), server_default='0', nullable=False),
        sa.Column('support_load', sa.Integer(), server_default='0', nullable=False),
        sa.Column('interests', sa.JSON(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_customer_profiles_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_customer_profiles')),
    )
    op.create_index('ix_customer_profiles_segment', 'customer_profiles', ['segment'])
    op.create_index('ix_customer_profiles_company', 'customer_profiles', ['company'])

    op.create_table(
        'customer_segment_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('high_value', sa.Float(), nullable=False),
        sa.Column('engaged_activity', sa.Integer(), nullable=False),
        sa.Column('quiet_activity', sa.Integer(), nullable=False),
        sa.Column('high_support_load', sa.Integer(), nullable=False),
        sa.Column('weight_most_valuable', sa.Float(), nullable=False),
        sa.Column('weight_growth_potential', sa.Float(), nullable=False),
        sa.Column('weight_at_risk', sa.Float(), nullable=False),
        sa.Column('weight_ordinary', sa.Float(), nullable=False),
        sa.Column('plan_values', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_customer_segment_rules_updated_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_segment_rules')),
    )

    op.create_table(
        'customer_views',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('what', sa.String(length=24), nullable=False),
        sa.Column('viewed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['users.id'], name=op.f('fk_customer_views_staff_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_customer_views_customer_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_views')),
    )
    op.create_index('ix_customer_views_viewed_at', 'customer_views', ['viewed_at'])
    op.create_index('ix_customer_views_customer', 'customer_views', ['customer_id', 'viewed_at'])


def downgrade():
    op.drop_index('ix_customer_views_customer', table_name='customer_views')
    op.drop_index('ix_customer_views_viewed_at', table_name='customer_views')
    op.drop_table('customer_views')
    op.drop_table('customer_segment_rules')
    op.drop_index('ix_customer_profiles_company', table_name='customer_profiles')
    op.drop_index('ix_customer_profiles_segment', table_name='customer_profiles')
    op.drop_table('customer_profiles')
    op.drop_index('ix_users_email_lower', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
