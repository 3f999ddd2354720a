"""Any sequence of commands that passes the rules, appended to the log and read back,
replays to the same case state, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import events as ev
from core.case import CaseState, fold
from core.errors import CoreError
from core.log import CaseLog
from core.verify import verify
from tests.core.conftest import TODAY, CaseBuilder, Devices, family, worker

MakeLog = Callable[..., CaseLog]
DEPARTMENTS = [
    "children-family",
    "jobcenter",
    "school",
    "health",
    "benefits",
    "children-disability",
]
KINDS = [
    "contact",
    "join",
    "leave",
    "person",
    "goal",
    "revise",
    "close_goal",
    "progress",
    "consent",
    "withdraw",
    "activity",
    "start",
    "meeting",
    "decision",
    "close",
    "reopen",
    "correct",
]

Command = tuple[str, int, int, int]
commands = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 7), st.integers(0, 7), st.integers(-1, 20)),
    max_size=30,
)


def attempt(b: CaseBuilder, command: Command) -> None:
    """Try one command; a rule violation leaves the case as it was and is skipped."""
    kind, i, j, n = command
    dept = DEPARTMENTS[i % len(DEPARTMENTS)]
    persons = list(b.persons.values())
    person = persons[j % len(persons)] if persons else "nobody"
    goals = sorted(b.state.goals)
    goal = goals[j % len(goals)] if goals else "no-goal"
    acts = sorted(b.state.activities)
    consents = sorted(b.state.consents)
    by = worker(dept) if i % 3 == 0 else worker("children-family")
    try:
        if kind == "contact":
            b.rec(
                ev.ContactRecorded,
                by,
                contact_id=ev.new_id(),
                kind="drop-in",
                persons=(person,),
                note=f"note {n}",
            )
        elif kind == "join":
            b.join(dept)
        elif kind == "leave":
            b.rec(ev.TeamMemberLeft, member_department=dept)
        elif kind == "person":
            b.person(f"p{len(persons)}", ["parent", "child", "citizen"][j % 3], max(n, 0))
        elif kind == "goal":
            b.rec(
                ev.GoalAdded,
                by,
                goal_id=ev.new_id(),
                text=f"goal {n}",
                owner=dept,
                persons=(person,),
            )
        elif kind == "revise":
            b.rec(
                ev.GoalRevised,
                by,
                goal_id=goal,
                text=f"rev {n}",
                base_revision=b.state.goals[goal].revision if goal in b.state.goals and n % 2 else max(n % 4, 1),
            )
        elif kind == "close_goal":
            b.rec(ev.GoalClosed, by, goal_id=goal)
        elif kind == "progress":
            b.rec(ev.ProgressRecorded, by, goal_id=goal, score=n % 7)
        elif kind == "consent":
            givers = (person, persons[i % len(persons)]) if persons else ()
            b.rec(
                ev.ConsentGiven,
                by,
                consent_id=ev.new_id(),
                subject=person,
                given_by=givers,
                recipients=(DEPARTMENTS[j % len(DEPARTMENTS)],),
                consent_categories=("contact",),
                purpose="coordinating the shared plan",
                child_view="agrees" if n % 2 else None,
                valid_until=TODAY.date() + timedelta(days=30 * max(n, 0)),
            )
        elif kind == "withdraw" and consents:
            b.rec(ev.ConsentWithdrawn, by, consent_id=consents[j % len(consents)])
        elif kind == "activity":
            b.rec(
                ev.ActivityAdded,
                by,
                activity_id=ev.new_id(),
                goal_id=goal,
                activity_department=dept,
                kind="support",
            )
        elif kind == "start" and acts:
            b.rec(ev.ActivityStarted, by, activity_id=acts[j % len(acts)])
        elif kind == "meeting":
            b.rec(
                ev.MeetingHeld,
                by,
                meeting_id=ev.new_id(),
                kind=["analysis", "status", "ssd"][j % 3],
                participants=(dept,),
            )
        elif kind == "decision":
            b.rec(
                ev.DecisionMade,
                by,
                decision_id=ev.new_id(),
                legal_basis="serviceloven § 52",
                legal_area="serviceloven § 52",
                kind="grant",
                considerations="support needed",
                facts=(b.events[n % len(b.events)].event_id,),
                explanation="You get support.",
            )
        elif kind == "close":
            b.rec(ev.CaseClosed)
        elif kind == "reopen":
            b.rec(ev.CaseReopened)
        elif kind == "correct":
            b.rec(ev.PersonCorrected, person_id=person, name=f"Corrected {n}")
    except CoreError:
        pass


def replayed(log: CaseLog, case_id: str) -> CaseState:
    return fold(case_id, [log.open(le) for le in log.iterate() if le.sealed.case_id == case_id])


def test_valid_sequences_replay_to_the_same_state(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()  # one log for all examples; each example uses fresh case ids

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(first=commands, second=commands)
    def example(first: list[Command], second: list[Command]) -> None:
        cases = []
        for cmds in (first, second):
            b = family({"mother": ("parent", 40), "kid": ("child", 15)})
            b.join("jobcenter", "school")
            for command in cmds:
                attempt(b, command)
            cases.append(b)
        # Interleave the two cases' pushes, as two laptops syncing would.
        for k in range(0, max(len(c.sealed) for c in cases), 5):
            for b in cases:
                if b.sealed[k : k + 5]:
                    devices.push(log, b.sealed[k : k + 5], [b.key])
        for b in cases:
            assert replayed(log, b.case_id) == fold(b.case_id, b.events) == b.state
            assert [log.open(le) for le in log.case_events(b.case_id)] == b.events

    example()
    report = verify(log)
    assert report.ok, report.problems
    assert report.cases >= 50
