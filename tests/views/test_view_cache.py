"""The judged-view cache answers exactly as judging afresh would, at every moment of
reading: a new event (a withdrawal) or a moment at which visibility changes by itself
(midnight, a consent dated ahead) makes the next read judge again."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from core import events as ev
from core.case_view import case_json, department_case, next_change
from server.view_cache import ViewCache, encode_json
from tests.core.conftest import DIRECTORY, TODAY, CaseBuilder, family, worker
from tests.views.conftest import World


def fresh(world: World, case_id: str, department: str, at: datetime) -> dict[str, Any] | None:
    """The view judged afresh (no view cache), as the API would send it."""
    view = department_case(world.cache, case_id, department, DIRECTORY, at)
    return None if view is None else json.loads(encode_json(case_json(view)))


def cached(views: ViewCache, case_id: str, department: str, at: datetime) -> dict[str, Any] | None:
    body = views.body(case_id, department, DIRECTORY, at)
    return None if body is None else json.loads(body)


def event_ids(doc: dict[str, Any] | None) -> set[str]:
    assert doc is not None
    return {e["event"] for e in doc["events"]}


def shared_case(valid_until: date = date(2099, 1, 1)) -> tuple[CaseBuilder, ev.ConsentGiven, ev.ContactRecorded]:
    b = family({"mother": ("parent", 38)})
    b.join("jobcenter", "health")
    consent = b.consent("mother", ["mother"], ["jobcenter"], ["contact"], valid_until=valid_until)
    visit = b.contact(note="a talk about the week")
    return b, consent, visit


def test_the_cached_body_is_the_fresh_judgement_for_every_department(world: World) -> None:
    b, _, visit = shared_case()
    b.contact(worker("health"), note="seen at the clinic")
    world.push(b)
    views = ViewCache(world.cache)
    for department in ("children-family", "jobcenter", "health", "youth-guidance"):
        for at in (world.now, world.now + timedelta(minutes=5)):
            assert cached(views, b.case_id, department, at) == fresh(world, b.case_id, department, at)
    assert visit.event_id in event_ids(cached(views, b.case_id, "jobcenter", world.now))
    assert cached(views, b.case_id, "youth-guidance", world.now) is None
    assert cached(views, ev.new_id(), "jobcenter", world.now) is None


def test_a_later_read_in_the_same_stretch_is_not_judged_again_and_tells_its_own_moment(world: World) -> None:
    b, _, _ = shared_case()
    world.push(b)
    views = ViewCache(world.cache)
    first = cached(views, b.case_id, "jobcenter", world.now)
    later = world.now + timedelta(minutes=3)
    second = cached(views, b.case_id, "jobcenter", later)
    assert views.judged == 1
    assert first is not None and second is not None
    assert second["as_of"] == later.isoformat() != first["as_of"]
    assert {**second, "as_of": None} == {**first, "as_of": None}
    # A moment before the judgement (a clock set back) is judged again.
    cached(views, b.case_id, "jobcenter", world.now - timedelta(minutes=1))
    assert views.judged == 2


def test_a_withdrawal_hides_what_it_covered_from_the_very_next_read(world: World) -> None:
    b, consent, visit = shared_case()
    world.push(b)
    views = ViewCache(world.cache)
    assert visit.event_id in event_ids(cached(views, b.case_id, "jobcenter", world.now))
    b.clock.now = world.now
    withdrawal = b.rec(ev.ConsentWithdrawn, consent_id=consent.consent_id)
    world.push(b)
    after = cached(views, b.case_id, "jobcenter", world.now)
    assert visit.event_id not in event_ids(after)
    assert withdrawal.event_id in event_ids(after)
    assert after == fresh(world, b.case_id, "jobcenter", world.now)
    assert views.judged == 2


def test_a_consent_that_runs_out_is_gone_on_the_first_read_after_midnight(world: World) -> None:
    b, _, visit = shared_case(valid_until=TODAY.date() + timedelta(days=1))
    world.push(b)
    views = ViewCache(world.cache)
    last_evening = (TODAY + timedelta(days=1)).replace(hour=23, minute=0)
    assert visit.event_id in event_ids(cached(views, b.case_id, "jobcenter", last_evening))
    next_morning = last_evening + timedelta(hours=1, seconds=1)
    assert visit.event_id not in event_ids(cached(views, b.case_id, "jobcenter", next_morning))
    assert cached(views, b.case_id, "jobcenter", next_morning) == fresh(world, b.case_id, "jobcenter", next_morning)


def test_a_consent_dated_ahead_of_the_server_counts_from_its_own_moment(world: World) -> None:
    b = family({"mother": ("parent", 38)})
    b.join("jobcenter")
    visit = b.contact(note="a talk about the week")
    b.clock.now = TODAY + timedelta(hours=3)  # the laptop's clock runs ahead
    consent = b.consent("mother", ["mother"], ["jobcenter"], ["contact"], valid_until=date(2099, 1, 1))
    world.push(b, at=TODAY + timedelta(hours=1))
    views = ViewCache(world.cache)
    assert visit.event_id not in event_ids(cached(views, b.case_id, "jobcenter", world.now))
    given = consent.occurred_at
    assert visit.event_id in event_ids(cached(views, b.case_id, "jobcenter", given))
    assert views.judged == 2


def test_next_change_is_midnight_or_an_earlier_moment_dated_ahead(world: World) -> None:
    b, consent, _ = shared_case()
    at = TODAY + timedelta(hours=2)
    midnight = datetime.combine(TODAY.date() + timedelta(days=1), datetime.min.time(), TODAY.tzinfo)
    assert next_change(b.state, at) == midnight
    assert next_change(b.state, consent.occurred_at - timedelta(seconds=1)) == consent.occurred_at


def test_forgetting_a_case_drops_every_departments_view(world: World) -> None:
    b, _, _ = shared_case()
    world.push(b)
    views = ViewCache(world.cache)
    for department in ("jobcenter", "health"):
        cached(views, b.case_id, department, world.now)
    assert views.used > 0
    views.forget(b.case_id)
    assert views.used == 0
    cached(views, b.case_id, "jobcenter", world.now)
    assert views.judged == 3
