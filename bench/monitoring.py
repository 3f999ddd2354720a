"""`python -m bench.monitoring`: the monitoring reports built from a generated municipality.

A municipality of `--cases` cases (default 1,000: families and citizens led by different
departments, plus each drop-in centre's tally case) and `--events` events (default
100,000): coordinators, goals, progress scores, meetings, contacts with the drop-in
centres' challenge mix (docs/domain.md) and daily anonymous tallies, sealed and appended
to a real SQLite case log in signed batches (the generators of `bench.log`). Then the
monitoring view is built from zero (`ProjectionRunner.rebuild`, every counted event
decrypted) and the five reports are read from it; both times are printed, with how many
cells each report suppressed.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from rich.console import Console
from rich.table import Table

from bench.log import BATCH, DEVICE, NOTE, timed
from core import events as ev
from core.keys import CaseKey, DeviceKeys, KeyEncryptionKey
from core.log import CaseLog
from core.monitoring import MonitoringProjection, all_reports
from core.projection import ProjectionRunner
from core.recording import Author, make_event
from core.sealing import SealedEvent, seal
from core.signing import sign_batch
from core.storage import close_recorder, open_recorder

LEADS = ("children-family", "jobcenter", "benefits", "adult-social", "children-disability")
CENTRES = ("drop-in", "housing-social")
MIX = (("finances", 62), ("social-advice", 59), ("housing", 33), ("mental-health", 21), ("health", 19),
       ("job", 13), ("alcohol", 12), ("drugs", 6), ("dental", 6))  # fmt: skip
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def challenges(rnd: random.Random) -> tuple[str, ...]:
    return tuple(c for c, percent in MIX if rnd.randrange(100) < percent) or ("other",)


def work(rnd: random.Random, n: int, goals: list[str]) -> tuple[type[ev.CaseEvent], dict[str, Any]]:
    """The `n`th event of a case (after opening): mostly contacts, some plan and meetings."""
    if n == 1:
        return ev.CoordinatorAssigned, {"worker": "w-bench", "coordinator_department": "children-family"}
    roll = rnd.randrange(100)
    if roll < 8 or not goals:
        goals.append(ev.new_id())
        return ev.GoalAdded, {"goal_id": goals[-1], "text": "a goal", "owner": "children-family"}
    if roll < 30:
        return ev.ProgressRecorded, {"goal_id": rnd.choice(goals), "score": rnd.randint(1, 5)}
    if roll < 36:
        return ev.MeetingHeld, {"meeting_id": ev.new_id(), "kind": rnd.choice(ev.MEETING_KINDS)}
    kind = rnd.choice(ev.CONTACT_KINDS)
    return ev.ContactRecorded, {"contact_id": ev.new_id(), "kind": kind, "challenges": challenges(rnd), "note": NOTE}


def municipality(n_events: int, n_cases: int, seed: int = 13) -> tuple[list[SealedEvent], list[CaseKey]]:
    """Sealed events over `n_cases` cases and one tally case per centre, round-robin."""
    rnd = random.Random(seed)
    keys = [CaseKey.generate(str(uuid4())) for _ in range(n_cases + len(CENTRES))]
    authors = [Author("w-bench", "caseworker", rnd.choice((*LEADS, *CENTRES)), DEVICE) for _ in keys]
    tally = {keys[n_cases + i].case_id: centre for i, centre in enumerate(CENTRES)}
    seqs, goals = [0] * len(keys), [list[str]() for _ in keys]
    sealed = []
    for i in range(n_events):
        c = i % len(keys)
        key, author = keys[c], authors[c]
        at = START + timedelta(minutes=37 * i)
        cls: type[ev.CaseEvent]
        fields: dict[str, Any]
        if seqs[c] == 0:
            lead = tally.get(key.case_id) or rnd.choice(LEADS)
            kind = "tally" if key.case_id in tally else rnd.choice(("family", "citizen"))
            cls, fields = ev.CaseOpened, {"kind": kind, "lead_department": lead}
        elif key.case_id in tally:
            day = date.fromordinal(START.date().toordinal() + seqs[c] % 700)
            cls, fields = ev.ContactsTallied, {"day": day, "counts": {c: rnd.randint(1, 9) for c in challenges(rnd)}}
        else:
            cls, fields = work(rnd, seqs[c], goals[c])
        e = make_event(cls, key.case_id, key.key_id, author, seqs[c], occurred_at=at, **fields)
        seqs[c] += 1
        sealed.append(seal(e, key))
    return sealed, keys


def build(n_events: int, n_cases: int) -> dict[str, Any]:
    sealed, keys = municipality(n_events, n_cases)
    device = DeviceKeys.generate()
    with tempfile.TemporaryDirectory(prefix="tovholder-bench-") as tmp:
        log = CaseLog(open_recorder(f"sqlite:///{Path(tmp) / 'log.db'}"), KeyEncryptionKey.generate())
        log.register_device(DEVICE, "w-bench", device.signing_public, device.agreement_public)
        introduced: set[str] = set()
        for start in range(0, len(sealed), BATCH):
            chunk = sealed[start : start + BATCH]
            new = [k for k in keys if k.case_id in {s.case_id for s in chunk} - introduced]
            introduced.update(k.case_id for k in new)
            log.append(chunk, sign_batch(device.signing, f"b{start}", DEVICE, [s.digest for s in chunk]), new)
        runner = ProjectionRunner(log, MonitoringProjection(log))
        t_view, applied = timed(runner.rebuild)
        t_reports, reports = timed(lambda: list(all_reports(log)))
        close_recorder(log.recorder)
    cells = {r.name: (sum(len(row) for row in r.rows), sum(c is None for row in r.rows for c in row)) for r in reports}
    return {"events": applied, "view": t_view, "reports": t_reports, "cells": cells}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.monitoring", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=1_000)
    args = parser.parse_args(argv)
    result = build(args.events, args.cases)
    console = Console()
    console.print(
        f"{result['events']:,} events over {args.cases:,} cases: monitoring view built from zero in "
        f"{result['view']:.2f} s ({result['events'] / result['view']:,.0f} events/s); "
        f"the five reports read in {result['reports'] * 1000:.0f} ms"
    )
    table = Table("report", "cells", "suppressed (< 5)")
    for name, (cells, suppressed) in result["cells"].items():
        table.add_row(name, str(cells), str(suppressed))
    console.print(table)


if __name__ == "__main__":
    main()
