"""Fixtures for knowledge_index: one real embedder per session, SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from knowledge_index.embedder import Embedder
from knowledge_index.table import define_entries_table

# The one test-database variable (README, Makefile): the same PostgreSQL as the app's tests, each
# run in its own schema. Unset, the PostgreSQL runs are skipped (or fail with REQUIRE_SERVICES=1).
PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the session."""
    return Embedder()


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str | None]:
    """A fresh, randomly named PostgreSQL schema for this run (None when PG is unreachable)."""
    if not PG_URL:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("PostgreSQL required (REQUIRE_SERVICES=1) but TEST_DATABASE_URL is not set")
        yield None
        return
    schema = f"ki_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable: {exc}")
        yield None
        return
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    """An engine on a temp SQLite file or on the run's PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "index.sqlite"
        eng = sa.create_engine(f"sqlite:///{path}")
    else:
        schema = request.getfixturevalue("pg_schema")
        if schema is None:
            pytest.skip("PostgreSQL unreachable (set REQUIRE_SERVICES=1 to fail instead)")
        eng = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield eng
    eng.dispose()


@pytest.fixture
def table(engine: sa.Engine) -> sa.Table:
    """A freshly created entries table with a unique name."""
    metadata = sa.MetaData()
    tbl = define_entries_table(metadata, f"ie_{uuid.uuid4().hex[:8]}")
    metadata.create_all(engine)
    return tbl
