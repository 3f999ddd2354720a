"""Per-process caches are held within a byte budget, whatever the number or length of cases.

A server's memory once grew with every stored event, as its caches were capped by a
number of cases. These load many cases of real sealed events from a real log into a
`CaseCache` and check what a server's operator relies on: the cache never counts more
than its budget, what Python really keeps for it (measured with tracemalloc) is no more
than that, and a case heavier than the whole budget is still answered.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

import pytest

from core.case_cache import CaseCache
from core.log import CaseLog
from core.memory_budget import Budgeted, estimate
from tests.core.conftest import Devices, family

LINE = "Samtale om økonomi, bolig og hverdagen; aftalt næste skridt i planen. "


def stored_cases(log: CaseLog, devices: Devices, n: int, contacts: Callable[[int], int], note: str) -> list[str]:
    """`n` family cases appended to the log, case i with `contacts(i)` contacts."""
    ids = []
    for i in range(n):
        b = family({"mother": ("parent", 38)})
        for _ in range(contacts(i)):
            b.contact(note=note)
        devices.push_case(log, b)
        ids.append(b.case_id)
    return ids


def kept_by(make: Callable[[], CaseCache], ids: list[str]) -> int:
    """A cache that read every case, and the bytes Python still holds for it (traced
    while it read them, less what is left once it is gone)."""
    gc.collect()
    tracemalloc.start()
    try:
        cache = make()
        for case_id in ids:
            cache.get(case_id)
        gc.collect()
        with_cache = tracemalloc.get_traced_memory()[0]
        del cache
        gc.collect()
        without = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return with_cache - without


@pytest.mark.parametrize("note", ["a visit", LINE * 4], ids=["one-line notes", "notes of a few lines"])
def test_a_case_cache_never_holds_more_than_its_byte_budget_after_loading_many_cases(
    make_log: Callable[..., CaseLog], devices: Devices, note: str
) -> None:
    log = make_log()
    ids = stored_cases(log, devices, 40, lambda i: 30 if i % 2 else 5, note)
    everything = CaseCache(log, 10**12)
    for case_id in ids:
        everything.get(case_id)
    budget = everything.cases.used // 4
    cache = CaseCache(log, budget)
    for case_id in ids:
        cache.get(case_id)
        assert cache.cases.used <= budget
    assert 0 < len(cache.cases) < len(ids)
    assert cache.held(ids[-1]) is not None and cache.held(ids[0]) is None  # the oldest read went first
    kept = kept_by(lambda: CaseCache(log, budget), ids)
    assert kept <= budget


def test_the_estimate_is_not_below_what_python_keeps_for_a_case(
    make_log: Callable[..., CaseLog], devices: Devices
) -> None:
    log = make_log()
    ids = stored_cases(log, devices, 20, lambda i: 1 + i * 3, "a visit")
    kept = kept_by(lambda: CaseCache(log, 10**12), ids)
    counted = CaseCache(log, 10**12)
    for case_id in ids:
        counted.get(case_id)
    assert kept <= counted.cases.used


def test_a_case_heavier_than_the_whole_budget_is_answered_but_not_kept(
    make_log: Callable[..., CaseLog], devices: Devices
) -> None:
    log = make_log()
    (long_case,) = stored_cases(log, devices, 1, lambda i: 50, LINE * 4)
    cache = CaseCache(log, estimate(0))
    assert len(cache.get(long_case).events) == 52  # opened, person added, 50 contacts
    assert cache.held(long_case) is None and cache.cases.used == 0


def test_a_budgeted_map_drops_the_least_recently_used_until_its_budget_holds() -> None:
    m: Budgeted[str, str] = Budgeted(100)
    m.put("a", "A", 40)
    m.put("b", "B", 40)
    assert m.get("a") == "A"  # now b is the least recently used
    m.put("c", "C", 40)
    assert (m.get("a"), m.get("b"), m.get("c"), m.used) == ("A", None, "C", 80)
    m.put("a", "A2", 60)  # replacing counts the new size only
    assert (m.get("a"), m.used) == ("A2", 100)
    m.put("big", "X", 101)
    assert (m.get("big"), m.used, len(m)) == (None, 100, 2)
    assert m.pop("c") == "C" and m.used == 60
