"""Findings 4, 5 and 6 of the field trial, played through real laptops and a real server:
departments flag each other's work as clashing and the coordinator settles it; the law's
meetings at 16, 17½ and 18 come due and overdue, with aftercare after 18; challenge
categories are one list in Danish and English; a consent is withdrawn for one recipient
or one category in one step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core import events as ev

from .conftest import Server, Staff, add_worker, admin, client, enroll, laptop_of, sync, tovholder

pytestmark = pytest.mark.slow


def born(today: date, years: int, days: int = 0) -> str:
    """A birth date that makes a person `years` old today, `days` past that birthday."""
    day = today - timedelta(days=days)
    try:
        return day.replace(year=day.year - years).isoformat()
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28).isoformat()


def refused(folder: Path, env: dict[str, str], *argv: str) -> str:
    """Run a laptop command that must be refused; its error text."""
    done = tovholder("client", "--data", str(folder), *argv, env=env, check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    return done.stderr


def family(folder: Path, env: dict[str, str], lead: str, young_age: int, days: int = 0) -> tuple[str, str]:
    """A family case led by `lead` with one young person of `young_age`; (case, person)."""
    case = client(folder, env, "case", "open", "--kind", "family", "--lead", lead)["case"]
    today = datetime.now(UTC).date()
    young = client(
        folder, env, "person", "add", case, "--role", "child", "--name", "A young person",
        "--birth-date", born(today, young_age, days),
    )["person"]  # fmt: skip
    return case, young


def test_a_jobcenter_worker_flags_a_clash_and_only_the_coordinator_resolves_it(
    server: Server, env: dict[str, str], tmp_path: Path, staff: Staff
) -> None:
    social, job = tmp_path / "adult-social", tmp_path / "jobcenter"
    social_token = enroll(server, env, social, "w-sara", "adult-social", "coordinator")
    job_token = enroll(server, env, job, "w-jens", "jobcenter")
    case = client(social, env, "case", "open", "--kind", "citizen", "--lead", "adult-social")["case"]
    person = client(social, env, "person", "add", case, "--role", "citizen", "--name", "N N")["person"]
    client(social, env, "coordinator", "assign", case, "--worker", "w-sara")
    client(social, env, "team", "add", case, "--department", "jobcenter")
    until = (datetime.now(UTC).date() + timedelta(days=200)).isoformat()
    client(
        social, env, "consent", "give", case, "--subject", person, "--given-by", person, "--to", "jobcenter",
        "--categories", "plan", "--purpose", "One plan for work and treatment", "--until", until,
    )  # fmt: skip
    treatment = client(
        social, env, "goal", "add", case, "--person", person, "--text", "Treatment course", "--owner", "adult-social"
    )["goal"]
    client(social, env, "sync")
    admin(server, "case", "assign", case, "--worker", "w-jens")
    client(job, env, "sync")
    activation = client(
        job, env, "goal", "add", case, "--person", person, "--text", "Activation in 4 weeks", "--owner", "jobcenter"
    )["goal"]

    clash = client(
        job, env, "clash", "flag", case, "--between", f"{activation},{treatment}",
        "--reason", "The activation deadline falls in the treatment course",
    )["clash"]  # fmt: skip
    assert [c["clash"] for c in client(job, env, "clash", "list")] == [clash]
    client(job, env, "sync")

    # Both departments see it listed for the next status meeting, over HTTP.
    for token, dept in ((social_token, "adult-social"), (job_token, "jobcenter")):
        listed = staff.get(token, f"/v1/departments/{dept}/clashes")["clashes"]
        assert [(c["clash"], c["reason"]) for c in listed] == [
            (clash, "The activation deadline falls in the treatment course")
        ]
    staff.get(job_token, "/v1/departments/adult-social/clashes", status=403)

    # The jobcenter cannot settle it (its laptop's resolution is refused at the sync); the
    # coordinator does, and it leaves the lists.
    tovholder("client", "--data", str(job), "clash", "resolve", case, clash, "--resolution", "x", env=env, check=False)
    tovholder("client", "--data", str(job), "sync", env=env, check=False)
    assert [c["clash"] for c in staff.get(job_token, "/v1/departments/jobcenter/clashes")["clashes"]] == [clash]
    client(social, env, "sync")
    assert [c["clash"] for c in client(social, env, "clash", "list")] == [clash]
    client(social, env, "clash", "resolve", case, clash, "--resolution", "Activation moved after the course")
    client(social, env, "sync")
    assert client(social, env, "clash", "list") == []
    assert staff.get(social_token, "/v1/departments/adult-social/clashes")["clashes"] == []
    assert staff.get(job_token, "/v1/departments/jobcenter/clashes")["clashes"] == []


def test_a_challenge_typed_in_danish_is_stored_by_its_name_and_free_text_is_refused_with_the_list(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    drop_in = tmp_path / "drop-in"
    enroll(server, env, drop_in, "w-dorte", "drop-in", "outreach")
    client(drop_in, env, "sync")  # the server's word lists reach the laptop
    case = client(drop_in, env, "case", "open", "--kind", "citizen", "--lead", "drop-in")["case"]
    for kind, challenges in (("værested", "økonomi,Bolig"), ("drop-in", "finances,housing")):
        client(drop_in, env, "contact", "record", case, "--kind", kind, "--challenges", challenges)
    error = refused(drop_in, env, "contact", "record", case, "--kind", "drop-in", "--challenges", "money worries")
    assert "finances" in error and "housing" in error and "money worries" not in error
    contacts = client(drop_in, env, "case", "show", case)["contacts"]
    assert [(c["kind"], c["challenges"]) for c in contacts] == [("drop-in", ["finances", "housing"])] * 2


def test_a_consent_withdrawn_for_one_recipient_keeps_showing_the_others(
    server: Server, env: dict[str, str], tmp_path: Path, staff: Staff
) -> None:
    social, job, school = tmp_path / "adult-social", tmp_path / "jobcenter", tmp_path / "school"
    enroll(server, env, social, "w-sara", "adult-social")
    job_token = enroll(server, env, job, "w-jens", "jobcenter")
    school_token = enroll(server, env, school, "w-sofie", "school")
    case = client(social, env, "case", "open", "--kind", "citizen", "--lead", "adult-social")["case"]
    person = client(social, env, "person", "add", case, "--role", "citizen", "--name", "N N")["person"]
    for dept in ("jobcenter", "school"):
        client(social, env, "team", "add", case, "--department", dept)
    until = (datetime.now(UTC).date() + timedelta(days=200)).isoformat()
    consent = client(
        social, env, "consent", "give", case, "--subject", person, "--given-by", person, "--to", "jobcenter,school",
        "--categories", "plan,uddannelse", "--purpose", "The shared plan for school and work", "--until", until,
    )["consent"]  # fmt: skip
    goal = client(social, env, "goal", "add", case, "--person", person, "--text", "Back to school", "--owner", "school")
    assert "has no recipient health" in refused(social, env, "consent", "withdraw", case, consent, "--recipient",
                                                 "health")  # fmt: skip
    client(social, env, "consent", "withdraw", case, consent, "--recipient", "jobcenter")
    client(social, env, "sync")

    def seen(token: str, dept: str) -> list[str]:
        return [e["event"] for e in staff.case(token, dept, case)["events"]]

    assert goal["event"] not in seen(job_token, "jobcenter")
    assert goal["event"] in seen(school_token, "school")
    consents: list[dict[str, Any]] = staff.case(school_token, "school", case)["consents"]
    assert [(c["recipients"], c["categories"], c["in_force"]) for c in consents] == [
        (["school"], ["plan", "education"], True)
    ]


def test_the_way_to_18_lists_meetings_due_and_overdue_then_aftercare_takes_over(
    server: Server, env: dict[str, str], tmp_path: Path, staff: Staff
) -> None:
    """Scenario 4 with its deadlines: a young person of 17 years and 9½ months in a
    children & family case: the meeting at 16 was held, the one at 17½ is overdue, the one
    at 18 is due within 90 days and the placement ending at 18 is flagged; at 18 the
    parents' consent lapses, the young person's own counts, and aftercare has its plan."""
    cf, adult = tmp_path / "children-family", tmp_path / "adult-social"
    cf_token = enroll(server, env, cf, "w-mette", "children-family", "coordinator")
    adult_token = enroll(server, env, adult, "w-ulla", "adult-social")
    case, young = family(cf, env, "children-family", 17, days=290)
    mother = client(cf, env, "person", "add", case, "--role", "parent", "--name", "The mother")["person"]
    client(cf, env, "coordinator", "assign", case, "--worker", "w-mette")
    client(cf, env, "team", "add", case, "--department", "adult-social")
    goal = client(cf, env, "goal", "add", case, "--person", young, "--text", "Placement", "--owner", "children-family")
    placement = client(
        cf,
        env,
        "activity",
        "add",
        case,
        "--goal",
        goal["goal"],
        "--department",
        "children-family",
        "--kind",
        "foster-care",
    )["activity"]
    meeting = client(
        cf, env, "meeting", "record", case, "--kind", "statutory-16", "--person", young, "--present", young,
        "--companion", "Her aunt", "--expert", "PPR psychologist", "--chair", "w-mette", "--minute-taker", "w-mette",
        "--checked", "young-person-heard,education-or-work", "--participants", "children-family",
    )  # fmt: skip
    assert "checklist" in refused(cf, env, "meeting", "record", case, "--kind", "statutory-18", "--checked", "lunch")
    assert "not part of case" in refused(cf, env, "meeting", "record", case, "--kind", "status", "--present", case)

    listed = client(cf, env, "deadlines")
    assert [(d["what"], d["status"]) for d in listed] == [
        ("statutory-17.5", "overdue"),
        ("ends-at-18", "ending"),
        ("statutory-18", "due"),
    ]
    assert listed[1]["activity"] == placement and {d["coordinator"] for d in listed} == {"w-mette"}
    assert client(cf, env, "deadlines", "--coordinator", "w-someone-else") == []
    client(cf, env, "sync")
    over_http = staff.get(cf_token, "/v1/departments/children-family/deadlines")["deadlines"]
    assert [(d["case"], d["what"], d["status"]) for d in over_http] == [(case, d["what"], d["status"]) for d in listed]
    stored = [e for e in staff.case(cf_token, "children-family", case)["events"] if e["event"] == meeting["event"]]
    assert stored[0]["payload"]["companions"] == ["Her aunt"]
    assert stored[0]["payload"]["checklist"] == ["young-person-heard", "education-or-work"]
    assert "aftercare starts when the young person has turned 18" in refused(
        cf, env, "aftercare", "start", case, "--person", young, "--until", "2099-01-01"
    )
    del mother, adult_token


def test_aftercare_starts_at_18_under_the_young_persons_own_consent_with_its_own_plan(
    server: Server, env: dict[str, str], tmp_path: Path, staff: Staff
) -> None:
    cf, adult = tmp_path / "children-family", tmp_path / "adult-social"
    cf_token = enroll(server, env, cf, "w-mette", "children-family", "coordinator")
    adult_token = enroll(server, env, adult, "w-ulla", "adult-social")
    today = datetime.now(UTC).date()
    case, young = family(cf, env, "children-family", 18, days=10)
    client(cf, env, "coordinator", "assign", case, "--worker", "w-mette")
    client(cf, env, "team", "add", case, "--department", "adult-social")
    assert "aftercare plan" in refused(cf, env, "goal", "add", case, "--person", young, "--text", "Own flat",
                                       "--owner", "children-family", "--aftercare")  # fmt: skip
    until = born(today, -4)  # four years ahead: the young person is 22 then
    client(cf, env, "aftercare", "start", case, "--person", young, "--until", until)
    aftercare = client(cf, env, "goal", "add", case, "--person", young, "--text", "Own flat",
                       "--owner", "children-family", "--aftercare")  # fmt: skip
    client(
        cf, env, "consent", "give", case, "--subject", young, "--given-by", young, "--to", "adult-social",
        "--categories", "plan", "--purpose", "Aftercare with adult services", "--until",
        (today + timedelta(days=300)).isoformat(),
    )  # fmt: skip
    client(cf, env, "sync")
    # At 18 no statutory meeting is due any longer but the one at 18 itself, overdue.
    assert [d["what"] for d in client(cf, env, "deadlines")] == ["statutory-16", "statutory-17.5", "statutory-18"]
    shown = staff.case(adult_token, "adult-social", case)
    assert [(g["goal"], g["phase"]) for g in shown["plan"]] == [(aftercare["goal"], "aftercare")]
    assert staff.case(cf_token, "children-family", case)["aftercare"] == [{"person": young, "until": until}]


def test_the_parents_consent_lapses_at_18_and_the_young_persons_own_consent_counts_from_then(
    server: Server, env: dict[str, str], tmp_path: Path, staff: Staff
) -> None:
    """Scenario 4 at 18: the mother alone consented when her son was 14 (his laptop's
    clock then). At 18 it is no longer in force and the adult services see nothing under it
    (as after a withdrawal); the young person's own consent shows them the contacts again."""
    add_worker(server, "w-mette", "children-family", "coordinator")
    adult_token = add_worker(server, "w-ulla", "adult-social")
    now = datetime.now(UTC)
    then = now - timedelta(days=4 * 365 + 30)  # the son was 14 years and some months old
    with laptop_of(server, tmp_path / "cf", "w-mette") as laptop:
        laptop.clock = lambda: then
        case = laptop.open_case("family", "children-family").case_id
        son, mother = ev.new_id(), ev.new_id()
        laptop.record(case, ev.PersonAdded, person_id=son, role="child", name="The son",
                      birth_date=date.fromisoformat(born(now.date(), 18, days=5)), persons=(son,))  # fmt: skip
        laptop.record(case, ev.PersonAdded, person_id=mother, role="parent", name="The mother", persons=(mother,))
        laptop.record(case, ev.TeamMemberJoined, member_department="adult-social")
        parents = laptop.record(
            case, ev.ConsentGiven, consent_id=ev.new_id(), subject=son, given_by=(mother,),
            recipients=("adult-social",), consent_categories=("contact",), purpose="help after school",
            valid_until=now.date() + timedelta(days=365), child_view="he agrees", persons=(son,),
        )  # fmt: skip
        before = laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="home-visit",
                               note="talked about school", persons=(son,))  # fmt: skip
        laptop.clock = lambda: datetime.now(UTC)
        after = laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="home-visit",
                              note="talked about a flat", persons=(son,))  # fmt: skip
        sync(laptop)
        seen = staff.case(adult_token, "adult-social", case)
        assert {c["consent"]: c["in_force"] for c in seen["consents"]} == {parents.consent_id: False}
        shown = {e["event"] for e in seen["events"]}
        assert before.event_id not in shown and after.event_id not in shown  # as withdrawn: from then on

        own = laptop.record(
            case, ev.ConsentGiven, consent_id=ev.new_id(), subject=son, given_by=(son,),
            recipients=("adult-social",), consent_categories=("contact",), purpose="aftercare with adult services",
            valid_until=now.date() + timedelta(days=300), persons=(son,),
        )  # fmt: skip
        sync(laptop)
    seen = staff.case(adult_token, "adult-social", case)
    assert {c["consent"]: c["in_force"] for c in seen["consents"]} == {parents.consent_id: False, own.consent_id: True}
    assert {before.event_id, after.event_id} <= {e["event"] for e in seen["events"]}
