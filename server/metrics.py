"""Counters, latency histograms and gauges, served at /metrics in the Prometheus text format.

Kept in process memory: each server instance reports its own, as Prometheus expects.
Request latency is a histogram (not only a sum) so an operator can read p99 of push,
pull and view reads from the buckets. Gauges are read when /metrics is scraped, from
callbacks the services register (a view's lag behind the log's head needs a database
query, so `render` is called off the event loop).
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import defaultdict
from collections.abc import Callable

log = logging.getLogger("tovholder.metrics")

#: Upper bounds (seconds) of the latency buckets: from a cached view read to a large push.
BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Gauge = Callable[[], dict[str, float]]


class Metrics:
    """Request counts by route and status, latency histograms per route, sync event
    counts, and gauges read at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.latency: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
        self.buckets: dict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.events: dict[str, int] = defaultdict(int)
        self.gauges: dict[str, tuple[str, Gauge]] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, status)] += 1
            n, total = self.latency[route]
            self.latency[route] = (n + 1, total + seconds)
            i = bisect.bisect_left(BUCKETS, seconds)
            if i < len(BUCKETS):
                self.buckets[route][i] += 1

    def count_events(self, kind: str, n: int) -> None:
        with self._lock:
            self.events[kind] += n

    def gauge(self, name: str, help_text: str, read: Gauge) -> None:
        """Report `read()` (label value -> number, labelled ``view``) as gauge `name` at
        every scrape; registering a name again replaces the earlier callback."""
        with self._lock:
            self.gauges[name] = (help_text, read)

    def render(self) -> str:
        """The Prometheus text exposition; may query the database through the gauges."""
        lines = [
            "# HELP tovholder_requests_total HTTP requests by route and status.",
            "# TYPE tovholder_requests_total counter",
        ]
        with self._lock:
            for (route, status), n in sorted(self.requests.items()):
                lines.append(f'tovholder_requests_total{{route="{route}",status="{status}"}} {n}')
            lines += [
                "# HELP tovholder_request_seconds Time spent answering requests, by route.",
                "# TYPE tovholder_request_seconds histogram",
            ]
            for route, (n, total) in sorted(self.latency.items()):
                running = 0
                for bound, count in zip(BUCKETS, self.buckets[route], strict=True):
                    running += count
                    lines.append(f'tovholder_request_seconds_bucket{{route="{route}",le="{bound}"}} {running}')
                lines.append(f'tovholder_request_seconds_bucket{{route="{route}",le="+Inf"}} {n}')
                lines.append(f'tovholder_request_seconds_count{{route="{route}"}} {n}')
                lines.append(f'tovholder_request_seconds_sum{{route="{route}"}} {total:.6f}')
            lines += [
                "# HELP tovholder_sync_events_total Events pushed and pulled, by outcome.",
                "# TYPE tovholder_sync_events_total counter",
            ]
            for kind, n in sorted(self.events.items()):
                lines.append(f'tovholder_sync_events_total{{kind="{kind}"}} {n}')
            gauges = sorted(self.gauges.items())
        for name, (help_text, read) in gauges:
            try:
                values = read()
            except Exception as exc:  # a scrape must answer even when one gauge cannot be read
                log.warning("gauge %s could not be read: %s", name, type(exc).__name__)
                continue
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            lines += [f'{name}{{view="{label}"}} {value:g}' for label, value in sorted(values.items())]
        return "\n".join(lines) + "\n"
