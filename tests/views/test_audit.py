"""The auditor's reports from the log alone: exceptions across cases, a person's own
file, and the record of processing activities."""

from __future__ import annotations

from core import events as ev
from core.audit import citizen_export, exceptions, records_of_processing
from tests.core.conftest import CaseBuilder, family, worker
from tests.views.conftest import World


def shared(b: CaseBuilder, to: tuple[str, ...], reason: str) -> ev.CaseEvent:
    return b.rec(
        ev.SharedOnLegalBasis,
        worker("children-family"),
        share_id=ev.new_id(),
        basis="forvaltningsloven-28",
        recipients=to,
        share_categories=("contact",),
        reason=reason,
    )


def test_exceptions_span_the_log_and_name_basis_recipients_reason_and_author(world: World) -> None:
    first, quiet, second = (family({"mother": ("parent", 38)}) for _ in range(3))
    for b in (first, quiet, second):
        b.join("jobcenter", "benefits")
        b.contact()
    a = shared(first, ("jobcenter",), "the allowance decision depends on it")
    b2 = shared(second, ("jobcenter", "benefits"), "both decide on support")
    for b in (first, quiet, second):
        world.push(b)
    rows = exceptions(world.log)
    assert [(r.case_id, r.event_id) for r in rows] == [(first.case_id, a.event_id), (second.case_id, b2.event_id)]
    assert rows[1].recipients == ("jobcenter", "benefits") and rows[1].reason == "both decide on support"
    assert rows[0].author == "w-children-family" and rows[0].basis == "forvaltningsloven-28"
    assert [r.event_id for r in exceptions(world.log, second.case_id)] == [b2.event_id]
    processing = records_of_processing(world.log, {"years": 5})
    assert processing["recipients"]["legal-basis"] == {"benefits": ["contact"], "jobcenter": ["contact"]}
    counts = {t["type"]: t["count"] for t in processing["event_types"]}
    assert counts["share.legal-basis"] == 2 and counts["case.opened"] == 3


def test_a_persons_own_file_holds_what_concerns_them_and_the_looks(world: World) -> None:
    b = family({"mother": ("parent", 38), "father": ("parent", 40)})
    mine = b.contact(person="mother", note="about the mother")
    other = b.contact(person="father", note="about the father")
    world.push(b)
    world.access.record("anna", "jobcenter", b.case_id, "department-case", "planning")
    own = citizen_export(
        world.log, b.case_id, world.access.entries(b.case_id), b.persons["mother"], withhold_staff=True
    )
    ids = {e["event"] for e in own["events"]}
    assert mine.event_id in ids and other.event_id not in ids
    assert [p["name"] for p in own["persons"]] == ["Person mother"]
    assert own["access_log"][0]["worker"] is None and own["access_log"][0]["department"] == "jobcenter"
    assert all(e["author"] is None for e in own["events"])
