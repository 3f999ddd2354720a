"""Monitoring reports: counts a management reader can use, and nothing about anyone.

A municipality of a few cases recorded through the real rules and sealing, pushed into a
real log; the monitoring view follows it like any projection. Small cells (under five
cases) are suppressed, also where a total would give them away, and no name, CPR number,
note or free-text word of a person reaches the view's table or any report.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

from core import events as ev
from core.monitoring import MonitoringProjection, all_reports, report, statutory_report
from core.projection import ProjectionRunner
from core.retention import erase
from server.monitoring import as_csv
from tests.core.conftest import CaseBuilder, worker
from tests.views.conftest import World

DROP_IN = worker("drop-in", "outreach")
NAMES = ("Karen Sørensen", "Mads Holm", "Ali Jensen", "Nora Berg", "Ib Lund", "Eva Dahl")
CPRS = ("010190-1234", "020285-2345", "030370-3456", "040465-4567", "050555-5678", "060648-6789")


def visitor(world: World, n: int, challenges: tuple[str, ...], note: str = "") -> CaseBuilder:
    """A citizen known at the drop-in centre, with one contact in March 2026."""
    b = CaseBuilder().open("citizen", "drop-in")
    b.person("citizen", "citizen", None, name=NAMES[n % len(NAMES)], cpr=CPRS[n % len(CPRS)])
    b.contact(DROP_IN, person="citizen", kind="drop-in", challenges=challenges, note=note or f"spoke with {NAMES[n]}")
    world.push(b)
    return b


def tally(world: World, counts: dict[str, int]) -> None:
    b = CaseBuilder().open("tally", "drop-in")
    b.rec(ev.ContactsTallied, DROP_IN, day=date(2026, 3, 2), counts=counts)
    world.push(b)


def rows(world: World, name: str) -> list[tuple[object, ...]]:
    ProjectionRunner(world.log, MonitoringProjection(world.log)).catch_up()
    return report(world.log, name).rows


def test_contacts_of_fewer_than_five_people_in_a_cell_are_suppressed_and_totals_do_not_give_them_away(
    world: World,
) -> None:
    for n in range(5):
        visitor(world, n, ("finances",))
    for n in range(2):
        visitor(world, n, ("housing",))
    tally(world, {"finances": 7, "housing": 9, "dental": 2})
    found = {r[2]: r[3:] for r in rows(world, "contacts") if r[0] == "drop-in"}
    assert found["finances"] == (5, 7, 12)
    assert found["housing"] == (None, 9, None)  # 2 people: neither shown nor derivable from a total
    assert found["dental"] == (0, None, None)


def test_families_are_counted_with_their_coordinator_and_plan_only_in_cells_of_five_or_more(world: World) -> None:
    for n in range(6):
        b = CaseBuilder().open("family", "children-family")
        b.person("mother", "parent", 38)
        b.rec(ev.CoordinatorAssigned, worker=f"w-{n}", coordinator_department="children-family")
        if n < 5:
            b.rec(ev.GoalAdded, goal_id=ev.new_id(), text="a calm home", owner="children-family")
        world.push(b)
    (row,) = [r for r in rows(world, "families") if r[0] == "children-family"]
    assert row == ("children-family", "family", 6, 6, 5, 5)


def test_goals_progress_and_meetings_of_a_few_cases_are_suppressed(world: World) -> None:
    for n in range(5):
        b = CaseBuilder().open("citizen", "adult-social")
        b.person("citizen", "citizen", 30)
        goal = ev.new_id()
        b.rec(ev.GoalAdded, goal_id=goal, text="a job", owner="adult-social")
        b.rec(ev.ProgressRecorded, goal_id=goal, score=2 + n % 3)
        if n < 3:
            b.rec(ev.MeetingHeld, meeting_id=ev.new_id(), kind="status")
        world.push(b)
    (month,) = rows(world, "goals")
    assert month == ("2026-03", 5, 0, 5, 2.8)  # scores 2, 3, 4, 2, 3
    assert rows(world, "meetings") == [("status", "2026-03", None)]


def test_no_name_cpr_number_or_note_reaches_the_monitoring_table_or_any_report(world: World) -> None:
    # Six people whose contacts name them everywhere a worker could type text (free text
    # as a challenge is refused by the rules); a challenge of the municipality's own list
    # that the reports do not know is counted as "other", never shown by its name.
    for n in range(6):
        visitor(world, n, ("gambling", "finances"), note=f"{NAMES[n]} {CPRS[n]}")
    rows(world, "contacts")
    table = MonitoringProjection(world.log).table
    stored = json.dumps([list(r) for r in world.log.recorder.run(f"SELECT * FROM {table}")])
    reports = list(all_reports(world.log))
    shown = stored + json.dumps([r.as_json() for r in reports]) + "".join(as_csv(r) for r in reports)
    for secret in (*NAMES, *CPRS, *(c.replace("-", "") for c in CPRS), "Sørensen", "spoke", "gambling"):
        assert secret not in shown
    assert ("drop-in", "2026-03", "other", 6, 0, 6) in rows(world, "contacts")


def test_an_erased_case_leaves_the_counts(world: World, tmp_path: Path) -> None:
    cases = [visitor(world, n, ("finances",)) for n in range(5)]
    assert rows(world, "contacts")[0][3] == 5
    gone = cases[0]
    gone.rec(ev.ErasureRequested, DROP_IN, request_id="r1", requested_by=gone.persons["citizen"])
    grantor = worker("drop-in", "caseworker")
    gone.rec(
        ev.ErasureDecided, grantor, request_id="r1", granted=True, legal_basis="databeskyttelsesforordningen art. 17"
    )
    world.push(gone)
    rows(world, "contacts")
    keys = world.server_keys
    erase(
        world.log,
        gone.case_id,
        tmp_path / "a.json",
        archive_key=world.archive_key,
        server_id="server",
        signing=keys.signing,
        now=world.now,
    )
    assert rows(world, "contacts")[0][3] is None


def young_person(world: World, born: date, meetings: tuple[tuple[str, date], ...]) -> None:
    """A family case of children and family with a young person born on `born`, opened in
    March 2026, and statutory meetings held on the given days (device time)."""
    b = CaseBuilder().open("family", "children-family")
    young = ev.new_id()
    b.rec(ev.PersonAdded, person_id=young, role="child", name="Sara Holm", birth_date=born, persons=(young,))
    for kind, day in meetings:
        b.clock.now = datetime.combine(day, time(10), UTC)
        b.rec(ev.MeetingHeld, meeting_id=ev.new_id(), kind=kind, persons=(young,), minutes="Sara Holm came")
    world.push(b)


def test_statutory_meetings_are_counted_by_the_month_they_fell_due_and_whether_held_by_then(world: World) -> None:
    # Six turn 16 on 20 April 2026: five have their meeting before, one a week late; two
    # of them also had the 17½ meeting early, which is not due yet in the report's months.
    for n in range(6):
        held = date(2026, 4, 27) if n == 5 else date(2026, 4, 10)
        early = (("statutory-17.5", date(2026, 4, 11)),) if n < 2 else ()
        young_person(world, date(2010, 4, 20), (("statutory-16", held), *early))
    # Five turn 18 in May 2026 and none has had the meeting; three turn 16 in June.
    for n in range(5):
        young_person(world, date(2008, 5, 3 + n), ())
    for n in range(3):
        young_person(world, date(2010, 6, 1 + n), (("statutory-16", date(2026, 5, 30)),))
    # A meeting at 16 that fell due before the case was opened is no one's to hold.
    young_person(world, date(2009, 1, 5), ())
    ProjectionRunner(world.log, MonitoringProjection(world.log)).catch_up()
    found = statutory_report(world.log, today=date(2026, 7, 1)).rows
    assert found == [
        ("2026-04", "statutory-16", 6, 5),
        ("2026-05", "statutory-18", 5, 0),
        ("2026-06", "statutory-16", None, None),  # three young persons: suppressed
    ]
    assert [r[:2] for r in statutory_report(world.log, today=date(2026, 5, 15)).rows] == [("2026-04", "statutory-16")]
    table = MonitoringProjection(world.log).table
    stored = json.dumps([list(r) for r in world.log.recorder.run(f"SELECT * FROM {table}")])
    assert "Sara" not in stored and "2010-04-20" not in stored and "2010-04" not in stored


def test_a_corrected_birth_date_moves_the_statutory_meetings_and_a_rebuilt_view_counts_the_same(
    world: World,
) -> None:
    cases = []
    for _ in range(5):
        b = CaseBuilder().open("family", "children-family")
        young = b.person("young", "child", None)
        b.rec(ev.PersonCorrected, person_id=young, birth_date=date(2008, 9, 9), persons=(young,))
        cases.append(b)
        world.push(b)
    runner = ProjectionRunner(world.log, MonitoringProjection(world.log))
    runner.catch_up()
    for b in cases:
        young = b.persons["young"]
        b.rec(ev.PersonCorrected, person_id=young, birth_date=date(2008, 10, 9), persons=(young,))
        world.push(b)
    runner.catch_up()
    expected = [("2026-04", "statutory-17.5", 5, 0), ("2026-10", "statutory-18", 5, 0)]
    assert statutory_report(world.log, today=date(2027, 1, 1)).rows == expected
    runner.rebuild()
    assert statutory_report(world.log, today=date(2027, 1, 1)).rows == expected
