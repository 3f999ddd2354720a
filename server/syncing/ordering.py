"""A laptop's batches judged in its order, with two on the way at once.

A laptop may send its next batch while the server still judges the previous one, naming
that batch as the one it follows (``after`` in `sync.protocol`). Such a batch waits here
until the batch it follows was judged, by this process or by another instance: the
answer of the first wakes it at once, and the database is asked now and then for a
batch judged elsewhere. If that batch never comes (its request failed, the laptop went
offline), the wait ends with 409 after `wait` seconds and nothing is stored; the laptop
pushes the rest again at its next sync.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from server.errors import Conflict

ORDER_WAIT = 30.0  # seconds a batch waits for the batch it follows
RECHECK = 0.25  # seconds between questions to the database while waiting


class BatchOrder:
    """Waiting rooms for batches pushed `after` another, one per server process."""

    def __init__(
        self, judged_here: Callable[[str], bool], judged: Callable[[str], bool], wait: float = ORDER_WAIT
    ) -> None:
        self.judged_here = judged_here  # memory only: asked on the event loop
        self.judged = judged  # may ask the database: asked in a worker thread
        self.wait = wait
        self._waiting: dict[str, asyncio.Event] = {}

    async def follow(self, batch_id: str) -> None:
        """Return once batch `batch_id` was judged; Conflict (409) after `wait` seconds."""
        if self.judged_here(batch_id):
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        woken = self._waiting.setdefault(batch_id, asyncio.Event())
        try:
            while not (self.judged_here(batch_id) or await run_in_threadpool(self.judged, batch_id)):
                left = deadline - loop.time()
                if left <= 0:
                    raise Conflict(
                        f"this batch follows batch {batch_id}, which has not been received; push again from that batch"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), min(left, RECHECK))
        finally:
            if self._waiting.get(batch_id) is woken and not woken.is_set():
                del self._waiting[batch_id]

    def done(self, batch_id: str) -> None:
        """Batch `batch_id` was judged: wake what follows it."""
        woken = self._waiting.pop(batch_id, None)
        if woken is not None:
            woken.set()
