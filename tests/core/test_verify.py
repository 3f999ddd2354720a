"""`verify` recomputes every case chain from the log alone: a changed byte, swapped
payloads, a deleted or reordered event are reported with the case and position."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from core.log import CaseLog, Receipt, unpack_envelope
from core.verify import Report, verify
from tests.core.conftest import CaseBuilder, Devices, family

MakeLog = Callable[..., CaseLog]


class Raw:
    """Raw SQL on the stored events, as a database-level attacker would do it."""

    def __init__(self, log: CaseLog) -> None:
        self.log = log
        self.sqlite = log.tables.p == "?"
        r: Any = log.recorder  # the database as an attacker sees it, past the seam
        self.table = r.events_table_name if self.sqlite else f'"{r.datastore.schema}"."{r.events_table_name}"'
        self.pos = "rowid" if self.sqlite else "notification_id"
        self.p = log.tables.p

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        rows: list[Any] = self.log.recorder.run(sql, params, commit=True)
        return rows

    def state(self, position: int) -> bytes:
        rows = self.run(f"SELECT state FROM {self.table} WHERE {self.pos}={self.p}", (position,))
        return bytes(rows[0][0])

    def set_state(self, position: int, state: bytes) -> None:
        self.run(f"UPDATE {self.table} SET state={self.p} WHERE {self.pos}={self.p}", (state, position))

    def delete(self, position: int) -> None:
        self.run(f"DELETE FROM {self.table} WHERE {self.pos}={self.p}", (position,))

    def set_version(self, position: int, version: int) -> None:
        self.run(
            f"UPDATE {self.table} SET originator_version={self.p} WHERE {self.pos}={self.p}",
            (version, position),
        )


@pytest.fixture
def logged(make_log: MakeLog, devices: Devices) -> tuple[CaseLog, list[CaseBuilder], list[list[Receipt]]]:
    log = make_log()
    cases = [family(), family()]
    for b in cases:
        b.contact()
        b.contact()
    receipts = [devices.push_case(log, b) for b in cases]
    return log, cases, receipts


def problems_at(report: Report) -> set[tuple[str, int]]:
    return {(p.case_id, p.position) for p in report.problems}


def test_an_untouched_log_verifies_clean(logged: Any) -> None:
    log, _cases, receipts = logged
    report = verify(log)
    assert report.ok, report.problems
    assert report.events == sum(len(r) for r in receipts)
    assert report.cases == 2
    assert report.batches == 2


@pytest.mark.parametrize("where", ["ciphertext", "sealed header", "chain link"])
def test_one_changed_byte_is_reported(logged: Any, where: str) -> None:
    log, cases, receipts = logged
    target = receipts[0][3]
    raw = Raw(log)
    state = bytearray(raw.state(target.position))
    _, _, link, _ = unpack_envelope(bytes(state))
    marker = {
        "ciphertext": cases[0].sealed[3].ciphertext[-20:],
        "sealed header": cases[0].sealed[3].header.author.encode(),
        "chain link": link,
    }[where]
    at = bytes(state).index(marker) + 2
    state[at] ^= 0x01
    raw.set_state(target.position, bytes(state))
    report = verify(log)
    assert not report.ok
    assert (cases[0].case_id, target.position) in problems_at(report)
    assert all(p.case_id == cases[0].case_id for p in report.problems)
    assert any(p.seq == 4 for p in report.problems)


def test_swapped_states_within_a_case_are_reported(logged: Any) -> None:
    log, cases, receipts = logged
    raw = Raw(log)
    p2, p3 = receipts[0][1].position, receipts[0][2].position
    s2, s3 = raw.state(p2), raw.state(p3)
    raw.set_state(p2, s3)
    raw.set_state(p3, s2)
    report = verify(log)
    assert {(cases[0].case_id, p2), (cases[0].case_id, p3)} <= problems_at(report)
    assert any("chain link does not match" in p.problem for p in report.problems)


def test_swapped_states_between_cases_are_reported(logged: Any) -> None:
    log, cases, receipts = logged
    raw = Raw(log)
    pa, pb = receipts[0][2].position, receipts[1][2].position
    sa, sb = raw.state(pa), raw.state(pb)
    raw.set_state(pa, sb)
    raw.set_state(pb, sa)
    report = verify(log)
    assert {(cases[0].case_id, pa), (cases[1].case_id, pb)} <= problems_at(report)
    messages = [p.problem for p in report.problems if p.position == pa]
    assert any(f"belongs to case {cases[1].case_id}, not to this case" in m for m in messages)


def test_a_deleted_event_is_reported(logged: Any) -> None:
    log, cases, receipts = logged
    raw = Raw(log)
    raw.delete(receipts[0][2].position)
    report = verify(log)
    after = receipts[0][3].position
    assert (cases[0].case_id, after) in problems_at(report)
    assert any(
        p.position == after and "sequence 4 follows 2: an event is missing" in p.problem for p in report.problems
    )


def test_a_deleted_last_event_is_reported(logged: Any) -> None:
    log, cases, receipts = logged
    Raw(log).delete(receipts[1][-1].position)
    report = verify(log)
    n = len(receipts[1])
    assert [(p.case_id, p.seq) for p in report.problems] == [(cases[1].case_id, n)]
    assert "the log ends earlier" in report.problems[0].problem


def test_reordered_events_are_reported(logged: Any) -> None:
    log, cases, receipts = logged
    raw = Raw(log)
    p2, p3 = receipts[0][1].position, receipts[0][2].position
    raw.set_version(p2, 1000)
    raw.set_version(p3, 2)
    raw.set_version(p2, 3)
    report = verify(log)
    assert {(cases[0].case_id, p2), (cases[0].case_id, p3)} <= problems_at(report)
    assert any("out of order" in p.problem for p in report.problems)


def test_an_event_moved_to_another_case_id_is_reported(logged: Any) -> None:
    log, cases, receipts = logged
    raw = Raw(log)
    pos = receipts[0][-1].position
    other: Any = UUID(cases[1].case_id).hex if raw.sqlite else UUID(cases[1].case_id)
    raw.run(
        f"UPDATE {raw.table} SET originator_id={raw.p}, originator_version={raw.p} WHERE {raw.pos}={raw.p}",
        (other, len(receipts[1]) + 1, pos),
    )
    report = verify(log)
    assert (cases[1].case_id, pos) in problems_at(report)
    assert any(p.case_id == cases[0].case_id and "log ends earlier" in p.problem for p in report.problems)
