"""Scenarios 1, 3 and 4 of docs/domain.md over HTTP, against a real server on loopback.

Every record is made by a real field laptop (`tovholder client ...` with the worker's
passphrase in the environment) of a worker of the department concerned, and synced;
every read is a department's or an auditor's GET with a staff token. What a department
is shown is compared by event id with what the test recorded, so a leak (one event too
many) and a loss (one too few) both fail:

1. Refugee family: six departments are parties, consent covers jobcenter, school and
   children & family only. Health (a party without consent) is shown the case with no
   events; benefits sees only the decision it recorded; the auditor's replay shows each
   event with the consent that allowed it.
2. Withdrawal (scenario 3): after the withdrawal the jobcenter sees none of revisions
   1-3 nor anything the consent covered; a replay as of a moment between the two syncs
   (the server's receipt times) shows exactly what the jobcenter was shown then.
3. Turning 18 (scenario 4): the statutory meetings are held, the parents can no longer
   consent for the young person, the case is transferred to adult services, and the young
   person's own consent shows adult services the whole history it covers.

Each test ends with the access log: every department read it made, and no other.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    Server,
    Staff,
    add_worker,
    admin,
    call,
    client,
    each,
    enroll,
    laptop_copy,
    share_copy,
    tovholder,
)

pytestmark = pytest.mark.slow

CATEGORIES = "identity,contact,plan,family,education,employment"


def born(today: date, years: int, days: int = 40) -> str:
    """A birth date `years` (and `days`) before today: that person is `years` old today."""
    day = today - timedelta(days=days)
    try:
        return day.replace(year=day.year - years).isoformat()
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28).isoformat()


def auditor(server: Server) -> str:
    """An internal-audit department and an auditor's staff token."""
    admin(server, "department", "add", "internal-audit", "--name", "Intern revision")
    return add_worker(server, "w-audit", "internal-audit", "auditor")


def ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["event"] for e in events]


def bases(events: list[dict[str, Any]]) -> dict[str, str]:
    return {e["event"]: e["basis"] for e in events}


def assert_access_log(staff: Staff, token: str, case: str) -> None:
    """The access log lists every department read of the case the test made, and no more."""
    log = staff.get(token, "/v1/audit/access-log", {"case": case})
    reads = [e for e in log["entries"] if e["view"] == "department-case"]
    assert len(reads) == len(staff.reads)
    assert Counter(e["department"] for e in reads) == Counter(staff.reads)
    assert all(e["case"] == case and e["outcome"] == "shown" for e in reads)


def test_refugee_family_each_department_sees_its_own_work_and_what_consent_covers(
    server: Server, env: dict[str, str], tmp_path: Path, staff: Staff
) -> None:
    today = datetime.now(UTC).date()
    field = {
        "children-family": ("w-mette", "coordinator"),
        "jobcenter": ("w-jonas", "caseworker"),
        "school": ("w-sofie", "caseworker"),
        "benefits": ("w-bente", "caseworker"),
    }
    laptops = {dept: tmp_path / dept for dept in field}
    enrolled = each(lambda d: enroll(server, env, laptops[d], field[d][0], d, field[d][1]), field)
    tokens = dict(zip(field, enrolled, strict=True))
    tokens["health"], tokens["youth-guidance"], audit = each(
        call,
        [
            lambda: add_worker(server, "w-hanne", "health"),
            lambda: add_worker(server, "w-ulrik", "youth-guidance"),
            lambda: auditor(server),
        ],
    )

    # The family's coordinator opens the case, adds the family and the team, and records
    # one consent a person, each given as the rules of age require.
    cf = laptops["children-family"]
    made: dict[str, str] = {}

    def rec(folder: Path, label: str, *argv: str, made_key: str = "") -> str:
        out = client(folder, env, *argv)
        made[label] = out["event"]
        return str(out[made_key]) if made_key else str(out["event"])

    opened = client(cf, env, "case", "open", "--kind", "family", "--lead", "children-family")
    case = opened["case"]
    made["opened"] = opened["event"]
    family = {
        "father": ("parent", 41),
        "mother": ("parent", 38),
        "child8": ("child", 8),
        "child12": ("child", 12),
        "child16": ("child", 16),
    }
    person: dict[str, str] = {}
    for label, (role, age) in family.items():
        person[label] = rec(
            cf,
            label,
            "person",
            "add",
            case,
            "--role",
            role,
            "--name",
            f"The {label}",
            "--birth-date",
            born(today, age),
            made_key="person",
        )
    rec(cf, "coordinator", "coordinator", "assign", case, "--worker", "w-mette")
    for dept in ("jobcenter", "benefits", "school", "health", "youth-guidance"):
        rec(cf, f"team-{dept}", "team", "add", case, "--department", dept)
    given_by = {
        "father": ["father"],
        "mother": ["mother"],
        "child8": ["father"],
        "child12": ["mother"],
        "child16": ["mother", "child16"],
    }
    consent_of: dict[str, str] = {}
    for label, givers in given_by.items():
        view = ["--child-view", "Wants to stay in the same class"] if label == "child12" else []
        consent_of[person[label]] = rec(
            cf,
            f"consent-{label}",
            "consent",
            "give",
            case,
            "--subject",
            person[label],
            "--given-by",
            ",".join(person[g] for g in givers),
            "--to",
            "jobcenter,school,children-family",
            "--categories",
            CATEGORIES,
            "--purpose",
            "One coordinated family plan across job, school and family",
            "--until",
            (today + timedelta(days=300)).isoformat(),
            *view,
            made_key="consent",
        )
    rec(
        cf,
        "visit",
        "contact",
        "record",
        case,
        "--kind",
        "home-visit",
        "--place",
        "home",
        "--person",
        person["father"],
        "--note",
        "First home visit",
    )
    goal = rec(
        cf,
        "goal",
        "goal",
        "add",
        case,
        "--person",
        person["father"],
        "--text",
        "Danish course module 2",
        "--owner",
        "jobcenter",
        made_key="goal",
    )
    rec(
        cf,
        "health-note",
        "contact",
        "record",
        case,
        "--kind",
        "meeting",
        "--categories",
        "health",
        "--person",
        person["mother"],
        "--note",
        "Sleeps badly since the flight",
    )
    client(cf, env, "sync")

    # Jobcenter, school and benefits get the case on their laptops and record their part.
    def field_work(dept: str) -> None:
        admin(server, "case", "assign", case, "--worker", field[dept][0])
        client(laptops[dept], env, "sync")
        if dept == "jobcenter":
            rec(laptops[dept], "progress", "progress", "record", case, goal, "--score", "3", "--note", "4 of 5 days")
        elif dept == "school":
            rec(
                laptops[dept],
                "school-meeting",
                "contact",
                "record",
                case,
                "--kind",
                "meeting",
                "--categories",
                "education",
                "--person",
                person["child8"],
                "--note",
                "Reads well",
            )
        else:
            rec(
                laptops[dept],
                "decision",
                "decision",
                "record",
                case,
                "--legal-basis",
                "aktivloven § 81",
                "--kind",
                "one-off-payment",
                "--considerations",
                "Winter clothing for three children",
                "--facts",
                made["visit"],
                "--explanation",
                "You get a one-off payment for winter clothing",
                "--amount",
                "450000",
                "--person",
                person["mother"],
            )
        client(laptops[dept], env, "sync")

    each(field_work, ["jobcenter", "school", "benefits"])

    # What each department is shown, judged now.
    parties = ("children-family", "jobcenter", "benefits", "school", "health", "youth-guidance")
    views = {dept: staff.case(tokens[dept], dept, case) for dept in parties}
    replay = staff.get(audit, f"/v1/audit/cases/{case}")
    every = ids(replay["events"])
    assert sorted(every) == sorted(made.values())  # everything arrived, nothing else was added
    assert sorted(replay["parties"]) == sorted(parties)

    def expected(*hidden: str) -> list[str]:
        return [e for e in every if e not in {made[h] for h in hidden}]

    # Health and youth guidance are parties without consent: the case, and nothing of it.
    for dept in ("health", "youth-guidance"):
        assert views[dept]["events"] == [] and views[dept]["persons"] == [] and views[dept]["plan"] == []
        assert views[dept]["decisions"] == [] and views[dept]["consents"] == []
    # Benefits sees exactly the decision it recorded itself.
    assert bases(views["benefits"]["events"]) == {made["decision"]: "own"}
    assert [d["payload"]["legal_basis"] for d in views["benefits"]["decisions"]] == ["aktivloven § 81"]
    assert views["benefits"]["persons"] == []
    # The consent's recipients see what it covers: not the health note, not the decision.
    assert ids(views["jobcenter"]["events"]) == expected("health-note", "decision")
    assert ids(views["school"]["events"]) == expected("health-note", "decision")
    assert ids(views["children-family"]["events"]) == expected("decision")  # the health note is its own
    assert bases(views["jobcenter"]["events"])[made["progress"]] == "own"
    assert bases(views["school"]["events"])[made["school-meeting"]] == "own"
    assert bases(views["jobcenter"]["events"])[made["school-meeting"]] == "consent"
    for dept in ("jobcenter", "school"):
        shown = views[dept]
        assert {bases(shown["events"])[made[f"consent-{c}"]] for c in given_by} == {"recipient"}
        assert len(shown["persons"]) == 5 and shown["decisions"] == []
        assert [g["revision"] for g in shown["plan"]] == [1] and shown["plan"][0]["progress"] == [3]

    # The auditor's replay lists each event a department sees with the consent that allowed it.
    consents = {c["consent"]: c for c in replay["consents"]}
    assert set(consents) == set(consent_of.values())
    for dept in parties:
        assert ids(replay["views"][dept]) == ids(views[dept]["events"])
        assert bases(replay["views"][dept]) == bases(views[dept]["events"])
    for dept in ("children-family", "jobcenter", "school"):
        by_consent = [e for e in replay["views"][dept] if e["basis"] == "consent"]
        assert by_consent
        for e in by_consent:
            assert e["grounds"] and all(dept in consents[g]["recipients"] for g in e["grounds"])
            concerned = e["payload"]["persons"]
            if len(concerned) == 1:
                assert e["grounds"] == [consent_of[concerned[0]]]
            else:
                assert set(e["grounds"]) <= set(consent_of.values())

    assert_access_log(staff, audit, case)


def test_withdrawal_hides_what_the_consent_covered_and_replay_shows_the_day_before(
    server: Server, env: dict[str, str], tmp_path: Path, staff: Staff
) -> None:
    today = datetime.now(UTC).date()
    office, job = tmp_path / "office", tmp_path / "jobcenter"
    tokens = each(
        call,
        [
            lambda: enroll(server, env, office, "w-ulla", "adult-social", "coordinator"),
            lambda: enroll(server, env, job, "w-jonas", "jobcenter"),
            lambda: auditor(server),
        ],
    )
    office_token, job_token, audit = tokens

    opened = client(office, env, "case", "open", "--kind", "citizen", "--lead", "adult-social")
    case = opened["case"]
    citizen = client(
        office,
        env,
        "person",
        "add",
        case,
        "--role",
        "citizen",
        "--name",
        "Kim Citizen",
        "--birth-date",
        born(today, 34),
    )["person"]
    client(office, env, "coordinator", "assign", case, "--worker", "w-ulla")
    client(office, env, "team", "add", case, "--department", "jobcenter")
    given = client(
        office,
        env,
        "consent",
        "give",
        case,
        "--subject",
        citizen,
        "--given-by",
        citizen,
        "--to",
        "jobcenter",
        "--categories",
        "identity,contact,plan,employment",
        "--purpose",
        "A job plan that fits the treatment",
        "--until",
        (today + timedelta(days=200)).isoformat(),
    )
    visit = client(office, env, "contact", "record", case, "--kind", "home-visit", "--person", citizen)["event"]
    added = client(office, env, "goal", "add", case, "--person", citizen, "--text", "A job", "--owner", "jobcenter")
    goal = added["goal"]
    rev1 = added["event"]
    rev2 = client(office, env, "goal", "revise", case, goal, "--text", "A part-time job")["event"]
    client(office, env, "sync")

    admin(server, "case", "assign", case, "--worker", "w-jonas")
    client(job, env, "sync")
    own = client(
        job,
        env,
        "contact",
        "record",
        case,
        "--kind",
        "meeting",
        "--categories",
        "employment",
        "--person",
        citizen,
        "--note",
        "Job interview prepared",
    )["event"]
    client(job, env, "sync")

    before = staff.case(job_token, "jobcenter", case)
    assert bases(before["events"])[rev1] == bases(before["events"])[rev2] == "consent"
    assert bases(before["events"])[visit] == "consent" and bases(before["events"])[own] == "own"
    assert [(g["goal"], g["revision"]) for g in before["plan"]] == [(goal, 2)]

    # The citizen withdraws the consent; afterwards the office revises the goal again.
    withdrawn = client(office, env, "consent", "withdraw", case, given["consent"], "--reason", "Asked to stop")
    client(office, env, "sync")
    rev3 = client(office, env, "goal", "revise", case, goal, "--text", "A part-time job near home")["event"]
    client(office, env, "sync")

    after = staff.case(job_token, "jobcenter", case)
    shown = bases(after["events"])
    assert not {rev1, rev2, rev3, visit} & set(shown)
    assert "consent" not in shown.values()
    assert shown == {given["event"]: "recipient", own: "own", withdrawn["event"]: "recipient"}
    assert after["plan"] == [] and after["persons"] == []
    assert [c["in_force"] for c in after["consents"]] == [False]
    office_view = staff.case(office_token, "adult-social", case)
    assert {rev1, rev2, rev3} <= set(ids(office_view["events"]))

    # "The day before": a moment between the two syncs, on the server's receipt times.
    now = staff.get(audit, f"/v1/audit/cases/{case}")
    assert ids(now["views"]["jobcenter"]) == ids(after["events"])
    received = {e["event"]: datetime.fromisoformat(e["received_at"]) for e in now["events"]}
    at = ids(now["events"]).index(withdrawn["event"])
    as_of = max(received[e] for e in ids(now["events"])[:at])
    assert as_of < received[withdrawn["event"]]
    then = staff.get(audit, f"/v1/audit/cases/{case}", {"as_of": as_of.isoformat()})
    assert ids(then["views"]["jobcenter"]) == ids(before["events"])
    assert bases(then["views"]["jobcenter"]) == bases(before["events"])
    assert {rev3, withdrawn["event"]}.isdisjoint(ids(then["events"]))
    assert [c["in_force"] for c in then["consents"]] == [True]

    assert_access_log(staff, audit, case)


def test_turning_18_moves_the_whole_history_to_adult_services_under_the_young_persons_consent(
    server: Server, env: dict[str, str], tmp_path: Path, staff: Staff
) -> None:
    today = datetime.now(UTC).date()
    cf, adult = tmp_path / "children-family", tmp_path / "adult-social"
    cf_token, adult_token, audit = each(
        call,
        [
            lambda: enroll(server, env, cf, "w-mette", "children-family"),
            lambda: enroll(server, env, adult, "w-ulla", "adult-social"),
            lambda: auditor(server),
        ],
    )

    # The placement case of a young person who is 18 today, with the parents.
    opened = client(cf, env, "case", "open", "--kind", "family", "--lead", "children-family")
    case = opened["case"]
    made = {"opened": opened["event"]}
    person: dict[str, str] = {}
    for label, role, age in (("young", "child", 18), ("mother", "parent", 47), ("father", "parent", 50)):
        out = client(
            cf,
            env,
            "person",
            "add",
            case,
            "--role",
            role,
            "--name",
            f"The {label}",
            "--birth-date",
            born(today, age, days=20),
        )
        person[label], made[label] = out["person"], out["event"]
    young = person["young"]
    made["coordinator"] = client(cf, env, "coordinator", "assign", case, "--worker", "w-mette")["event"]
    made["school"] = client(cf, env, "team", "add", case, "--department", "school")["event"]

    # The parents can no longer consent for their 18-year-old: refused on the laptop itself.
    refused = tovholder(
        "client",
        "--data",
        str(cf),
        "consent",
        "give",
        case,
        "--subject",
        young,
        "--given-by",
        f"{person['mother']},{person['father']}",
        "--to",
        "children-family,adult-social",
        "--categories",
        CATEGORIES,
        "--purpose",
        "Support after the placement ends",
        "--until",
        (today + timedelta(days=300)).isoformat(),
        "--json",
        env=env,
        check=False,
    )
    assert refused.returncode != 0 and refused.stdout == ""
    assert "an adult gives their own consent" in refused.stderr and "Traceback" not in refused.stderr

    made["visit"] = client(
        cf,
        env,
        "contact",
        "record",
        case,
        "--kind",
        "home-visit",
        "--categories",
        "family",
        "--person",
        young,
        "--note",
        "Visit at the foster family",
    )["event"]
    made["goal"] = client(
        cf,
        env,
        "goal",
        "add",
        case,
        "--person",
        young,
        "--text",
        "Own flat with support",
        "--owner",
        "children-family",
    )["event"]
    for kind, participants in (
        ("statutory-16", "children-family,school"),
        ("statutory-17.5", "children-family,school,adult-social"),
        ("statutory-18", "children-family,adult-social"),
    ):
        made[kind] = client(
            cf,
            env,
            "meeting",
            "record",
            case,
            "--kind",
            kind,
            "--participants",
            participants,
            "--person",
            young,
            "--minutes",
            f"The {kind} meeting on the way to adult life",
        )["event"]
    made["health-note"] = client(
        cf,
        env,
        "contact",
        "record",
        case,
        "--kind",
        "phone",
        "--categories",
        "health",
        "--person",
        young,
        "--note",
        "Medication reviewed",
    )["event"]
    made["transfer"] = client(
        cf, env, "case", "transfer", case, "--to", "adult-social", "--reason", "turned 18: to adult services"
    )["event"]
    client(cf, env, "sync")
    status = client(cf, env, "status")
    assert status["pending"] == 0 and status["rejected"] == []  # the refused consent never left

    # Adult services, a party since the transfer, gets what its view shows of the case
    # (the rest as placeholders), and the young person's own consent.
    admin(server, "case", "assign", case, "--worker", "w-ulla")
    client(adult, env, "sync")
    assert laptop_copy(adult, case) == share_copy(server, case, "adult-social", "w-ulla")
    own_consent = client(
        adult,
        env,
        "consent",
        "give",
        case,
        "--subject",
        young,
        "--given-by",
        young,
        "--to",
        "adult-social",
        "--categories",
        CATEGORIES,
        "--purpose",
        "Support in adult life after the placement",
        "--until",
        (today + timedelta(days=365)).isoformat(),
    )
    made["own-consent"] = own_consent["event"]
    client(adult, env, "sync")

    replay = staff.get(audit, f"/v1/audit/cases/{case}")
    every = ids(replay["events"])
    assert sorted(every) == sorted(made.values())
    assert replay["lead"] == "adult-social" and "adult-social" in replay["parties"]
    assert [c["consent"] for c in replay["consents"]] == [own_consent["consent"]]

    view = staff.case(adult_token, "adult-social", case)
    assert view["lead"] == "adult-social"
    hidden = {made["mother"], made["father"], made["health-note"]}  # other persons; health is not covered
    assert ids(view["events"]) == [e for e in every if e not in hidden]
    assert {e["basis"] for e in view["events"] if e["event"] != made["own-consent"]} == {"consent"}
    assert bases(view["events"])[made["own-consent"]] == "own"
    assert {tuple(e["grounds"]) for e in view["events"] if e["basis"] == "consent"} == {(own_consent["consent"],)}
    assert [p["person"] for p in view["persons"]] == [young]
    assert [g["text"] for g in view["plan"]] == ["Own flat with support"]
    assert ids(replay["views"]["adult-social"]) == ids(view["events"])

    # Children & family keeps its own records, and nothing of adult services' consent.
    cf_view = staff.case(cf_token, "children-family", case)
    assert set(bases(cf_view["events"]).values()) == {"own"}
    assert ids(cf_view["events"]) == [e for e in every if e != made["own-consent"]]

    assert_access_log(staff, audit, case)
