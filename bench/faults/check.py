"""How every fault run ends: the laptops against the server, the log verified, and the counts.

- *lost*: an event a laptop recorded that the server does not hold and that the server
  did not reject (a rejected event stays in the laptop's outbox with the reason);
- *duplicated*: an event id stored more than once;
- *unflagged clashes*: a stored goal revision whose base is not the goal's revision
  just before it, or that revises a goal already closed, with no `conflict flagged` event
  naming it;
- *differing laptops*: a case a laptop holds whose confirmed copy (sequence, event id,
  chain link) is not the server's share of it for that laptop's worker: the event id
  blank where the worker's department may not see the event and the worker did not
  record it, as `tests/integration` compares;
- *verified*: `tovholder audit verify --dir` exits 0.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.sync import clean_env
from client.store import LaptopStore
from core import events as ev
from core.case import CaseState, fold
from core.sealing import parse
from core.visibility import department_view
from server.context import ServerContext

Copy = list[tuple[int, str, bytes]]  # (case sequence, event id or "" for a placeholder, chain link)


@dataclass(frozen=True)
class Holder:
    """A laptop to compare: its folder, and whose it is."""

    folder: Path
    worker: str
    department: str


@dataclass
class Verdict:
    events: int = 0
    lost: int = 0
    duplicated: int = 0
    unflagged: int = 0
    rejected: int = 0
    unsynced: int = 0
    differing: int = 0
    verified: bool = False

    @property
    def sound(self) -> bool:
        """Whether the run kept everything: the numbers a fault run must end with."""
        nothing_wrong = not (self.lost or self.duplicated or self.unflagged or self.unsynced or self.differing)
        return nothing_wrong and self.verified


def laptop_copy(folder: Path, passphrase: str, case: str) -> Copy:
    with LaptopStore.open(folder, passphrase) as store:
        return [(c.seq, "" if c.placeholder else parse(c.sealed).event_id, c.link) for c in store.confirmed(case)]


def share(ctx: ServerContext, case: str, holder: Holder) -> Copy:
    """What `holder`'s laptop should hold of the case: the server's copy, the event id blank
    where the department view hides the event and the worker did not record it."""
    logged = ctx.log.case_events(case)
    events = [ctx.log.open(le) for le in logged]
    seen = department_view(fold(case, events), events, holder.department, ctx.store.directory(), ev.utcnow()) or []
    whole = {s.seq for s in seen} | {seq for seq, e in enumerate(events, 1) if e.header.author == holder.worker}
    return [(le.seq, le.sealed.event_id if le.seq in whole else "", le.link) for le in logged]


def unflagged_clashes(case: str, events: list[ev.CaseEvent]) -> int:
    """Goal revisions stored against a moved-on or closed goal that no flag names."""
    flagged = {i for e in events if isinstance(e, ev.ConflictFlagged) for i in e.events}
    state = CaseState(case)
    count = 0
    for e in events:
        if isinstance(e, ev.GoalRevised):
            goal = state.goals.get(e.goal_id)
            stale = goal is not None and (goal.closed or goal.revision != e.base_revision)
            count += stale and e.event_id not in flagged
        state.apply(e)
    return count


def verify_log(server_folder: Path) -> bool:
    """`tovholder audit verify --dir`, as an administrator runs it."""
    argv = [sys.executable, "-m", "tovholder", "audit", "verify", "--dir", str(server_folder), "--json"]
    return subprocess.run(argv, env=clean_env(), capture_output=True, timeout=300).returncode == 0


def judge(server_folder: Path, passphrase: str, holders: Iterable[Holder], recorded: set[str]) -> Verdict:
    """Compare every laptop with the server and count what was lost, doubled or unflagged."""
    verdict = Verdict()
    ctx = ServerContext.open(server_folder, {})
    try:
        stored: Counter[str] = Counter()
        for case in ctx.log.case_ids():
            events = [ctx.log.open(le) for le in ctx.log.case_events(case)]
            stored.update(e.event_id for e in events)
            verdict.unflagged += unflagged_clashes(case, events)
        verdict.events = sum(stored.values())
        verdict.duplicated = sum(n - 1 for n in stored.values())
        rejected: set[str] = set()
        for h in holders:
            with LaptopStore.open(h.folder, passphrase) as store:
                rejected |= {p.event_id for p in store.outbox(statuses=("rejected",))}
                verdict.unsynced += len(store.outbox(statuses=("pending", "sent")))
                cases = store.held_cases()
            verdict.differing += sum(laptop_copy(h.folder, passphrase, c) != share(ctx, c, h) for c in cases)
        verdict.rejected = len(rejected)
        verdict.lost = len(recorded - set(stored) - rejected)
    finally:
        ctx.close()
    verdict.verified = verify_log(server_folder)
    return verdict
