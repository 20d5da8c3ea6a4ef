"""The migrations build the schema the models declare (tables, columns, indexes, constraints), on SQLite and
on PostgreSQL: an index added to a model without its migration (or the reverse) fails here, not in production."""
from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from community.extensions import db


def test_migrated_schema_equals_the_models(database):
    engine = create_engine(database)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            # SQLite's reflection cannot read expression indexes (lower(email)); PostgreSQL's compares them.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
            differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
    finally:
        engine.dispose()
    assert differences == []
