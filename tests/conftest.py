"""Shared fixtures: the same tests run on SQLite and on PostgreSQL.

``TOVHOLDER_TEST_BACKENDS`` chooses the backends (``sqlite,postgres`` by default).
PostgreSQL is reached at ``TOVHOLDER_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); each test gets its own schema, dropped
afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from core.keys import KeyEncryptionKey
from core.log import CaseLog
from core.storage import close_recorder, open_recorder

POSTGRES = os.environ.get("TOVHOLDER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b.strip() for b in os.environ.get("TOVHOLDER_TEST_BACKENDS", "sqlite,postgres").split(",") if b.strip()]


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library and our settings read the environment: start every test clean."""
    for key in list(os.environ):
        if key.startswith(("TOVHOLDER_", "SQLITE_", "POSTGRES_", "PERSISTENCE_", "CIPHER_")) and key not in (
            "TOVHOLDER_TEST_BACKENDS",
            "TOVHOLDER_TEST_POSTGRES",
        ):
            monkeypatch.delenv(key, raising=False)


def _drop_schema(schema: str) -> None:
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/log.db"
    elif request.param == "postgres":
        schema = "t_" + uuid.uuid4().hex[:16]
        yield f"{POSTGRES}?schema={schema}"
        _drop_schema(schema)
    else:
        raise ValueError(f"unknown backend {request.param}")


@pytest.fixture
def make_log(database_url: str) -> Iterator[Callable[..., CaseLog]]:
    """Open (and reopen) a case log on the test's database; closed at the end."""
    opened: list[CaseLog] = []
    kek = KeyEncryptionKey.generate()

    def factory(key: KeyEncryptionKey | None = None) -> CaseLog:
        log = CaseLog(open_recorder(database_url), key or kek)
        opened.append(log)
        return log

    yield factory
    for log in opened:
        close_recorder(log.recorder)


class SmallDisk:
    """A 16 MiB tmpfs mounted for one test: fill it up, free it again."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.filler = root / "filler"

    def fill(self) -> None:
        """Write until the filesystem is full (ENOSPC)."""
        with open(self.filler, "ab", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A small tmpfs of its own, where this machine lets the tests mount one (root, with
    the right to mount); else the test is skipped and says why."""
    import subprocess

    root = tmp_path / "small-disk"
    root.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full disk needs a small tmpfs, and mounting one needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(root)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine refuses to mount a small tmpfs: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules of slow tests (real servers, subprocesses, browsers) first, each
    module's tests kept together: the two test processes then end on quick tests, instead
    of one waiting while the other finishes a half-minute scenario collected last."""
    slow_modules = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_modules)  # stable: order kept within each
