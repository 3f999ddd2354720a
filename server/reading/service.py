"""The view services of one server process: case index, CPR index, caches and access log.

`Reading.of(ctx)` makes them once per server context and keeps them in
``ctx.extras["reading"]``, so the endpoints, the pages and the commands that act on a data
folder share one access-log writer and one set of caches.
"""

from __future__ import annotations

import atexit
import threading
import time
from datetime import datetime, timedelta

from core.access_log import DEFAULT_RETENTION, AccessLog
from core.case_cache import CaseCache
from core.case_index import CaseIndexProjection
from core.cpr_index import CprIndexProjection
from core.projection import ProjectionRunner
from server.compression import CompressedCache
from server.context import ServerContext
from server.view_cache import ViewCache

PURGE_EVERY = 3600.0  # seconds between purges of the access log


class Reading:
    """The view services of one server process: case index, case cache, access log."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        settings = ctx.settings
        self.cache = CaseCache(ctx.log, settings.cache_bytes("cases"))
        self.views = ViewCache(self.cache, settings.cache_bytes("views"))
        self.compressed = CompressedCache(settings.cache_bytes("compressed"))
        self.index = ProjectionRunner(ctx.log, CaseIndexProjection(ctx.log, settings.cache_bytes("index")))
        cpr = CprIndexProjection(ctx.log)
        self.cpr = ProjectionRunner(ctx.log, cpr)
        self.cpr_index = cpr.index
        self.access = AccessLog(ctx.log)
        self._index_lock = threading.Lock()
        self._purged = 0.0
        # A setting of 0 days would purge every entry at once; it means "the default".
        days = ctx.settings.access_log_days
        self.access_retention = timedelta(days=days) if days else DEFAULT_RETENTION
        self.retention_years = ctx.settings.retention_years
        ctx.metrics.gauge(
            "tovholder_view_lag_events",
            "Log head position minus the position a department view has applied.",
            self.lags,
        )
        atexit.register(self.access.close)

    @classmethod
    def of(cls, ctx: ServerContext) -> Reading:
        """The context's services, made on first use."""
        found = ctx.extras.get("reading")
        if not isinstance(found, Reading):
            found = ctx.extras["reading"] = cls(ctx)
        return found

    def now(self) -> datetime:
        return self.ctx.log.clock()

    def caught_up(self) -> None:
        """Bring the case and CPR indexes up to the log's head (cheap when nothing is
        new), and purge access-log entries past their retention at most once an hour."""
        with self._index_lock:
            self.index.catch_up()
            self.cpr.catch_up()
            if time.monotonic() - self._purged > PURGE_EVERY or not self._purged:
                self._purged = time.monotonic()
                self.access.purge(self.access_retention)

    def lags(self) -> dict[str, float]:
        """Each view's distance behind the log's head, for /metrics (0 when caught up)."""
        return {runner.projection.name: float(runner.lag()) for runner in (self.index, self.cpr)}

    def forget(self, case_id: str) -> None:
        """Drop a case's plaintext from every cache of the process (after erasure)."""
        self.cache.forget(case_id)
        self.views.forget(case_id)
        self.compressed.forget(case_id)
        self.ctx.push.forget(case_id)

    def close(self) -> None:
        self.access.close()
