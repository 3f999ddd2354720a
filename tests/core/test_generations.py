"""Generations of administrators' changes: two logs on one database (two server processes)
each drop their device cache and unwrapped keys once the other revoked a device or erased
a case, and only then; asked from the event loop (`core.heads`) as through the pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from core.errors import CaseErased
from core.generations import ASSIGNMENTS, DEVICES, ERASURES
from core.log import CaseLog
from tests.core.conftest import Devices, family


def test_a_change_made_by_one_process_drops_the_caches_of_another(make_log: Callable[..., CaseLog]) -> None:
    here, there = make_log(), make_log()
    devices = Devices()
    b = family()
    devices.push(here, b.sealed, [b.key])
    device = b.sealed[0].header.device
    assert here.refresh()  # the first look drops whatever was built before it
    assert here.device(device) is not None and here.case_key(b.case_id) == b.key
    assert here.refresh() == []  # nothing changed: nothing dropped

    there.revoke_device(device)
    assert here.device(device).revoked_at is None  # type: ignore[union-attr]  # the stale cache
    assert here.refresh() == [DEVICES]
    assert here.device(device).revoked_at is not None  # type: ignore[union-attr]

    there.recorder.assign(b.case_id, "w-anna")
    there.destroy_key(b.case_id)
    heads = here.heads
    current = asyncio.run(heads.generations()) if heads is not None else None
    assert current is None or current == here.recorder.generations()
    assert sorted(here.refresh()) == sorted([ASSIGNMENTS, ERASURES])
    assert here.erased(b.case_id) and b.case_id in here.recorder.erased_cases()
    with pytest.raises(CaseErased):  # the key held in memory was dropped
        here.case_key(b.case_id)
