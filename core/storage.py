"""Choosing persistence: a database URL becomes the case log's `LogStore`.

``sqlite:///path/to/file.db`` (the embedded default, one file in WAL mode) or
``postgresql://user[:password]@host[:port]/database[?schema=name]`` (production and
multi-instance). Both go through the eventsourcing library's own persistence modules,
with our recorder subclasses (`core.recorders`) plugged in by topic. (The laptop's store
does not use the library: `client/database.py`.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, unquote, urlparse

import psycopg
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic

from core.embedded import R, construct, sqlite_env
from core.errors import ConfigurationError
from core.logstore import LogStore
from core.recorders import PostgresCaseLogRecorder, SQLiteCaseLogRecorder

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")


def recorder_env(database_url: str, recorder_class: type | None = None) -> dict[str, str]:
    """The library environment for a database URL (no secrets are logged from it)."""
    url = urlparse(database_url)
    if url.scheme == "sqlite":
        return sqlite_env(database_url, recorder_class or SQLiteCaseLogRecorder)
    if url.scheme in ("postgres", "postgresql"):
        schema = parse_qs(url.query).get("schema", ["public"])[0]
        if not _SCHEMA.match(schema):
            raise ConfigurationError("a PostgreSQL schema name is lower-case letters, digits and '_'")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": (url.path or "/postgres").lstrip("/") or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": "4",
            "POSTGRES_MAX_OVERFLOW": "4",
            "APPLICATION_RECORDER_TOPIC": get_topic(recorder_class or PostgresCaseLogRecorder),
            "CREATE_TABLE": "y",
        }
    raise ConfigurationError(
        f"the database URL must start with sqlite:/// or postgresql:// (got scheme {url.scheme!r})"
    )


def ensure_schema(env: dict[str, str]) -> None:
    """Create the PostgreSQL schema named in the environment if it is missing."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres" or env["POSTGRES_SCHEMA"] == "public":
        return
    with _connect(env) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{env["POSTGRES_SCHEMA"]}"')


def _connect(env: dict[str, str]) -> psycopg.Connection[tuple[object, ...]]:
    """A connection of its own (autocommit) to the PostgreSQL database of the environment."""
    try:
        return psycopg.connect(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=int(env["POSTGRES_PORT"]),
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"] or None,
            autocommit=True,
        )
    except psycopg.Error as exc:
        where = f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}"
        raise ConfigurationError(f"cannot reach PostgreSQL at {where}: {exc.__class__.__name__}") from exc


# The key of the advisory lock that processes opening one PostgreSQL database take while
# they create and migrate its tables ("tovholder" in ASCII, as a 64-bit number).
SCHEMA_LOCK = 0x746F76686F6C6465


@contextmanager
def schema_lock(database_url: str) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock on the schema's creation while the body runs.

    `CREATE TABLE IF NOT EXISTS` is not safe against a twin running at the same moment in
    another process ("tuple concurrently updated"), so several server processes started
    at once on a fresh database take turns creating and migrating the tables. A no-op on
    SQLite, whose writers are serialised by the file lock.
    """
    env = recorder_env(database_url)
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    with _connect(env) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def open_application_recorder(database_url: str, name: str, recorder_class: type[R]) -> R:
    """Construct an application recorder of the given class for a database URL, creating
    its tables if needed; ConfigurationError when the URL names another backend."""
    env = recorder_env(database_url, recorder_class)
    ensure_schema(env)
    return construct(name, env, recorder_class)


def open_recorder(database_url: str, name: str = "cases") -> LogStore:
    """The case log's store for a database URL, creating its tables if needed."""
    if urlparse(database_url).scheme == "sqlite":
        return open_application_recorder(database_url, name, SQLiteCaseLogRecorder)
    return open_application_recorder(database_url, name, PostgresCaseLogRecorder)


def close_recorder(recorder: LogStore | SQLiteApplicationRecorder) -> None:
    """Stop the store's background work and close its connections."""
    if isinstance(recorder, SQLiteApplicationRecorder) and not isinstance(recorder, SQLiteCaseLogRecorder):
        recorder.datastore.close()
    else:
        recorder.close()
