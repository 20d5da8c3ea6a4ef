"""index entries

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:32:33.798559

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.supports_sequences:
        # The change sequence orders index writes across processes (knowledge_index.sync).
        op.execute(sa.schema.CreateSequence(sa.Sequence('index_entries_seq')))
    op.create_table('index_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source_type', sa.String(length=64), nullable=False),
    sa.Column('source_id', sa.String(length=255), nullable=False),
    sa.Column('chunk_key', sa.String(length=255), nullable=False),
    sa.Column('chunk_no', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('heading_path', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=True),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_entries')),
    sa.UniqueConstraint('source_type', 'source_id', 'chunk_key', name='uq_index_entries_source_chunk')
    )
    with op.batch_alter_table('index_entries', schema=None) as batch_op:
        batch_op.create_index('ix_index_entries_model', ['model'], unique=False)
        batch_op.create_index('ix_index_entries_seq', ['seq'], unique=False)
        batch_op.create_index('ix_index_entries_updated_at', ['updated_at'], unique=False)



def downgrade():
    with op.batch_alter_table('index_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_index_entries_updated_at')
        batch_op.drop_index('ix_index_entries_seq')
        batch_op.drop_index('ix_index_entries_model')

    op.drop_table('index_entries')
    if op.get_bind().dialect.supports_sequences:
        op.execute(sa.schema.DropSequence(sa.Sequence('index_entries_seq')))
