"""Counters and latency summaries, served at /metrics in the Prometheus text format.

Kept in process memory: each server instance reports its own, as Prometheus expects.
"""

from __future__ import annotations

import threading
from collections import defaultdict


class Metrics:
    """Request counts by route and status, and latency sums per route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.latency: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
        self.events: dict[str, int] = defaultdict(int)

    def observe(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, status)] += 1
            n, total = self.latency[route]
            self.latency[route] = (n + 1, total + seconds)

    def count_events(self, kind: str, n: int) -> None:
        with self._lock:
            self.events[kind] += n

    def render(self) -> str:
        lines = [
            "# HELP tovholder_requests_total HTTP requests by route and status.",
            "# TYPE tovholder_requests_total counter",
        ]
        with self._lock:
            for (route, status), n in sorted(self.requests.items()):
                lines.append(f'tovholder_requests_total{{route="{route}",status="{status}"}} {n}')
            lines += [
                "# HELP tovholder_request_seconds Time spent answering requests, by route.",
                "# TYPE tovholder_request_seconds summary",
            ]
            for route, (n, total) in sorted(self.latency.items()):
                lines.append(f'tovholder_request_seconds_count{{route="{route}"}} {n}')
                lines.append(f'tovholder_request_seconds_sum{{route="{route}"}} {total:.6f}')
            lines += [
                "# HELP tovholder_sync_events_total Events pushed and pulled, by outcome.",
                "# TYPE tovholder_sync_events_total counter",
            ]
            for kind, n in sorted(self.events.items()):
                lines.append(f'tovholder_sync_events_total{{kind="{kind}"}} {n}')
        return "\n".join(lines) + "\n"
