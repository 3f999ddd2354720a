"""The embedded store's recorder: an SQLite file opened through the eventsourcing library,
without loading any PostgreSQL support.

A field laptop keeps its store in one SQLite file (WAL) and never talks to PostgreSQL,
so it opens its recorder here rather than through `core.storage`, which chooses between
both backends and therefore loads psycopg and the library's postgres module.
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import unquote

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import Environment, get_topic

from core.errors import ConfigurationError

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


def construct(name: str, env: dict[str, str], recorder_class: type[R]) -> R:
    """The library's application recorder for an environment, checked to be `recorder_class`."""
    recorder = InfrastructureFactory.construct(Environment(name, env)).application_recorder()
    if not isinstance(recorder, recorder_class):
        raise ConfigurationError(f"a {recorder_class.__name__} cannot keep its data in {env['PERSISTENCE_MODULE']}")
    return recorder


def open_recorder(database_url: str, name: str, recorder_class: type[R]) -> R:
    """Construct the SQLite application recorder of `recorder_class`, creating its tables."""
    return construct(name, sqlite_env(database_url, recorder_class), recorder_class)


def close_recorder(recorder: SQLiteApplicationRecorder) -> None:
    """Close the recorder's connections."""
    recorder.datastore.close()
