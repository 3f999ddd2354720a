"""`tovholder admin views rebuild`: drop the department views and build them again from zero
(registered with the rest of the `admin` tree in `server.commands.admin`).

The views are derived data: every row can be recomputed from the log. Rebuilding is how
an operator recovers from a damaged view table, or applies a change in how the views are
computed, without touching a single logged event. It acts on the data folder directly
(``--dir DIR``) because it rewrites tables; while it runs, a server on the same database
answers department lists from a partly built index, so run it with the server stopped or
at a quiet hour.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.progress import TaskID

from core.case_index import CaseIndexProjection
from core.console import emit, fail
from core.console import progress as progress_bar
from core.cpr_index import CprIndexProjection
from core.monitoring import MonitoringProjection
from core.projection import ProjectionRunner
from server.context import ServerContext
from server.vocabulary import vocabulary_file


def rebuild_views(ctx: ServerContext, show_progress: bool) -> list[dict[str, Any]]:
    """Rebuild every view of the data folder (the department views and the monitoring);
    one summary row per view."""
    rows: list[dict[str, Any]] = []
    words = vocabulary_file(ctx.settings.data_dir, ctx.log, ctx.extras)
    runners = [
        ProjectionRunner(ctx.log, CaseIndexProjection(ctx.log)),
        ProjectionRunner(ctx.log, CprIndexProjection(ctx.log)),
        ProjectionRunner(ctx.log, MonitoringProjection(ctx.log, words.current)),
    ]
    with progress_bar(show_progress) as bar:
        for runner in runners:
            name = runner.projection.name
            task = bar.add_task(f"rebuilding {name}", total=ctx.log.max_position() or 1)
            started = time.perf_counter()

            def advance(done: int, total: int, t: TaskID = task) -> None:
                bar.update(t, completed=done, total=total or 1)

            applied = runner.rebuild(advance)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "view": name,
                    "events": applied,
                    "position": runner.position,
                    "seconds": round(seconds, 3),
                    "events_per_second": round(applied / seconds) if seconds > 0 else None,
                }
            )
    return rows


def rebuild(args: argparse.Namespace) -> int:
    """The command: rebuild the views of ``--dir`` and print one row per view."""
    if not args.dir:
        fail("rebuilding rewrites the view tables of a data folder: give --dir DIR")
    ctx = ServerContext.open(args.dir)
    try:
        rows = rebuild_views(ctx, not args.json)
    finally:
        ctx.close()
    emit(
        rows,
        as_json=args.json,
        title="views rebuilt",
        columns=["view", "events", "position", "seconds", "events_per_second"],
    )
    return 0
