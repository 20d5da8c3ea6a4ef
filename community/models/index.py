"""The index entries table: the database copy of every searchable passage and its vector."""
from knowledge_index.table import define_entries_table

from community.extensions import db

index_entries = define_entries_table(db.metadata)
