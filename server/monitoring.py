"""Monitoring reports for management: JSON, CSV and a page, with no personal data.

    GET /v1/monitoring                     every report, as JSON
    GET /v1/monitoring/{report}            one report (contacts, families, goals,
                                           meetings); ?format=csv for CSV
    GET /ui/monitoring                     the reports as one page (signed in)

Only a worker with the role `management` reads them (403 for anyone else); they are
grouped counts from `core.monitoring`, whose view is brought up to the log's head before
each answer. Reports hold no case, so no access-log entry is made: there is no look at a
case to log. A suppressed cell is null in JSON and `<5` in CSV and on the page.
"""

from __future__ import annotations

import csv
import io
import threading

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core import vocabularies
from core.errors import InvalidInput
from core.monitoring import REPORTS, SMALL_CELL, MonitoringProjection, Report, all_reports, report
from core.projection import ProjectionRunner
from server.auth import principal
from server.context import ServerContext
from server.errors import Forbidden, NotFound
from server.reading.queries import MANAGEMENT
from server.store import Principal
from server.vocabulary import vocabulary_file

SUPPRESSED = f"<{SMALL_CELL}"


class Monitoring:
    """The monitoring view of one server process, kept up to date on demand."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.words = vocabulary_file(ctx.settings.data_dir, ctx.log, ctx.extras)
        self.runner = ProjectionRunner(ctx.log, MonitoringProjection(ctx.log, self.words.current))
        self._lock = threading.Lock()
        self._challenges: tuple[str, ...] | None = None  # the list the view was last brought up to date with

    @classmethod
    def of(cls, ctx: ServerContext) -> Monitoring:
        found = ctx.extras.get("monitoring")
        if not isinstance(found, Monitoring):
            found = ctx.extras["monitoring"] = cls(ctx)
        return found

    def reports(self, name: str | None = None) -> list[Report]:
        """One report, or all of them, from a view caught up with the log's head; rebuilt
        from zero when the challenge categories changed since this process last read it,
        so every row counts a challenge by the list in force."""
        with self._lock:
            challenges = self.words.current().names(vocabularies.CHALLENGES)
            if self._challenges is not None and challenges != self._challenges:
                self.runner.rebuild()
            else:
                self.runner.catch_up()
            self._challenges = challenges
        if name is None:
            return list(all_reports(self.ctx.log))
        if name not in REPORTS:
            raise NotFound(f"no report {name!r}; the reports are {', '.join(REPORTS)}")
        return [report(self.ctx.log, name)]


def manager(who: Principal) -> Principal:
    """`who` when it is a worker with the role management; Forbidden otherwise."""
    if who.role != MANAGEMENT:
        raise Forbidden("the monitoring reports are for the management role")
    return who


def as_csv(r: Report) -> str:
    """A report as CSV: a header row, then the rows, a suppressed cell as `<5`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(r.columns)
    for row in r.rows:
        writer.writerow([SUPPRESSED if cell is None else cell for cell in row])
    return out.getvalue()


async def monitoring_all(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    await run_in_threadpool(lambda: manager(principal(ctx, request)))
    reports = await run_in_threadpool(Monitoring.of(ctx).reports)
    return JSONResponse({"reports": [r.as_json() for r in reports]})


async def monitoring_report(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    await run_in_threadpool(lambda: manager(principal(ctx, request)))
    shape = request.query_params.get("format", "json")
    if shape not in ("json", "csv"):
        raise InvalidInput("format is json or csv")
    (found,) = await run_in_threadpool(Monitoring.of(ctx).reports, request.path_params["report"])
    if shape == "csv":
        return Response(
            as_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{found.name}.csv"'},
        )
    return JSONResponse(found.as_json())
