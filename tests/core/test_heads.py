"""`core.heads`: where each case ends, read on a connection of the thread's own.

A department's case view is answered from memory only while the case has no newer
event, so these answers must be exact, also for events another connection appended.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.keys import KeyEncryptionKey
from core.log import CaseLog
from core.storage import close_recorder, open_recorder
from tests.core.conftest import Devices, family


def test_heads_tell_where_each_case_ends_as_the_log_grows(make_log: Callable[..., CaseLog], database_url: str) -> None:
    log = make_log()
    heads = log.heads
    if not database_url.startswith("sqlite"):
        assert heads is None  # answered over the network: every read takes the full path
        return
    assert heads is not None
    b = family()
    assert heads.seq(b.case_id) == 0 and heads.position() == 0
    devices = Devices()
    devices.push(log, b.sealed, [b.key])
    assert heads.seq(b.case_id) == len(b.sealed) == b.state.seq
    assert heads.position() == log.max_position()
    done = len(b.sealed)
    b.contact(note="one more")
    devices.push(log, b.sealed[done:], [])
    assert heads.seq(b.case_id) == done + 1 == len(log.case_events(b.case_id))
    assert heads.seq(family().case_id) == 0


def test_heads_see_what_another_connection_appended_and_answer_none_when_closed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/log.db"
    kek = KeyEncryptionKey.generate()
    reader = CaseLog(open_recorder(url), kek)
    writer = CaseLog(open_recorder(url), kek)  # its own connections, as another process has
    try:
        heads = reader.heads
        assert heads is not None
        b = family()
        devices = Devices()
        devices.push(writer, b.sealed[:2], [b.key])
        assert heads.seq(b.case_id) == 2
        devices.push(writer, b.sealed[2:], [])
        assert heads.seq(b.case_id) == len(b.sealed)
        assert heads.position() == writer.max_position()
    finally:
        close_recorder(reader.recorder)
        close_recorder(writer.recorder)
    assert heads.seq(b.case_id) is None and heads.position() is None


def test_an_in_memory_log_has_no_heads() -> None:
    log = CaseLog(open_recorder("sqlite:///:memory:"), KeyEncryptionKey.generate())
    try:
        assert log.heads is None
    finally:
        close_recorder(log.recorder)
