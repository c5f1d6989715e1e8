"""The two stores have one schema: every table and column a SQLite store has after its
migrations, a PostgreSQL store has too (and nothing else), at the same migration version. A
migration added to one list and not the other fails here.

Runs on whichever backend the suite runs on, but needs PostgreSQL's server installed: it makes
one store of each kind (on the suite's PostgreSQL cluster, or a throwaway one)."""

from __future__ import annotations

import signal
import sqlite3

import stores
from support import launch

# Catalog search is each engine's own: FTS5's virtual table (and its shadow tables) on SQLite,
# a tsvector column on PostgreSQL.
ENGINE_OWN = {"catalog_search"}


def sqlite_schema(path) -> dict[str, set[str]]:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if not r[0].startswith("sqlite_") and not r[0].startswith("catalog_search")]
        return {t: {c[1] for c in db.execute(f'PRAGMA table_info("{t}")')} for t in tables}


def postgres_schema(url) -> dict[str, set[str]]:
    import psycopg

    with psycopg.connect(url) as db:
        rows = db.execute("SELECT table_name, column_name FROM information_schema.columns "
                          "WHERE table_schema = 'public'").fetchall()
    schema: dict[str, set[str]] = {}
    for table, column in rows:
        if table not in ENGINE_OWN:
            schema.setdefault(table, set()).add(column)
    return schema


def test_sqlite_and_postgresql_stores_have_the_same_tables_columns_and_version(binary, tmp_path):
    file_store = tmp_path / "schema.db"
    server = stores.start_cluster()
    pg_store = f"{server}/schema_check_{stores.database_name(tmp_path)}"
    stores.psql("postgres", "-c", f"CREATE DATABASE {pg_store.rsplit('/', 1)[1]}")
    for store in (stores.AsGiven(file_store), pg_store):
        srv = launch(store, extra=("--signing-key", str(tmp_path / "schema.key")))
        srv.assert_stopped_cleanly(srv.stop(signal.SIGTERM))
    assert file_store.exists(), "the SQLite store was not made as a file"
    lite, pg = sqlite_schema(file_store), postgres_schema(pg_store)
    assert set(lite) == set(pg), f"only on SQLite: {set(lite) - set(pg)}; only on PostgreSQL: {set(pg) - set(lite)}"
    for table in lite:
        assert lite[table] == pg[table], f"{table}: only on SQLite {lite[table] - pg[table]}, only on PostgreSQL {pg[table] - lite[table]}"
    import psycopg

    with sqlite3.connect(file_store) as db:
        lite_top = max(r[0] for r in db.execute("SELECT version FROM schema_migrations"))
    with psycopg.connect(pg_store) as db:
        pg_top = max(r[0] for r in db.execute("SELECT version FROM schema_migrations").fetchall())
    assert lite_top == pg_top
