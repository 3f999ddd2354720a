"""Repeated reads of a case of 200 events do no repeated work: once the case is in the
in-memory cache nothing is decrypted again, and while the judged view holds it is not
judged again either (consent is still judged for the moment of every read: see
`test_view_cache.py`). How fast that is, is measured by `python -m bench.views`, not here."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from core import events as ev
from core.log import LoggedEvent
from core.sealing import SealedEvent
from server.view_cache import ViewCache
from tests.core.conftest import DIRECTORY, family, worker
from tests.views.conftest import World


def test_reads_of_a_case_of_200_events_neither_decrypt_nor_judge_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = family({"mother": ("parent", 38), "girl": ("child", 9)})
    b.join("jobcenter", "school", "health")
    b.consent("mother", ["mother"], ["jobcenter", "school"], ["contact", "plan"], valid_until=date(2099, 1, 1))
    b.rec(ev.GoalAdded, goal_id="g", text="a steady week", owner="children-family", persons=(b.persons["mother"],))
    while len(b.events) < 200:
        if len(b.events) % 5:
            b.contact(worker("school") if len(b.events) % 3 else None, note="talked about the week")
        else:
            b.rec(ev.ProgressRecorded, goal_id="g", score=3, persons=(b.persons["mother"],))
    world.push(b)
    views = ViewCache(world.cache)
    first = views.body(b.case_id, "jobcenter", DIRECTORY, world.now)
    assert first is not None and len(json.loads(first)["events"]) > 100

    opened = 0
    real_open = world.log.open

    def counting_open(logged: LoggedEvent | SealedEvent) -> ev.CaseEvent:
        nonlocal opened
        opened += 1
        return real_open(logged)

    monkeypatch.setattr(world.log, "open", counting_open)
    for minute in range(1, 31):
        body = views.body(b.case_id, "jobcenter", DIRECTORY, world.now + timedelta(minutes=minute))
        assert body is not None and json.loads(body)["events"] == json.loads(first)["events"]
    assert opened == 0
    assert views.judged == 1
