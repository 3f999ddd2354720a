"""A department's read of a case of 200 events answers in milliseconds once the case is in
the in-memory cache: consent is judged afresh on every read, nothing is re-decrypted."""

from __future__ import annotations

import statistics
import time
from datetime import date

from core import events as ev
from core.views import case_json, department_case
from tests.core.conftest import DIRECTORY, family, worker
from tests.views.conftest import World


def test_a_case_of_200_events_reads_in_a_few_milliseconds(world: World) -> None:
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
    department_case(world.cache, b.case_id, "jobcenter", DIRECTORY, world.now)  # warm the cache
    timings = []
    for _ in range(30):
        started = time.perf_counter()
        view = department_case(world.cache, b.case_id, "jobcenter", DIRECTORY, world.now)
        assert view is not None
        body = case_json(view)
        timings.append(time.perf_counter() - started)
    assert len(body["events"]) > 100
    median = statistics.median(timings)
    print(f"median read of a 200-event case: {median * 1000:.2f} ms")
    assert median < 0.025, f"{median * 1000:.1f} ms"
