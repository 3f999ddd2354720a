"""The rest of the catalogue from the laptop: closing and reopening, corrections, leaving
the team, shares on a legal basis, erasure, assessments, closing goals, activities and
their financing, referral outcomes and resolving conflicts. Each command goes through
`tovholder client` (the CLI's main function), is judged by the same rules as the server,
prints the ids it made, and refuses in one sentence with nothing recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypedDict

import pytest

from client.laptop import Laptop
from core import events as ev
from core.case import fold
from core.visibility import department_view
from tovholder.__main__ import main

from .conftest import PASSPHRASE, Server
from .test_sync import sync


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """Run a command with `--json`; its answer, a JSON object."""
    assert main([*argv, "--json"]) == 0
    answer: dict[str, Any] = json.loads(capsys.readouterr().out)
    return answer


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command that must fail; its error as one line of words."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    message = " ".join(captured.err.split())
    assert message.startswith("error: ")
    return message


class Family(TypedDict):
    """The `client --data` arguments of the laptop, and the ids of the family's case."""

    c: list[str]
    case: str
    parent: str
    child: str
    goal: str


@pytest.fixture
def family(
    make_laptop: Callable[..., Laptop],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Family:
    """A family case led by children & family, with a parent, a child of 12 and a goal."""
    make_laptop("a", department="children-family", role="caseworker").close()
    monkeypatch.setenv("TOVHOLDER_PASSPHRASE", PASSPHRASE)
    c = ["client", "--data", str(tmp_path / "a")]
    case = run(capsys, *c, "case", "open", "--kind", "family", "--lead", "children-family")["case"]
    parent = run(capsys, *c, "person", "add", case, "--role", "parent", "--name", "Mona Berg")["person"]
    child = run(capsys, *c, "person", "add", case, "--role", "child", "--name", "Sara", "--birth-date", "2014-03-01")[
        "person"
    ]
    for dept in ("children-disability", "school", "jobcenter"):
        run(capsys, *c, "team", "add", case, "--department", dept)
    goal = run(
        capsys,
        *c,
        "goal",
        "add",
        case,
        "--person",
        child,
        "--text",
        "Go to school every day",
        "--owner",
        "children-family",
    )["goal"]
    return {"c": c, "case": case, "parent": parent, "child": child, "goal": goal}


def count(capsys: pytest.CaptureFixture[str], c: list[str], case: str) -> int:
    return len(run(capsys, *c, "case", "show", case)["events"])


def test_every_person_recorded_event_has_a_command_that_prints_its_ids(
    family: Family, capsys: pytest.CaptureFixture[str]
) -> None:
    c, case, parent, child, goal = family["c"], family["case"], family["parent"], family["child"], family["goal"]
    before = count(capsys, c, case)

    made = run(capsys, *c, "person", "correct", case, child, "--name", "Sara Berg", "--birth-date", "2014-03-02")
    assert made["person"] == child and made["event"] and made["case"] == case
    for worker in ("w-jens", "w-ida"):
        run(capsys, *c, "team", "add", case, "--department", "jobcenter", "--worker", worker)
    run(capsys, *c, "team", "leave", case, "--department", "jobcenter", "--worker", "w-jens")
    assert "jobcenter" in run(capsys, *c, "case", "show", case)["team"]
    run(capsys, *c, "team", "leave", case, "--department", "jobcenter")

    ssd = run(
        capsys,
        *c,
        "meeting",
        "record",
        case,
        "--kind",
        "ssd",
        "--participants",
        "children-family,school",
    )["meeting"]
    shares = [
        run(
            capsys,
            *c,
            "share",
            "record",
            case,
            "--basis",
            "serviceloven-49a",
            "--to",
            "school",
            "--categories",
            "family,education",
            "--reason",
            "Worried about absence",
            "--meeting",
            ssd,
            "--person",
            child,
        ),
        run(
            capsys,
            *c,
            "share",
            "record",
            case,
            "--basis",
            "retsplejeloven-115",
            "--to",
            "school",
            "--categories",
            "family",
            "--reason",
            "SSP: prevent crime",
            "--purpose",
            "prevention",
        ),
        run(
            capsys,
            *c,
            "share",
            "record",
            case,
            "--basis",
            "forvaltningsloven-28",
            "--to",
            "children-disability",
            "--categories",
            "health",
            "--reason",
            "Needed for the disability assessment",
        ),
    ]
    assert all(s["share"] and s["event"] for s in shares)

    assessment = run(
        capsys,
        *c,
        "assessment",
        "record",
        case,
        "--development",
        "Reads below age",
        "--parenting-capacity",
        "Caring, overwhelmed",
        "--family-environment",
        "Small flat",
        "--summary",
        "Needs support at school",
    )
    assert assessment["event"] and assessment["case"] == case

    activity = run(
        capsys,
        *c,
        "activity",
        "add",
        case,
        "--goal",
        goal,
        "--department",
        "children-disability",
        "--kind",
        "support person",
        "--starts",
        "2026-02-01",
        "--ends",
        "2026-08-01",
    )["activity"]
    run(capsys, *c, "meeting", "record", case, "--kind", "analysis", "--participants", "children-disability")
    started = run(capsys, *c, "activity", "start", case, activity, "--on", date.today().isoformat())
    assert started["activity"] == activity and started["event"]
    financed = run(
        capsys,
        *c,
        "financing",
        "agree",
        case,
        activity,
        "--shares",
        "children-family=60,children-disability=40",
        "--paid-by",
        "children-family",
    )
    assert financed["activity"] == activity
    run(capsys, *c, "activity", "end", case, activity)

    referral = run(capsys, *c, "referral", "make", case, "--to", "school", "--reason", "PPR", "--person", child)[
        "referral"
    ]
    outcome = run(capsys, *c, "referral", "outcome", case, referral, "--not-arrived", "--note", "Ill that day")
    assert outcome["referral"] == referral
    assert run(capsys, *c, "goal", "close", case, goal, "--reason", "reached")["goal"] == goal

    request = run(capsys, *c, "erasure", "request", case, "--requested-by", parent, "--reason", "moving")["request"]
    decided = run(
        capsys,
        *c,
        "erasure",
        "decide",
        case,
        request,
        "--refuse",
        "--legal-basis",
        "arkivloven § 5",
        "--reason",
        "The municipality must keep its case records",
    )
    assert decided["request"] == request
    run(capsys, *c, "case", "close", case, "--reason", "goals reached")
    run(capsys, *c, "case", "reopen", case, "--reason", "new concern")

    shown = run(capsys, *c, "case", "show", case)
    assert len(shown["events"]) == before + 22 and shown["status"] == "open"
    assert {p["person"]: p["name"] for p in shown["persons"]}[child] == "Sara Berg"
    assert shown["team"] == ["children-disability", "children-family", "school"]
    assert [s["basis"] for s in shown["shares"]] == [
        "serviceloven-49a",
        "retsplejeloven-115",
        "forvaltningsloven-28",
    ]
    assert shown["shares"][0]["meeting"] == ssd and shown["shares"][1]["purpose"] == "prevention"
    assert shown["assessments"][0]["summary"] == "Needs support at school"
    assert shown["assessments"][0]["persons"] == [child]  # the case's children by default
    [row] = shown["activities"]
    assert row["activity"] == activity and row["state"] == "ended" and row["started_on"] == date.today().isoformat()
    assert row["financing"] == {
        "shares": {"children-family": 60, "children-disability": 40},
        "granted_by": "children-disability",
        "paid_by": "children-family",
    }
    assert shown["referrals"][0]["outcome"] == "not arrived"
    assert shown["goals"][0]["closed"] is True
    [erasure] = shown["erasure_requests"]
    assert erasure["request"] == request and erasure["decision"] == "refused"
    assert erasure["legal_basis"] == "arkivloven § 5"
    assert all(e["pending"] for e in shown["events"])

    with Laptop.open(Path(c[2]), PASSPHRASE) as laptop:
        view = laptop.view(case)
    by_type = {e.header.topic: e for e, _ in view.events}
    assert by_type["activity.started"].persons == (child,)  # the goal's person
    assert by_type["financing.agreed"].persons == (child,)
    assert by_type["erasure.decided"].persons == (parent,)  # the request's person
    assert by_type["referral.outcome"].persons == (child,)
    corrected = by_type["person.corrected"]
    assert isinstance(corrected, ev.PersonCorrected) and corrected.birth_date is not None
    assert corrected.birth_date.isoformat() == "2014-03-02"

    main([*c, "case", "show", case])  # the tables for people print too
    printed = capsys.readouterr().out
    for title in ("shares", "activities", "assessments", "erasure requests"):
        assert title in printed


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (
            (
                "share",
                "record",
                "{case}",
                "--basis",
                "retsplejeloven-115",
                "--to",
                "school",
                "--categories",
                "family",
                "--reason",
                "SSP",
                "--purpose",
                "investigation",
            ),
            "never for investigation",
        ),
        (
            (
                "share",
                "record",
                "{case}",
                "--basis",
                "serviceloven-49a",
                "--to",
                "school",
                "--categories",
                "family",
                "--reason",
                "Worried",
            ),
            "tied to an SSD meeting",
        ),
        (
            (
                "share",
                "record",
                "{case}",
                "--basis",
                "forvaltningsloven-28",
                "--to",
                "housing-social",
                "--categories",
                "family",
                "--reason",
                "Eviction risk",
            ),
            "not a public authority",
        ),
        (("conflict", "resolve", "{case}", "no-such-conflict", "--resolution", "Keep both"), "is not part of case"),
        (("activity", "start", "{case}", "{activity}"), "analysis meeting has been held"),
        (("activity", "end", "{case}", "{activity}"), "is not running"),
        (
            (
                "activity",
                "add",
                "{case}",
                "--goal",
                "{goal}",
                "--department",
                "school",
                "--kind",
                "x",
                "--starts",
                "2026-13-01",
            ),
            "--starts must be a date written YYYY-MM-DD or DD-MM-YYYY",
        ),
        (
            (
                "activity",
                "add",
                "{case}",
                "--goal",
                "{goal}",
                "--department",
                "school",
                "--kind",
                "x",
                "--starts",
                "2026-05-01",
                "--ends",
                "2026-04-01",
            ),
            "cannot end",
        ),
        (
            ("activity", "add", "{case}", "--goal", "nope", "--department", "school", "--kind", "x"),
            "goal nope is not part of case",
        ),
        (("financing", "agree", "{case}", "{activity}", "--shares", "school=50,children-family=40"), "add up to 100"),
        (("financing", "agree", "{case}", "{activity}", "--shares", "school:100"), "DEPT=PCT"),
        (("financing", "agree", "{case}", "{activity}", "--shares", "nowhere=100"), "unknown department"),
        (("person", "correct", "{case}", "{child}"), "say what to correct"),
        (("person", "correct", "{case}", "nobody", "--name", "X"), "person nobody is not part of case"),
        (("person", "correct", "{case}", "{child}", "--birth-date", "March 2014"), "--birth-date must be a date"),
        (
            ("erasure", "decide", "{case}", "no-such-request", "--grant", "--legal-basis", "GDPR art. 17"),
            "erasure request no-such-request is not part of case",
        ),
        (("erasure", "request", "{case}", "--requested-by", "nobody"), "person nobody is not part of case"),
        (("referral", "outcome", "{case}", "no-such-referral", "--arrived"), "referral no-such-referral"),
        (("case", "reopen", "{case}"), "is not closed"),
        (("team", "leave", "{case}", "--department", "children-family"), "lead department cannot leave"),
        (("team", "leave", "{case}", "--department", "school", "--worker", "w-nobody"), "is not on department"),
        (("team", "leave", "{case}", "--department", "health"), "not a party"),
        (
            (
                "assessment",
                "record",
                "{case}",
                "--development",
                " ",
                "--parenting-capacity",
                "x",
                "--family-environment",
                "x",
                "--summary",
                "x",
            ),
            "all three ICS areas",
        ),
    ],
)
def test_a_broken_rule_is_one_sentence_and_records_nothing(
    family: Family, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], sentence: str
) -> None:
    c, case = family["c"], family["case"]
    activity = run(
        capsys,
        *c,
        "activity",
        "add",
        case,
        "--goal",
        family["goal"],
        "--department",
        "children-disability",
        "--kind",
        "support person",
    )["activity"]
    before = run(capsys, *c, "status")["pending"]
    names = {"case": case, "activity": activity, "goal": family["goal"], "child": family["child"]}
    message = refused(capsys, *c, *(a.format(**names) for a in argv))
    assert sentence in message
    assert "Sara" not in message and "Mona" not in message  # no names leak
    assert run(capsys, *c, "status")["pending"] == before


def test_a_closed_case_takes_only_a_reopening_and_goal_and_decision_are_refused_twice(
    family: Family, capsys: pytest.CaptureFixture[str]
) -> None:
    c, case, parent, goal = family["c"], family["case"], family["parent"], family["goal"]
    run(capsys, *c, "goal", "close", case, goal)
    assert "is closed" in refused(capsys, *c, "goal", "close", case, goal)
    request = run(capsys, *c, "erasure", "request", case, "--requested-by", parent)["request"]
    run(capsys, *c, "case", "close", case)
    assert "reopen it before recording" in refused(
        capsys, *c, "goal", "add", case, "--person", parent, "--text", "x", "--owner", "school"
    )
    # Erasure is decided also on a closed case, once.
    run(capsys, *c, "erasure", "decide", case, request, "--grant", "--legal-basis", "GDPR art. 17")
    assert "already decided" in refused(
        capsys, *c, "erasure", "decide", case, request, "--refuse", "--legal-basis", "arkivloven § 5"
    )
    assert "is closed" in refused(capsys, *c, "case", "close", case)
    run(capsys, *c, "case", "reopen", case)
    assert run(capsys, *c, "case", "show", case)["status"] == "open"


# --- through a server: a flagged conflict resolved from the laptop, everything synced ----


def test_the_coordinator_resolves_a_flagged_conflict_and_every_new_event_syncs(
    server: Server,
    enrolled: Callable[..., Laptop],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOVHOLDER_PASSPHRASE", PASSPHRASE)
    office = enrolled("office", "adult-social", "coordinator")
    field = enrolled("field", "jobcenter")
    o = ["client", "--data", str(tmp_path / "office")]
    f = ["client", "--data", str(tmp_path / "field")]
    case = run(capsys, *o, "case", "open", "--kind", "citizen", "--lead", "adult-social")["case"]
    person = run(capsys, *o, "person", "add", case, "--role", "citizen", "--name", "Kim Berg")["person"]
    run(capsys, *o, "team", "add", case, "--department", "jobcenter")
    # The field laptop holds what the jobcenter may see: the citizen consents to the plan.
    until = (date.today() + timedelta(days=300)).isoformat()
    consent = ("--subject", person, "--given-by", person, "--to", "jobcenter", "--until", until)
    run(
        capsys,
        *o,
        "consent",
        "give",
        case,
        *consent,
        "--categories",
        "identity,plan",
        "--purpose",
        "a joint housing plan",
    )
    run(capsys, *o, "coordinator", "assign", case, "--worker", "w-office")
    goal = run(capsys, *o, "goal", "add", case, "--person", person, "--text", "A home", "--owner", "adult-social")[
        "goal"
    ]
    sync(office, server)
    server.ctx.caseload.assign(case, "w-field")
    sync(field, server)

    # Both revise the same goal from the same base while offline: the server flags it.
    run(capsys, *o, "goal", "revise", case, goal, "--text", "A home of my own")
    run(capsys, *f, "goal", "revise", case, goal, "--text", "A home and a job plan")
    sync(office, server)
    assert len(sync(field, server).conflicts) == 1
    sync(office, server)
    shown = run(capsys, *o, "case", "show", case)
    [conflict] = shown["conflicts"]
    assert conflict["status"] == "open" and conflict["resolved"] is False

    resolved = run(
        capsys, *o, "conflict", "resolve", case, conflict["conflict"], "--resolution", "Keep the job plan wording"
    )
    assert resolved["conflict"] == conflict["conflict"] and resolved["event"]
    assert "already resolved" in refused(
        capsys, *o, "conflict", "resolve", case, conflict["conflict"], "--resolution", "Again"
    )

    # The rest of the new commands, recorded offline by the coordinator, then synced.
    run(capsys, *o, "person", "correct", case, person, "--name", "Kim Bergh")
    run(
        capsys,
        *o,
        "share",
        "record",
        case,
        "--basis",
        "forvaltningsloven-28",
        "--to",
        "jobcenter",
        "--categories",
        "plan",
        "--reason",
        "Needed for the job plan decision",
    )
    activity = run(
        capsys, *o, "activity", "add", case, "--goal", goal, "--department", "jobcenter", "--kind", "mentor"
    )["activity"]
    # The case is led by a disability-model department: its measures wait for the analysis meeting.
    run(capsys, *o, "meeting", "record", case, "--kind", "analysis", "--participants", "adult-social,jobcenter")
    run(capsys, *o, "activity", "start", case, activity)
    run(capsys, *o, "financing", "agree", case, activity, "--shares", "jobcenter=100")
    run(capsys, *o, "activity", "end", case, activity)
    run(capsys, *o, "goal", "close", case, goal)
    request = run(capsys, *o, "erasure", "request", case, "--requested-by", person)["request"]
    run(capsys, *o, "erasure", "decide", case, request, "--refuse", "--legal-basis", "arkivloven § 5")
    run(capsys, *o, "team", "leave", case, "--department", "jobcenter")
    run(capsys, *o, "case", "close", case)
    run(capsys, *o, "case", "reopen", case)
    report = sync(office, server)
    assert report.pushed == 14 and not report.rejected
    sync(office, server)

    server_topics = [server.ctx.log.open(le).header.topic for le in server.ctx.log.case_events(case)]
    for topic in (
        "conflict.resolved",
        "person.corrected",
        "share.legal-basis",
        "activity.added",
        "activity.started",
        "financing.agreed",
        "activity.ended",
        "goal.closed",
        "erasure.requested",
        "erasure.decided",
        "team.left",
        "case.closed",
        "case.reopened",
    ):
        assert topic in server_topics
    shown = run(capsys, *o, "case", "show", case)
    assert shown["pending"] == 0 and shown["conflicts"][0]["status"] == "resolved"
    assert shown["conflicts"][0]["resolution"] == "Keep the job plan wording"
    # The office laptop shows what adult-social may see: its own, and what consents cover.
    logged = server.ctx.log.case_events(case)
    events = [server.ctx.log.open(le) for le in logged]
    seen = department_view(fold(case, events), events, "adult-social", server.ctx.store.directory(), ev.utcnow())
    assert seen is not None and len(seen) < len(logged)
    assert [e["event"] for e in shown["events"]] == [s.event.event_id for s in seen]
