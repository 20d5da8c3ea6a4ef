"""The index entries table: the database copy of every searchable passage and its vector."""
from knowledge_index.table import define_entries_table

from community.extensions import db

# What the bot answers from (bot.knowledge.ANSWERABLE): these passages also get the multilingual model's
# vector, so Chinese questions and questions in the other language reach them. Forum threads and ideas do
# not: they are most of a large community's passages, and nobody is answered from them.
MULTILINGUAL_SOURCES = ("article", "answer", "beta_issue")

index_entries = define_entries_table(db.metadata, second_types=MULTILINGUAL_SOURCES)
