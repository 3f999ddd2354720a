"""Projections follow the log exactly once: rows and position commit together, so a crash
in the middle never skips an event or applies one twice; a rebuild gives the same rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import IntegrityError

from core.adminlog import AdminSealer, change
from core.log import CaseLog, LoggedEvent
from core.projection import ProjectionRunner, Write
from tests.core.conftest import Devices, family

MakeLog = Callable[..., CaseLog]


class Crash(Exception):
    """The projection process dies in the middle of a page."""


class EventsPerCase:
    """A view with one row per event: (position, case, sequence, type)."""

    name = "events_per_case"

    def __init__(
        self,
        log: CaseLog,
        crash_on_page: int | None = None,
        broken_write_on_page: int | None = None,
    ):
        self.table = f"{log.tables.q}proj_events_per_case"
        self.p = log.tables.p
        self.pages = 0
        self.crash_on_page = crash_on_page
        self.broken_write_on_page = broken_write_on_page

    def create_statements(self, placeholder: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table} (position BIGINT NOT NULL, "
            "case_id TEXT NOT NULL, seq BIGINT NOT NULL, topic TEXT NOT NULL)"
        ]

    def drop_statements(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {self.table}"]

    def handle(self, events: Sequence[LoggedEvent]) -> list[Write]:
        self.pages += 1
        if self.pages == self.crash_on_page:
            raise Crash(f"died while handling page {self.pages}")
        p = self.p
        writes: list[Write] = [
            (
                f"INSERT INTO {self.table} VALUES ({p},{p},{p},{p})",
                (e.position, e.sealed.case_id, e.seq, e.sealed.topic),
            )
            for e in events
        ]
        if self.broken_write_on_page is not None and self.pages >= self.broken_write_on_page:
            # From this page on the last write fails inside the transaction, every time.
            writes.append((f"INSERT INTO {self.table} (position) VALUES ({p})", (None,)))
        return writes

    def rows(self, log: CaseLog) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = log.recorder.run(
            f"SELECT position, case_id, seq, topic FROM {self.table} ORDER BY position"
        )
        return rows


@pytest.fixture
def log(make_log: MakeLog, devices: Devices) -> CaseLog:
    log = make_log()
    for _ in range(5):
        b = family()
        b.contact()
        devices.push_case(log, b)
    return log


def expected(log: CaseLog) -> list[tuple[Any, ...]]:
    return [(e.position, e.sealed.case_id, e.seq, e.sealed.topic) for e in log.iterate()]


def test_catch_up_applies_every_event_once(log: CaseLog) -> None:
    view = EventsPerCase(log)
    runner = ProjectionRunner(log, view, page=7)
    seen: list[tuple[int, int]] = []
    assert runner.lag() == log.max_position()
    assert runner.catch_up(lambda pos, total: seen.append((pos, total))) == len(expected(log))
    assert view.rows(log) == expected(log)
    assert runner.position == log.max_position() and runner.lag() == 0
    assert seen[-1] == (log.max_position(), log.max_position())
    assert runner.catch_up() == 0
    assert view.rows(log) == expected(log)


def test_a_crash_in_handle_skips_nothing_and_repeats_nothing(log: CaseLog, devices: Devices) -> None:
    crashing = EventsPerCase(log, crash_on_page=3)
    runner = ProjectionRunner(log, crashing, page=4)
    with pytest.raises(Crash):
        runner.catch_up()
    assert runner.position == expected(log)[7][0]  # two pages of four committed
    assert crashing.rows(log) == expected(log)[:8]
    more = family()
    devices.push_case(log, more)
    restarted = ProjectionRunner(log, EventsPerCase(log), page=4)
    restarted.catch_up()
    assert crashing.rows(log) == expected(log)


def test_a_failed_write_rolls_back_rows_and_position_together(log: CaseLog) -> None:
    broken = EventsPerCase(log, broken_write_on_page=2)
    runner = ProjectionRunner(log, broken, page=5)
    with pytest.raises(IntegrityError, match=r"(?i)null"):
        runner.catch_up()  # surfaces instead of retrying the same page for ever
    assert runner.position == expected(log)[4][0]
    assert broken.rows(log) == expected(log)[:5]  # none of page 2 is there
    ProjectionRunner(log, EventsPerCase(log), page=5).catch_up()
    assert broken.rows(log) == expected(log)


def test_rebuild_from_zero_gives_the_same_rows(log: CaseLog) -> None:
    view = EventsPerCase(log)
    runner = ProjectionRunner(log, view, page=6)
    runner.catch_up()
    before = view.rows(log)
    progress: list[int] = []
    assert runner.rebuild(lambda pos, total: progress.append(pos)) == len(before)
    assert view.rows(log) == before == expected(log)
    assert progress == sorted(progress) and progress[-1] == log.max_position()


def test_a_view_that_never_followed_the_log_can_be_rebuilt(log: CaseLog) -> None:
    """`admin views rebuild` on a log whose views never ran: no tracking row, no table yet."""
    view = EventsPerCase(log)
    assert ProjectionRunner(log, view, page=6).rebuild() == len(expected(log))
    assert view.rows(log) == expected(log)


def test_a_view_moves_past_administrative_events_and_shows_no_lag_for_them(log: CaseLog, devices: Devices) -> None:
    """The administrative log's events are leaves of the log but no view's rows: a view
    caught up after them stands at the log's head, not at its last case event."""
    log.admin = AdminSealer(Ed25519PrivateKey.generate())
    view = EventsPerCase(log)
    runner = ProjectionRunner(log, view, page=4)
    runner.catch_up()
    for name in ("north", "south", "east"):
        log.record_admin(change("department.added", department=name, authority="kommune"))
    assert runner.lag() == 3
    assert runner.catch_up() == 0
    assert runner.position == log.max_position() and runner.lag() == 0

    more = family()
    more.contact()
    devices.push_case(log, more)
    log.record_admin(change("department.added", department="west", authority="kommune"))
    assert runner.catch_up() == len(more.events)
    assert view.rows(log) == expected(log)
    assert runner.position == log.max_position() and runner.lag() == 0
