"""`tovholder demo`: the whole story, end to end, on the embedded default.

The default story drives the real `tovholder` commands in a temporary folder, exactly
as people would: a server is set up and run on loopback, two field laptops enroll, a
drop-in worker records offline while the office revises the same goal, both sync, the
clash is flagged, the citizen withdraws consent for the jobcenter, and the department
views and an audit replay show what each department could see before and after.

``--refugee-family`` instead records scenario 1 of docs/domain.md straight into a log (no
network), verifies it and prints what each department may see and on which grounds.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from core import events as ev
from core.case import CaseState
from core.console import emit
from core.departments import Directory
from core.keys import CaseKey, DeviceKeys, KeyEncryptionKey
from core.log import CaseLog
from core.recording import Author, record
from core.sealing import SealedEvent
from core.signing import sign_batch
from core.storage import close_recorder, open_recorder
from core.verify import verify
from core.visibility import Seen, all_views
from tovholder.story import whole_story

out = Console(highlight=False)  # the story is told in rich text

E = TypeVar("E", bound=ev.CaseEvent)

FAMILY = {
    "father": ("parent", "Ahmad Karimi", "120384-1233", date(1984, 3, 12)),
    "mother": ("parent", "Leila Karimi", "050787-1224", date(1987, 7, 5)),
    "child8": ("child", "Sara Karimi", None, None),
    "child12": ("child", "Omid Karimi", None, None),
    "child16": ("child", "Darya Karimi", None, None),
}
SECRET_NOTE = "Father describes nightmares since the journey; asks for help with Danish classes."  # noqa: S105


def register(groups: Any) -> None:
    """Add `demo` to the `tovholder` parser."""
    p = groups.add_parser("demo", help="run the whole story end to end in a temporary folder")
    p.add_argument("--keep", metavar="DIR", help="write the demo's data into DIR and keep it")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--refugee-family",
        action="store_true",
        help="record scenario 1 straight into a log, without server or laptops",
    )
    p.set_defaults(func=run)


@dataclass
class Field:
    """A worker's device in the story: records, seals and signs like a laptop does."""

    log: CaseLog
    directory: Directory
    author: Author
    keys: DeviceKeys = field(default_factory=DeviceKeys.generate)
    pending: list[SealedEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.log.register_device(
            self.author.device, self.author.worker, self.keys.signing_public, self.keys.agreement_public
        )

    def record(self, state: CaseState, key: CaseKey, what: ev.Payload[E]) -> E:
        """Check and seal the typed payload, as a laptop would, and keep it for the next sync."""
        event, sealed = record(state, key, self.directory, what, self.author)
        self.pending.append(sealed)
        return event

    def sync(self, new_keys: tuple[CaseKey, ...] = ()) -> int:
        seal = sign_batch(self.keys.signing, ev.new_id(), self.author.device, [s.digest for s in self.pending])
        receipts = self.log.append(self.pending, seal, new_keys)
        self.pending = []
        return len(receipts)


def refugee_family(log: CaseLog, directory: Directory, today: date) -> tuple[str, dict[str, str]]:
    """Record scenario 1: two parents, three children, six departments, one consent."""
    cf = Field(log, directory, Author("mette", "coordinator", "children-family", "laptop-mette"))
    job = Field(log, directory, Author("jonas", "caseworker", "jobcenter", "laptop-jonas"))
    ben = Field(log, directory, Author("bente", "caseworker", "benefits", "laptop-bente"))
    case_id = ev.new_id()
    key = CaseKey.generate(case_id)
    st = CaseState(case_id)
    opened = ev.payload(ev.CaseOpened, kind="family", lead_department="children-family", reason="refugee family")
    cf.record(st, key, opened)
    people = _family(cf, st, key, today)
    cf.record(st, key, ev.payload(ev.CoordinatorAssigned, worker="mette", coordinator_department="children-family"))
    for dept in ("jobcenter", "benefits", "school", "health", "youth-guidance"):
        cf.record(st, key, ev.payload(ev.TeamMemberJoined, member_department=dept))
    _consents(cf, st, key, people, today)
    visit = ev.payload(
        ev.ContactRecorded,
        contact_id=ev.new_id(),
        kind="home-visit",
        place="home",
        persons=(people["father"],),
        challenges=("health", "education"),
        note=SECRET_NOTE,
        categories=("contact",),
    )
    cf.record(st, key, visit)
    goal = ev.new_id()
    course = "Father completes Danish course module 2"
    cf.record(
        st, key, ev.payload(ev.GoalAdded, goal_id=goal, text=course, owner="jobcenter", persons=(people["father"],))
    )
    cf.sync((key,))
    facts = (next(iter(st.event_ids)),)
    progress = ev.payload(
        ev.ProgressRecorded, goal_id=goal, score=3, note="attends 4 of 5 days", persons=(people["father"],)
    )
    job.record(st, key, progress)
    job.sync()
    ben.record(st, key, _winter_clothing(facts, people["mother"]))
    ben.sync()
    return case_id, people


def _family(cf: Field, st: CaseState, key: CaseKey, today: date) -> dict[str, str]:
    """The five persons of the family, added to the case; their ids by label."""
    people: dict[str, str] = {}
    for label, (role, name, cpr, born) in FAMILY.items():
        if born is None:
            age = int(label.removeprefix("child"))
            born = today.replace(year=today.year - age) - timedelta(days=40)
        pid = ev.new_id()
        people[label] = pid
        added = ev.payload(
            ev.PersonAdded, person_id=pid, role=role, name=name, cpr=cpr, birth_date=born, persons=(pid,)
        )
        cf.record(st, key, added)
    return people


def _consents(cf: Field, st: CaseState, key: CaseKey, people: dict[str, str], today: date) -> None:
    """One consent per person (the parents for the younger children, the 16-year-old too)."""
    until = today + timedelta(days=300)
    recipients = ("jobcenter", "school", "children-family")
    cats = ("identity", "contact", "plan", "family", "education", "employment")
    for label, pid in people.items():
        givers: tuple[str, ...]
        if label in ("father", "mother"):
            givers = (pid,)
        elif label == "child16":
            givers = (people["mother"], pid)
        else:
            givers = (people["mother"],)
        given = ev.payload(
            ev.ConsentGiven,
            consent_id=ev.new_id(),
            subject=pid,
            given_by=givers,
            recipients=recipients,
            consent_categories=cats,
            purpose="coordinated family plan across jobcenter, school and family services",
            valid_until=until,
            child_view="wants to stay in the same school" if label == "child12" else None,
            persons=(pid,),
        )
        cf.record(st, key, given)


def _winter_clothing(facts: tuple[str, ...], mother: str) -> ev.Payload[ev.DecisionMade]:
    """The benefits department's one-off payment, with the facts it rests on."""
    return ev.payload(
        ev.DecisionMade,
        decision_id=ev.new_id(),
        legal_basis="aktivloven § 81",
        legal_area="aktivloven",
        kind="one-off-payment",
        considerations="winter clothing for 3 children",
        facts=facts,
        explanation="You receive a one-off payment for winter clothing.",
        amount=450000,
        persons=(mother,),
    )


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="tovholder-demo-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if args.refugee_family:
            return _story(folder, args.json)
        return whole_story(folder, args.json)


def _department_row(dept: str, seen: list[Seen]) -> dict[str, Any]:
    """How many events a department may see, and on which grounds."""
    return {
        "department": dept,
        "sees": len(seen),
        "own": sum(s.basis == "own" for s in seen),
        "consent": sum(s.basis == "consent" for s in seen),
        "recipient": sum(s.basis == "recipient" for s in seen),
    }


def _story(folder: Path, as_json: bool) -> int:
    db = folder / "log.db"
    recorder = open_recorder(f"sqlite:///{db}")
    log = CaseLog(recorder, KeyEncryptionKey.generate())
    directory = Directory.default()
    try:
        today = ev.utcnow().date()
        case_id, _people = refugee_family(log, directory, today)
        report = verify(log)
        events = [log.open(x) for x in log.case_events(case_id)]
        views = all_views(case_id, events, directory, ev.utcnow())
        raw = db.read_bytes() + (Path(str(db) + "-wal").read_bytes() if Path(str(db) + "-wal").exists() else b"")
        secrets = (*(v[1] for v in FAMILY.values()), SECRET_NOTE, "120384-1233", "1203841233")
        leaked = [s for s in secrets if s.encode() in raw]
        rows = [_department_row(dept, seen) for dept, seen in sorted(views.items())]
        shares = [
            {
                "seq": s.seq,
                "event": s.event.header.topic,
                "basis": s.basis,
                "consents": ", ".join(g[:8] for g in s.grounds),
            }
            for s in views.get("jobcenter", [])
            if s.basis == "consent"
        ]
        result = {
            "case": case_id,
            "events": len(events),
            "verified": report.ok,
            "problems": [p.__dict__ for p in report.problems],
            "plaintext_on_disk": leaked,
            "departments": rows,
            "jobcenter_shares": shares,
        }
        if as_json:
            emit(result, as_json=True)
        else:
            out.print(f"[bold]Scenario 1 — refugee family[/bold]  case {case_id}, {len(events)} events in {folder}")
            out.print(
                f"log verified: {'[green]clean[/green]' if report.ok else '[red]PROBLEMS[/red]'}; "
                f"names, CPR numbers or notes on disk: {leaked or 'none'}"
            )
            emit(rows, as_json=False, title="What each party department may see (events)")
            emit(shares, as_json=False, title="Audit: what reached the jobcenter, and the consent that allowed it")
            out.print(
                "Look at: health sees nothing; benefits sees only its own decision; "
                "jobcenter, school and children & family see what the consents cover."
            )
        return 0 if report.ok and not leaked else 1
    finally:
        close_recorder(recorder)
