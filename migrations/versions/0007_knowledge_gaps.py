"""knowledge gaps; joins the feature branches into one history

Revision ID: 0007
Revises: 0003, 0004, 0005, 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = ('0003', '0004', '0005', '0006')
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'knowledge_gaps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('status', sa.Enum('open', 'answered', 'dismissed', name='gap_status', native_enum=False, length=16), nullable=False),
        sa.Column('ask_count', sa.Integer(), nullable=False),
        sa.Column('first_asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('article_id', sa.Integer(), nullable=True),
        sa.Column('thread_id', sa.Integer(), nullable=True),
        sa.Column('dismissed_reason', sa.Text(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_knowledge_gaps_article_id_articles'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['thread_id'], ['forum_threads.id'], name=op.f('fk_knowledge_gaps_thread_id_forum_threads'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_knowledge_gaps_resolved_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_gaps')),
    )
    op.create_index('ix_knowledge_gaps_status_last', 'knowledge_gaps', ['status', 'last_asked_at'])
    op.create_table(
        'knowledge_gap_variants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('gap_id', sa.Integer(), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('source', sa.Enum('abstain', 'thumbs_down', 'manual', name='gap_source', native_enum=False, length=16), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('conversation_id', sa.Integer(), nullable=True),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['gap_id'], ['knowledge_gaps.id'], name=op.f('fk_knowledge_gap_variants_gap_id_knowledge_gaps'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_knowledge_gap_variants_user_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_knowledge_gap_variants_conversation_id_conversations'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['message_id'], ['chat_messages.id'], name=op.f('fk_knowledge_gap_variants_message_id_chat_messages'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_gap_variants')),
    )
    op.create_index('ix_knowledge_gap_variants_gap', 'knowledge_gap_variants', ['gap_id'])


def downgrade():
    op.drop_index('ix_knowledge_gap_variants_gap', table_name='knowledge_gap_variants')
    op.drop_table('knowledge_gap_variants')
    op.drop_index('ix_knowledge_gaps_status_last', table_name='knowledge_gaps')
    op.drop_table('knowledge_gaps')
