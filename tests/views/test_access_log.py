"""The access log: every look recorded and committed before `record` returns, reads that
arrive together sharing a commit, listed per case, purged after the retention period,
never holding what was seen."""

from __future__ import annotations

import threading
from datetime import timedelta

from core.access_log import AccessLog
from tests.core.conftest import TODAY
from tests.views.conftest import World


def test_entries_are_batched_listed_per_case_and_purged(world: World) -> None:
    log = AccessLog(world.log, batch=5, background=False, clock=lambda: world.now)
    for i in range(12):
        log.record(f"w{i % 3}", "jobcenter", "case-a" if i % 2 else "case-b", "department-case", "planning")
    # Every entry is committed before `record` returns: none waits in memory.
    assert log._count() == 12
    listed = log.entries("case-a")
    assert len(listed) == 6 and {a.case_id for a in listed} == {"case-a"}
    assert log._count() == 12
    assert all(a.worker is None for a in log.entries("case-b", withhold_staff=True))
    world.now = TODAY + timedelta(days=200)
    log.record("w9", "school", "case-a", "department-case", "planning")
    assert log.purge(timedelta(days=183)) == 12
    assert [a.worker for a in log.entries()] == ["w9"]


def test_the_background_writer_keeps_every_entry_of_concurrent_readers(world: World) -> None:
    log = AccessLog(world.log, batch=50)

    def reader(n: int) -> None:
        for i in range(100):
            log.record(f"w{n}", "jobcenter", f"case-{i % 7}", "department-case", "casework")

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    assert log._count() == 400
    assert len({a.entry_id for a in log.entries(limit=1000)}) == 400


def test_entries_filter_by_worker_department_and_period_and_page_without_gaps(world: World) -> None:
    log = AccessLog(world.log, batch=5, background=False, clock=lambda: world.now)
    for i in range(30):
        world.now = TODAY + timedelta(minutes=i // 2)  # two looks share each moment
        log.record(f"w{i % 3}", "school" if i % 5 == 0 else "jobcenter", "case-a", "department-case", "planning")
    everything = log.entries(limit=1000)
    pages, after = [], None
    while True:
        page = log.entries(limit=7, after=after)
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert [a.entry_id for p in pages for a in p] == [a.entry_id for a in everything]  # none twice, none left out
    assert {a.worker for a in log.entries(worker="w1")} == {"w1"} and len(log.entries(worker="w1")) == 10
    assert {a.department for a in log.entries(department="school")} == {"school"}
    period = log.entries(since=TODAY + timedelta(minutes=3), until=TODAY + timedelta(minutes=5))
    assert len(period) == 6 and all(
        TODAY + timedelta(minutes=3) <= a.at <= TODAY + timedelta(minutes=5) for a in period
    )
