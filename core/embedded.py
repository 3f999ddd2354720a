"""The embedded store's recorder: an SQLite file opened through the eventsourcing library,
without loading any PostgreSQL support.

A field laptop keeps its store in one SQLite file (WAL) and never talks to PostgreSQL,
so it opens its recorder here rather than through `core.storage`, which chooses between
both backends and therefore loads psycopg and the library's postgres module.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory
from eventsourcing.utils import Environment, get_topic

from core.errors import ConfigurationError

SQLITE_PREFIX = "sqlite:///"


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


def open_recorder(database_url: str, name: str, recorder_class: type) -> Any:
    """Construct the SQLite application recorder of `recorder_class`, creating its tables."""
    factory = InfrastructureFactory.construct(Environment(name, sqlite_env(database_url, recorder_class)))
    recorder: ApplicationRecorder = factory.application_recorder()
    recorder._factory = factory  # type: ignore[attr-defined]  # keep the datastore alive
    return recorder


def close_recorder(recorder: Any) -> None:
    """Close the recorder's connections."""
    factory = getattr(recorder, "_factory", None)
    if factory is not None:
        factory.close()
