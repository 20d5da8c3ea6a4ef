"""a knowledge gap's repeated wordings are kept but not read when a new question looks for its gap (issue 21)

Revision ID: 0022_gap_matching_variants
Revises: 0021_chat_lookup_indexes

Every question the bot could not answer is stored as a variant of a gap, and the next such question was
compared with the vector of every variant of every open gap: a popular unanswerable question, asked a
thousand times, made each later abstain read a thousand identical vectors. Now a variant that repeats a
wording its gap already holds has matches = false, and the lookup reads (gap_id, matches) from an index.
Existing repeats (the same words in the same gap, after the first) are marked here.
"""
import sqlalchemy as sa
from alembic import op

revision = '0022_gap_matching_variants'
down_revision = '0021_chat_lookup_indexes'
branch_labels = None
depends_on = None


# Plain ALTER statements, which SQLite runs as they are: batch mode would copy the table, and reflecting it
# for the copy warns about the users table's expression index.
def upgrade():
    op.add_column('knowledge_gap_variants', sa.Column('matches', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.drop_index('ix_knowledge_gap_variants_gap', table_name='knowledge_gap_variants')
    op.create_index('ix_knowledge_gap_variants_gap_matches', 'knowledge_gap_variants', ['gap_id', 'matches'])
    op.execute(sa.text(
        "UPDATE knowledge_gap_variants SET matches = false WHERE EXISTS (SELECT 1 FROM knowledge_gap_variants AS"
        " earlier WHERE earlier.gap_id = knowledge_gap_variants.gap_id AND earlier.question ="
        " knowledge_gap_variants.question AND earlier.id < knowledge_gap_variants.id)"))


def downgrade():
    op.drop_index('ix_knowledge_gap_variants_gap_matches', table_name='knowledge_gap_variants')
    op.create_index('ix_knowledge_gap_variants_gap', 'knowledge_gap_variants', ['gap_id'])
    op.drop_column('knowledge_gap_variants', 'matches')
