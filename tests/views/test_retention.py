"""Retention and erasure: overdue requests, cases due after closing, reopening stops the
clock, and erasure archives, tombstones and shreds while the log still verifies."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from core import events as ev
from core.archive import open_archive
from core.case_index import department_cases
from core.case_view import department_case
from core.errors import CaseErased, InvalidInput, RuleViolation
from core.retention import due_cases, erase, overdue_requests
from core.verify import verify
from tests.core.conftest import DIRECTORY, TODAY, CaseBuilder, family, worker
from tests.views.conftest import World

YEAR = timedelta(days=366)


def closed_case(b: CaseBuilder) -> None:
    b.rec(ev.CaseClosed, reason="the family moved")


def test_undecided_requests_are_overdue_after_30_days(world: World) -> None:
    b = family({"mother": ("parent", 38)})
    b.rec(ev.ErasureRequested, request_id="r1", requested_by=b.persons["mother"])
    other = family({"mother": ("parent", 38)})
    other.rec(ev.ErasureRequested, request_id="r2", requested_by=other.persons["mother"])
    other.rec(
        ev.ErasureDecided,
        request_id="r2",
        granted=False,
        legal_basis="arkivloven",
        reason="a public authority keeps its case records",
    )
    world.push(b)
    world.push(other)
    world.index.catch_up()
    assert overdue_requests(world.log, TODAY + timedelta(days=29)) == []
    assert [r.case_id for r in overdue_requests(world.log, TODAY + timedelta(days=31))] == [b.case_id]


def test_retention_runs_from_closing_and_reopening_stops_it(world: World) -> None:
    b = family({"mother": ("parent", 38)})
    closed_case(b)
    world.push(b)
    world.index.catch_up()
    assert due_cases(world.log, TODAY + 4 * YEAR) == []
    assert [r.case_id for r, _ in due_cases(world.log, TODAY + 6 * YEAR)] == [b.case_id]
    b.rec(ev.CaseReopened, reason="new concern")
    world.push(b)
    world.index.catch_up()
    assert due_cases(world.log, TODAY + 6 * YEAR) == []


def test_erasure_archives_tombstones_and_destroys_the_key(world: World, tmp_path: Path) -> None:
    b = family({"mother": ("parent", 38)})
    b.join("jobcenter")
    b.contact(worker("jobcenter"), note="a note that must disappear")
    world.push(b)
    archive = tmp_path / "archive.json"
    with pytest.raises(RuleViolation, match="granted erasure decision"):
        erase(
            world.log,
            b.case_id,
            archive,
            archive_key=world.archive_key,
            server_id="server",
            signing=world.server_keys.signing,
            now=world.now,
        )
    assert not archive.exists()
    b.rec(ev.ErasureRequested, request_id="r1", requested_by=b.persons["mother"])
    b.rec(ev.ErasureDecided, request_id="r1", granted=True, legal_basis="databeskyttelsesforordningen art. 17")
    world.push(b)
    world.index.catch_up()
    assert department_case(world.cache, b.case_id, "jobcenter", DIRECTORY, world.now) is not None

    taken = tmp_path / "taken.json"
    taken.write_text("{}")
    with pytest.raises(InvalidInput, match="exists already"):
        erase(
            world.log,
            b.case_id,
            taken,
            archive_key=world.archive_key,
            server_id="server",
            signing=world.server_keys.signing,
            now=world.now,
        )
    assert not world.log.erased(b.case_id)
    done = erase(
        world.log,
        b.case_id,
        archive,
        archive_key=world.archive_key,
        server_id="server",
        signing=world.server_keys.signing,
        now=world.now,
        on_erased=world.cache.forget,
    )
    assert done.events == len(b.events)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert b"a note that must disappear" not in archive.read_bytes()
    saved = open_archive(archive.read_bytes(), world.archive_authority)
    assert "a note that must disappear" in json.dumps(saved)
    assert world.log.erased(b.case_id)
    with pytest.raises(CaseErased):
        world.log.case_key(b.case_id)
    world.index.catch_up()
    assert department_cases(world.log, "jobcenter") == []
    assert department_case(world.cache, b.case_id, "jobcenter", DIRECTORY, world.now) is None
    report = verify(world.log)
    assert report.ok, report.problems
    with pytest.raises(RuleViolation, match="already erased"):
        erase(
            world.log,
            b.case_id,
            tmp_path / "again.json",
            archive_key=world.archive_key,
            server_id="server",
            signing=world.server_keys.signing,
            now=world.now,
        )
    # A rebuilt index knows the case only as erased, with no parties.
    world.index.rebuild()
    assert department_cases(world.log, "jobcenter") == []


def test_a_closed_case_past_retention_may_be_erased(world: World, tmp_path: Path) -> None:
    b = family({"mother": ("parent", 38)})
    closed_case(b)
    world.push(b)
    erase(
        world.log,
        b.case_id,
        tmp_path / "a.json",
        archive_key=world.archive_key,
        server_id="server",
        signing=world.server_keys.signing,
        now=TODAY + 6 * YEAR,
    )
    assert world.log.erased(b.case_id)
