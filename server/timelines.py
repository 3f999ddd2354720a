"""The case page's timeline, rendered once while it cannot change.

The timeline is most of a case page's rendering (one row per event the department may
see, each in words and local time). It depends only on the department's judged view of
the case and the page's language, so its HTML is kept, per case, department and
language, for as long as the judged view itself holds (`core.case_view.next_change`:
the same case sequence, before the next midnight or a consent, withdrawal or membership
dated ahead), exactly as `server.view_cache` keeps the JSON view. Whatever else the page
shows (the CPR asked for, the forms' tokens) is rendered on every read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from server.context import ServerContext

KEPT = 512  # timelines kept per process, least recently used dropped first


class Timelines:
    """Rendered timelines by (case, department, sequence, language), each until a moment."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._html: OrderedDict[tuple[str, str, int, str], tuple[datetime, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, int, str], at: datetime, until: datetime, render: Callable[[], str]) -> str:
        """The timeline of `key` as of `at`: the one kept while `at` is before its end,
        else `render()`, kept until `until`."""
        with self._lock:
            found = self._html.get(key)
            if found is not None and at < found[0]:
                self._html.move_to_end(key)
                return found[1]
        html = render()
        with self._lock:
            self._html[key] = (until, html)
            while len(self._html) > self._kept:
                self._html.popitem(last=False)
        return html


def timelines(ctx: ServerContext) -> Timelines:
    """The process's kept timelines, made on first use."""
    found = ctx.extras.get("timelines")
    if not isinstance(found, Timelines):
        found = ctx.extras["timelines"] = Timelines()
    return found
