"""Which store the end-to-end suite runs against: SQLite files (the default) or PostgreSQL.

`STOREFRONT_TEST_STORE=postgres` runs every test against PostgreSQL. Unless
`STOREFRONT_TEST_PG` names a server (`postgres://user@host:port`), a throwaway cluster is made
for the run: `initdb` in a temporary folder (as the `postgres` user when run as root, since
initdb refuses root), started on a free loopback port, and stopped and deleted at the end.

Tests keep naming stores by file path. On PostgreSQL each distinct path is a database of its own
(named from the path's hash, created on first use), so a test that restarts a gateway "on the same
store" or runs two gateways on it gets the same database, and tests never share one.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
from urllib.parse import urlsplit
from pathlib import Path

BACKEND = os.environ.get("STOREFRONT_TEST_STORE", "sqlite")
assert BACKEND in ("sqlite", "postgres"), f"STOREFRONT_TEST_STORE must be sqlite or postgres, not {BACKEND!r}"
POSTGRES = BACKEND == "postgres"

_server_url: str | None = os.environ.get("STOREFRONT_TEST_PG")
_cluster: dict | None = None
_created: set[str] = set()


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    path = shutil.which(name)
    assert path, f"PostgreSQL's {name} is not installed (Debian: apt-get install postgresql)"
    return path


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster() -> str:
    """initdb + pg_ctl start on a free port; returns the server's URL (no database)."""
    global _cluster, _server_url
    if _server_url:
        return _server_url
    folder = Path(tempfile.mkdtemp(prefix="storefront-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    port = _free_port()
    subprocess.run(_as_postgres([_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync",
                                 "-E", "UTF8", "--locale", "C"]),
                   check=True, capture_output=True, timeout=120)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=400"
    subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                                 "-w", "-t", "60", "start"]),
                   check=True, capture_output=True, timeout=90)
    _cluster = {"folder": folder, "data": data}
    _server_url = f"postgres://postgres@127.0.0.1:{port}"
    # A PostgreSQL store's default signing key lives in ~/.storefront/keys: the run's gateways get
    # a home of their own, deleted with the cluster, instead of filling the user's.
    home = folder / "home"
    home.mkdir()
    os.environ["HOME"] = str(home)
    return _server_url


def stop_cluster() -> None:
    global _cluster
    if _cluster is None:
        return
    subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(_cluster["data"]), "-m", "immediate", "-w", "stop"]),
                   capture_output=True, timeout=60)
    shutil.rmtree(_cluster["folder"], ignore_errors=True)
    _cluster = None


def psql(database: str, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    url = start_cluster() + "/" + database
    out = subprocess.run([_bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", url, *args],
                         input=input, capture_output=True, text=True, timeout=120)
    if check:
        assert out.returncode == 0, f"psql failed: {out.stderr}"
    return out


def database_name(store: Path | str) -> str:
    return "sf_" + hashlib.sha256(str(Path(store).resolve()).encode()).hexdigest()[:20]


class AsGiven(str):
    """A `--store` value passed as it is on either pass (an SQLite file a test wants as a file)."""


def store_arg(store: Path | str) -> str:
    """What to pass as `--store` for a store the test names by path."""
    if not POSTGRES or isinstance(store, AsGiven) or str(store).startswith(("postgres://", "postgresql://")):
        return str(store)
    name = database_name(store)
    if name not in _created:
        psql("postgres", "-c", f"CREATE DATABASE {name}", check=False)
        _created.add(name)
    return f"{start_cluster()}/{name}"


def store_args(args) -> list[str]:
    """`args` with the value after each `--store` mapped through `store_arg`."""
    args = [str(a) for a in args]
    return [store_arg(a) if i > 0 and args[i - 1] == "--store" else a for i, a in enumerate(args)]


def query_rows(store: Path | str, query: str) -> list[dict]:
    """Rows of one read-only query as dictionaries, on whichever store."""
    if POSTGRES:
        out = psql(database_name(store), "-At", "-c", f"SELECT coalesce(json_agg(q), '[]') FROM ({query}) q")
        return json.loads(out.stdout)
    out = subprocess.run(["sqlite3", "-json", "-cmd", ".timeout 10000", str(store), query],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"sqlite3 failed on {query!r}: {out.stderr}"
    return json.loads(out.stdout) if out.stdout.strip() else []


def execute(store: Path | str, script: str) -> subprocess.CompletedProcess:
    """Runs statements that change the store (the tampering tests), on whichever store."""
    if POSTGRES:
        return psql(database_name(store), input=script)
    out = subprocess.run(["sqlite3", "-cmd", ".timeout 10000", str(store)], input=script, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, f"sqlite3 failed on {script!r}: {out.stderr}"
    return out


# --- a DB-API connection to either store, for tests that read or edit rows directly -------------


class DualRow(tuple):
    """A row read by position or by column name (what sqlite3.Row gives)."""

    def __new__(cls, names: tuple[str, ...], values):
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self):
        return list(self._names)


class _PostgresCursor:
    def __init__(self, cursor):
        self._cursor = cursor

    def _row(self, values):
        return None if values is None else DualRow(tuple(d.name for d in self._cursor.description), values)

    def fetchone(self):
        return self._row(self._cursor.fetchone())

    def fetchall(self):
        return [self._row(v) for v in self._cursor.fetchall()]

    def __iter__(self):
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class _PostgresConnection:
    """psycopg with sqlite3's face: `?` placeholders, `execute` on the connection, rows by name or
    position, and `with` committing (and here also closing)."""

    def __init__(self, url: str, readonly: bool):
        import psycopg

        self._connection = psycopg.connect(url)
        if readonly:
            self._connection.read_only = True

    def execute(self, sql: str, parameters=()):
        cursor = self._connection.cursor()
        cursor.execute(sql.replace("?", "%s"), tuple(parameters))
        return _PostgresCursor(cursor)

    def executemany(self, sql: str, rows):
        with self._connection.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])

    def commit(self):
        self._connection.commit()

    def close(self):
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self._connection.commit()
        else:
            self._connection.rollback()
        self._connection.close()


def connect(store: Path | str, *, readonly: bool = False, timeout: float = 10):
    """A connection to the store a test names by path: sqlite3 on the file, psycopg on PostgreSQL.
    Rows read by name or position either way."""
    if POSTGRES:
        return _PostgresConnection(store_arg(store), readonly)
    import sqlite3

    if readonly:
        connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=timeout)
    else:
        connection = sqlite3.connect(str(store), timeout=timeout)
    connection.row_factory = sqlite3.Row
    return connection


def key_path(store: Path | str) -> Path:
    """Where the gateway keeps a store's signing key by default (SigningKeyFile.defaultPath)."""
    if not POSTGRES:
        return Path(str(store) + ".key")
    url = urlsplit(store_arg(store))
    name = f"{url.hostname or 'localhost'}-{url.port or 5432}-{url.path.lstrip('/')}"
    name = "".join(c if c.isalnum() or c in ".-" else "_" for c in name)
    return Path.home() / ".storefront" / "keys" / (name + ".key")


def exists(store: Path | str) -> bool:
    """Whether the store has been created (the file; on PostgreSQL, the database's schema)."""
    if not POSTGRES:
        return Path(store).exists()
    out = psql(database_name(store), "-At", "-c", "SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'",
               check=False)
    return out.returncode == 0 and out.stdout.strip() == "1"


def copy(source: Path | str, target: Path | str) -> None:
    """A private copy of a stopped store and its signing key (tests that tamper with a store):
    the file (and its WAL), or a new database made from the source as a template."""
    if POSTGRES:
        store_arg(source)
        psql("postgres", "-c", f"CREATE DATABASE {database_name(target)} TEMPLATE {database_name(source)}")
        _created.add(database_name(target))
    else:
        for suffix in ("", "-wal", "-shm"):
            if Path(str(source) + suffix).exists():
                shutil.copy(str(source) + suffix, str(target) + suffix)
    if key_path(source).exists():
        shutil.copy(key_path(source), key_path(target))


def dump(store: Path | str) -> str:
    """Everything the store holds as text (`sqlite3 .dump`, `pg_dump`): to prove a secret is not in it."""
    if POSTGRES:
        out = subprocess.run([_bin("pg_dump"), "--no-owner", store_arg(store)], capture_output=True, text=True, timeout=120)
    else:
        out = subprocess.run(["sqlite3", str(store), ".dump"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def restart_server() -> None:
    """Restarts the throwaway PostgreSQL server (fast shutdown: every connection is dropped)."""
    assert _cluster is not None, "only the suite's own cluster can be restarted"
    folder, data = _cluster["folder"], _cluster["data"]
    port = urlsplit(_server_url).port
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=400"
    subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-o", options, "-l", str(folder / "log"),
                                 "-w", "-t", "60", "restart"]),
                   check=True, capture_output=True, timeout=120)


def run_cli_raw(*args: str) -> subprocess.CompletedProcess:
    """`storefront ARGS` with `--store` passed as given (a URL a test built itself)."""
    from support import BINARY, REPO_ROOT

    return subprocess.run([str(BINARY), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
