"""staff handoff: who from support is online, who answers a conversation, who wrote a staff message

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_presence',
        sa.Column('sid', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('connected_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_presence_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('sid', name=op.f('pk_staff_presence')),
    )
    op.create_index('ix_staff_presence_last_seen', 'staff_presence', ['last_seen_at'])
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('staff_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('staff_joined_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f('fk_conversations_staff_id_users'), 'users', ['staff_id'], ['id'],
                                 ondelete='SET NULL')
        # The console's queue: conversations waiting for a person, oldest first.
        batch.create_index('ix_conversations_status_handoff', ['status', 'handoff_requested_at'])
    with op.batch_alter_table('chat_messages') as batch:
        batch.add_column(sa.Column('author_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_chat_messages_author_id_users'), 'users', ['author_id'], ['id'],
                                 ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('chat_messages') as batch:
        batch.drop_constraint(op.f('fk_chat_messages_author_id_users'), type_='foreignkey')
        batch.drop_column('author_id')
    with op.batch_alter_table('conversations') as batch:
        batch.drop_index('ix_conversations_status_handoff')
        batch.drop_constraint(op.f('fk_conversations_staff_id_users'), type_='foreignkey')
        batch.drop_column('closed_at')
        batch.drop_column('staff_joined_at')
        batch.drop_column('staff_id')
    op.drop_index('ix_staff_presence_last_seen', table_name='staff_presence')
    op.drop_table('staff_presence')
