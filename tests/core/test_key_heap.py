"""Crypto-shredding on PostgreSQL: once a case key is destroyed, its wrapped bytes are in
no heap page of the case keys' table, as an attacker with the database's files would
read them (the relation file on disk, after a checkpoint has written the pages out)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from core.keys import CaseKey
from core.log import CaseLog
from tests.conftest import BACKENDS, POSTGRES

MakeLog = Callable[..., CaseLog]


def relation_file(table: str) -> tuple[str, bytes]:
    """The table's main file as it is on disk (a superuser reads it with pg_read_binary_file)."""
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SELECT pg_relation_filepath(%s::regclass)", (table,)).fetchone()
        if row is None or row[0] is None:
            raise LookupError(f"no file for {table}")
        return row[0], file_bytes(conn, row[0])


def file_bytes(conn: psycopg.Connection[tuple[Any, ...]], path: str) -> bytes:
    row = conn.execute("SELECT pg_read_binary_file(%s, 0, 1 << 24, true)", (path,)).fetchone()
    return b"" if row is None or row[0] is None else bytes(row[0])


# PostgreSQL only: SQLite's secure_delete and WAL truncation are tested in
# tests/views/test_erase_cli.py.
@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgres"], indirect=True)
def test_a_destroyed_key_is_gone_from_the_key_tables_heap(database_url: str, make_log: MakeLog) -> None:
    log = make_log()
    keys = [CaseKey.generate(f"00000000-0000-4000-8000-00000000000{i}") for i in range(3)]
    for key in keys:
        log.add_key(key)
    gone = keys[1].case_id
    stored = log.recorder.case_key(gone)
    assert stored is not None and stored.wrapped is not None
    wrapped = stored.wrapped
    table = log.tables.keys  # type: ignore[attr-defined]
    before_path, before = relation_file(table)
    assert wrapped in before

    log.destroy_key(gone)

    after_path, after = relation_file(table)
    assert log.erased(gone)
    assert after_path != before_path and wrapped not in after  # the table was rewritten to a new file
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        assert wrapped not in file_bytes(conn, before_path)  # the file it was in is emptied or gone
    for key in (keys[0], keys[2]):  # the other cases' keys are kept, and still open
        assert log.case_key(key.case_id).secret == key.secret
