"""`core.heads`: where each case ends, asked on connections of the event loop's own.

A department's case view is answered from memory only while the case has no newer
event, so these answers must be exact, also for events another connection appended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from core.heads import CaseHeads, PostgresHeads, Rounds, SQLiteHeads
from core.keys import KeyEncryptionKey
from core.log import CaseLog
from core.storage import close_recorder, open_recorder
from tests.core.conftest import Devices, family


def seq(heads: CaseHeads, case_id: str) -> int | None:
    return asyncio.run(heads.seq(case_id))


def position(heads: CaseHeads) -> int | None:
    return asyncio.run(heads.position())


def test_heads_tell_where_each_case_ends_as_the_log_grows(make_log: Callable[..., CaseLog]) -> None:
    log = make_log()
    heads = log.heads
    assert heads is not None
    b = family()
    assert seq(heads, b.case_id) == 0 and position(heads) == 0
    devices = Devices()
    devices.push(log, b.sealed, [b.key])
    assert seq(heads, b.case_id) == len(b.sealed) == b.state.seq
    assert position(heads) == log.max_position()
    done = len(b.sealed)
    b.contact(note="one more")
    devices.push(log, b.sealed[done:], [])
    assert seq(heads, b.case_id) == done + 1 == len(log.case_events(b.case_id))
    assert seq(heads, family().case_id) == 0


def test_heads_see_what_another_connection_appended_and_answer_none_when_closed(database_url: str) -> None:
    kek = KeyEncryptionKey.generate()
    reader = CaseLog(open_recorder(database_url), kek)
    writer = CaseLog(open_recorder(database_url), kek)  # its own connections, as another process has
    heads = reader.heads
    assert heads is not None
    b = family()
    try:

        async def both_loops() -> tuple[int | None, int | None]:
            # Two questions at once on the same loop, while another connection appended.
            first, second = await asyncio.gather(heads.seq(b.case_id), heads.position())
            return first, second

        devices = Devices()
        devices.push(writer, b.sealed[:2], [b.key])
        assert seq(heads, b.case_id) == 2
        devices.push(writer, b.sealed[2:], [])
        assert asyncio.run(both_loops()) == (len(b.sealed), writer.max_position())
    finally:
        close_recorder(reader.recorder)
        close_recorder(writer.recorder)
    assert seq(heads, b.case_id) is None and position(heads) is None


def test_an_in_memory_log_has_no_heads() -> None:
    log = CaseLog(open_recorder("sqlite:///:memory:"), KeyEncryptionKey.generate())
    try:
        assert log.heads is None
    finally:
        close_recorder(log.recorder)


def test_heads_answer_none_when_postgresql_cannot_be_reached() -> None:
    heads = PostgresHeads(
        {"host": "127.0.0.1", "port": 1, "dbname": "postgres", "user": "postgres"}, '"public"."stored_events"'
    )
    try:
        assert seq(heads, family().case_id) is None and position(heads) is None
    finally:
        heads.close()


def test_questions_asked_during_a_round_trip_share_the_next_one_which_starts_after_them() -> None:
    log: list[list[str]] = []
    committed = {"a": 1, "b": 1}

    async def scenario() -> list[int | None]:
        started = asyncio.Event()

        async def fetch(keys: list[str]) -> dict[str, int] | None:
            log.append(sorted(keys))
            seen = dict(committed)  # what the database has when the query runs
            started.set()
            await asyncio.sleep(0.01)
            if "boom" in keys:
                raise RuntimeError("lost connection")
            return {k: v for k, v in seen.items() if k in keys}

        rounds = Rounds(fetch)
        first = asyncio.ensure_future(rounds.ask("a"))
        await started.wait()  # the first round is on its way
        committed["a"] = 2  # an append commits while it is
        later = [asyncio.ensure_future(rounds.ask(k)) for k in ("a", "b", "a", "c")]
        answers = [await first, *[await f for f in later]]
        failed = await asyncio.gather(rounds.ask("boom"), rounds.ask("a"))
        after = await rounds.ask("b")  # a failed round does not stop the next
        return [*answers, *failed, after]

    # The first answer is from before the commit; every later question sees it.
    assert asyncio.run(scenario()) == [1, 2, 1, 2, 0, None, None, 1]
    assert log == [["a"], ["a", "b", "c"], ["a", "boom"], ["b"]]


def test_sqlite_heads_answer_none_for_a_file_they_cannot_open(tmp_path: Path) -> None:
    heads = SQLiteHeads(str(tmp_path / "missing.db"))
    try:
        assert seq(heads, family().case_id) is None and position(heads) is None
    finally:
        heads.close()
