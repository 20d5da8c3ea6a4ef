"""insights: theme runs, themes and items, evidence on ideas, cross-type links, digest subscriptions

Revision ID: 0012_insights
Revises: 0011

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_insights'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('insight_digest_subscriptions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_insight_digest_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_insight_digest_subscriptions'))
    )
    op.create_table('insight_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('a_type', sa.String(length=32), nullable=False),
    sa.Column('a_id', sa.String(length=64), nullable=False),
    sa.Column('b_type', sa.String(length=32), nullable=False),
    sa.Column('b_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_insight_links_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_links')),
    sa.UniqueConstraint('a_type', 'a_id', 'b_type', 'b_id', name=op.f('uq_insight_links_a_type_a_id_b_type_b_id'))
    )
    op.create_table('theme_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('period_days', sa.Integer(), nullable=True),
    sa.Column('previous_run_id', sa.Integer(), nullable=True),
    sa.Column('n_items', sa.Integer(), nullable=False),
    sa.Column('n_themes', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('scheduled', sa.Boolean(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_theme_runs_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['previous_run_id'], ['theme_runs.id'], name=op.f('fk_theme_runs_previous_run_id_theme_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_runs'))
    )
    op.create_table('idea_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('source_type', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_idea_evidence_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_idea_evidence_customer_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_idea_evidence_idea_id_ideas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea_evidence')),
    sa.UniqueConstraint('idea_id', 'source_type', 'source_id', name=op.f('uq_idea_evidence_idea_id_source_type_source_id'))
    )
    with op.batch_alter_table('idea_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idea_evidence_idea_id'), ['idea_id'], unique=False)

    op.create_table('themes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('identity', sa.String(length=32), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('previous_size', sa.Integer(), nullable=True),
    sa.Column('sentiment', sa.JSON(), nullable=False),
    sa.Column('customer_count', sa.Integer(), nullable=False),
    sa.Column('centroid', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['theme_runs.id'], name=op.f('fk_themes_run_id_theme_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_themes')),
    sa.UniqueConstraint('run_id', 'identity', name=op.f('uq_themes_run_id_identity'))
    )
    with op.batch_alter_table('themes', schema=None) as batch_op:
        batch_op.create_index('ix_themes_identity', ['identity'], unique=False)

    op.create_table('theme_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('source_type', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('similarity', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_theme_items_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['theme_runs.id'], name=op.f('fk_theme_items_run_id_theme_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], name=op.f('fk_theme_items_theme_id_themes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_items')),
    sa.UniqueConstraint('run_id', 'source_type', 'source_id', name=op.f('uq_theme_items_run_id_source_type_source_id'))
    )
    with op.batch_alter_table('theme_items', schema=None) as batch_op:
        batch_op.create_index('ix_theme_items_theme', ['theme_id'], unique=False)



def downgrade():
    with op.batch_alter_table('theme_items', schema=None) as batch_op:
        batch_op.drop_index('ix_theme_items_theme')

    op.drop_table('theme_items')
    with op.batch_alter_table('themes', schema=None) as batch_op:
        batch_op.drop_index('ix_themes_identity')

    op.drop_table('themes')
    with op.batch_alter_table('idea_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idea_evidence_idea_id'))

    op.drop_table('idea_evidence')
    op.drop_table('theme_runs')
    op.drop_table('insight_links')
    op.drop_table('insight_digest_subscriptions')
