"""The case log's SQLite recorder, constructed through the eventsourcing library without
loading any PostgreSQL support.

`core.storage` builds its SQLite recorder here (an SQLite file in WAL mode, made private
to its owner). A field laptop's store does not use the library at all: it opens its file
with the standard `sqlite3` module (`client.database`), so a recording command starts
without loading the library.
"""

from __future__ import annotations

import contextlib
import os
from typing import TypeVar
from urllib.parse import unquote

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory
from eventsourcing.utils import Environment, get_topic

from core.errors import ConfigurationError
from core.files import private_files as private_files  # the server's data folder uses it from here

SQLITE_PREFIX = "sqlite:///"
R = TypeVar("R", bound=ApplicationRecorder)


def sqlite_env(database_url: str, recorder_class: type) -> dict[str, str]:
    """The library environment for an SQLite URL and the recorder class to construct."""
    if not database_url.startswith(SQLITE_PREFIX):
        raise ConfigurationError("an SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": unquote(database_url[len(SQLITE_PREFIX) :]),
        "SQLITE_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": get_topic(recorder_class),
        "CREATE_TABLE": "y",
    }


def _private_sqlite_file(env: dict[str, str]) -> None:
    """Create the SQLite file with mode 0600 before the library opens it.

    SQLite gives the `-wal` and `-shm` files it creates later the database file's own
    permissions, so a private database file keeps its write-ahead log private too.
    """
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.sqlite":
        return
    name = env["SQLITE_DBNAME"]
    if ":memory:" in name or "mode=memory" in name or name.startswith("file:"):
        return
    # An existing file is left as it is; a missing folder is SQLite's to report.
    with contextlib.suppress(OSError):
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def construct(name: str, env: dict[str, str], recorder_class: type[R]) -> R:
    """The library's application recorder for an environment, checked to be `recorder_class`.

    A new SQLite file, and its `-wal` and `-shm` files, are made mode 0600 (the owner's only).
    """
    _private_sqlite_file(env)
    with private_files():
        recorder = InfrastructureFactory.construct(Environment(name, env)).application_recorder()
    if not isinstance(recorder, recorder_class):
        raise ConfigurationError(f"a {recorder_class.__name__} cannot keep its data in {env['PERSISTENCE_MODULE']}")
    return recorder
