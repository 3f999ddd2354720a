"""Several `server run` processes on one database behave as one server.

Two real server processes share one PostgreSQL (or one SQLite folder): laptops revising
one goal at once through both have every stale revision flagged and the log verifies;
one-time enrollment codes redeemed at both at once enroll exactly one device each.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from pathlib import Path

import httpx
import pytest

from client.laptop import Laptop
from core import events as ev
from server.context import ServerContext
from tests.conftest import BACKENDS

from .conftest import Server, add_worker, admin, each, in_process, laptop_of, sync

pytestmark = pytest.mark.slow
LAPTOPS = 6
ROUNDS = 3
CODES = 20


def stale_and_flagged(server: Server, case_id: str) -> tuple[set[str], set[str], int]:
    """The goal revisions stored against a revision that was no longer the goal's (stale),
    the events flagged as clashing, and how many revisions there are."""
    ctx = ServerContext.open(server.folder, {})
    try:
        events = [ctx.log.open(le) for le in ctx.log.case_events(case_id)]
    finally:
        ctx.close()
    revision: dict[str, int] = {}
    stale: set[str] = set()
    flagged: set[str] = set()
    revisions = 0
    for e in events:
        if isinstance(e, ev.GoalAdded):
            revision[e.goal_id] = 1
        elif isinstance(e, ev.GoalRevised):
            revisions += 1
            if e.base_revision != revision[e.goal_id]:
                stale.add(e.event_id)
            revision[e.goal_id] += 1
        elif isinstance(e, ev.ConflictFlagged):
            flagged.add(e.events[0])
    return stale, flagged, revisions


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgres"], indirect=True)
def test_concurrent_stale_goal_revisions_through_two_processes_are_all_flagged(
    live: Server, second: Server, tmp_path: Path
) -> None:
    workers = [f"w-{i}" for i in range(LAPTOPS)]
    each(lambda w: add_worker(live, w, "jobcenter"), workers)
    laptops: list[Laptop] = each(
        lambda i: laptop_of(live if i % 2 else second, tmp_path / f"laptop-{i}", workers[i]), range(LAPTOPS)
    )
    try:
        opener = laptops[0]
        case_id = opener.open_case("citizen", "jobcenter").case_id
        opener.record(case_id, ev.GoalAdded, goal_id="g1", text="find work", owner="jobcenter")
        sync(opener)
        for w in workers[1:]:
            admin(live, "case", "assign", case_id, "--worker", w)
        for round_ in range(ROUNDS):
            each(lambda laptop: sync(laptop, "pull"), laptops)
            for i, laptop in enumerate(laptops):
                laptop.revise_goal(case_id, "g1", f"round {round_}: plan {i}")
            each(lambda laptop: sync(laptop, "push"), laptops)  # half through each process
    finally:
        for laptop in laptops:
            laptop.close()

    stale, flagged, revisions = stale_and_flagged(live, case_id)
    assert revisions == LAPTOPS * ROUNDS
    assert len(stale) >= (LAPTOPS - 1) * ROUNDS  # each round at most one revision is fresh
    assert stale <= flagged, f"{len(stale - flagged)} stale revisions were stored without a flag"
    assert in_process("audit", "verify", "--dir", str(live.folder), "--json")["ok"] is True


def test_a_code_redeemed_at_two_processes_at_once_enrolls_one_device(live: Server, second: Server) -> None:
    add_worker(live, "w-anna", "jobcenter")
    codes = [admin(live, "device", "enroll", "--worker", "w-anna")["code"] for _ in range(CODES)]
    attempts = [(code, server) for code in codes for server in (live, second)]

    def redeem(attempt: tuple[str, Server]) -> tuple[str, int]:
        code, server = attempt
        keys = {name: base64.b64encode(os.urandom(32)).decode() for name in ("signing_key", "agreement_key")}
        r = httpx.post(f"{server.url}/v1/enroll", json={"code": code, **keys}, timeout=60)
        return code, r.status_code

    answers = each(redeem, attempts)

    enrolled = Counter(code for code, status in answers if status == 201)
    assert all(enrolled[code] == 1 for code in codes), enrolled
    assert sorted({status for _, status in answers}) == [201, 401]
    ctx = ServerContext.open(live.folder, {})
    try:
        assert sum(1 for d in ctx.log.devices() if d.worker == "w-anna") == CODES
    finally:
        ctx.close()
