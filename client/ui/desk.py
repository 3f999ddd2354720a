"""The laptop behind the app: unlocked with the passphrase, locked on demand or after inactivity.

The app holds at most one unlocked `Laptop`, for the one browser session that unlocked
it (a random cookie made at that moment). Locking closes the store and drops the laptop,
its passphrase key and every case view the app kept, so nothing decrypted stays
reachable in the process; an idle desk locks itself (checked on every request and by
the app's background task). The case views are kept between pages because folding a
case means opening each of its events: a view gets what the app records in its case,
and is dropped when a sync brings anything, when the desk locks, and when the date
changes (a consent runs to the end of its last day).

Sync goes through the same `client.sync.Syncer` as `tovholder client sync`, and one
asyncio lock keeps a sync and a recording from interleaving on the store; pages that
only read do not wait for a sync (each view is folded in one step of the event loop,
and every view is dropped when the sync ends).
"""

from __future__ import annotations

import asyncio
import gc
import secrets
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from client.laptop import CaseView, Laptop
from client.store import LaptopStore
from client.sync import Backoff, Syncer, SyncReport
from core.errors import TovholderError, WrongPassphrase


class Desk:
    """The unlocked laptop of one browser session, and what the app remembers of its syncs."""

    def __init__(self, folder: Path, lock_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = folder
        self.lock_after = lock_after  # seconds of inactivity
        self.clock = clock
        self.busy = asyncio.Lock()
        self._laptop: Laptop | None = None
        self._session = ""
        self._last_seen = 0.0
        self._views: dict[str, tuple[date, CaseView]] = {}
        #: Confirmed events per case pulled by the last sync (what changed since).
        self.changed: dict[str, int] = {}
        #: The case sequence each of those cases had before the last sync.
        self.synced_from: dict[str, int] = {}
        #: What the last sync said: "" (none yet), "synced" or the reason it failed.
        self.last_sync = ""
        self.last_sync_failed = False
        self._last_try = float("-inf")

    # -- the lock ---------------------------------------------------------------------
    def unlock(self, passphrase: str) -> str:
        """Open the store with the passphrase (WrongPassphrase when it does not open it);
        the new session's secret, which only the browser's cookie then holds."""
        # The store itself, not `Laptop.open`: an empty passphrase must never fall back
        # on TOVHOLDER_PASSPHRASE or a prompt in the terminal that started the app.
        if not passphrase:
            raise WrongPassphrase("the passphrase does not open this laptop's store")
        laptop = Laptop(LaptopStore.open(self.folder, passphrase))
        self.lock()
        self._laptop = laptop
        self._session = secrets.token_urlsafe(32)
        self._last_seen = self.clock()
        return self._session

    def lock(self) -> None:
        """Close the store and drop the laptop, its key and every view kept (collected
        at once, reference cycles and all)."""
        laptop, self._laptop = self._laptop, None
        self._session = ""
        self._views.clear()
        self.changed.clear()
        self.synced_from.clear()
        if laptop is not None:
            laptop.close()
        del laptop
        gc.unfreeze()
        gc.collect()

    def idle(self) -> bool:
        """Whether the desk is unlocked but unused for longer than `lock_after`."""
        return self._laptop is not None and self.clock() - self._last_seen > self.lock_after

    def lock_if_idle(self) -> None:
        """Lock an idle desk, unless a sync is under way on it (it locks after)."""
        if self.idle() and not self.busy.locked():
            self.lock()

    def laptop_for(self, session: str) -> Laptop | None:
        """The unlocked laptop when `session` is the one that unlocked it (and the desk
        has not been idle too long): the request counts as activity. None otherwise."""
        self.lock_if_idle()
        if self._laptop is None or not session or not secrets.compare_digest(session, self._session):
            return None
        self._last_seen = self.clock()
        return self._laptop

    @property
    def unlocked(self) -> bool:
        return self._laptop is not None

    def held(self) -> Laptop | None:
        """The unlocked laptop for the app's own work (a background sync): not activity."""
        return self._laptop

    def due(self, every: float) -> bool:
        """Whether `every` seconds have passed since the last sync was tried."""
        return self.clock() - self._last_try >= every

    # -- views ------------------------------------------------------------------------
    def view(self, laptop: Laptop, case_id: str) -> CaseView:
        """The worker's view of a case, folded once and reused until a sync, or the day a
        consent may have lapsed on (consents run to the end of a date)."""
        today = laptop.clock().date()
        kept = self._views.get(case_id)
        if kept is not None and kept[0] == today:
            return kept[1]
        view = laptop.view(case_id)
        self._views[case_id] = (today, view)
        # A kept view is long-lived: out of the collector's way, so that a full collection
        # does not walk every event of the caseload on some page (refcounting frees it).
        gc.freeze()
        return view

    def wrote(self, case_id: str | None = None) -> None:
        """Forget the kept view of the case the app recorded in (every view: it synced)."""
        if case_id is None:
            self._views.clear()
            gc.unfreeze()  # what the views held is the collector's again
        else:
            self._views.pop(case_id, None)

    # -- sync -------------------------------------------------------------------------
    async def sync(self, laptop: Laptop, attempts: int = 3) -> SyncReport | None:
        """Push the outbox and pull the caseload as `client sync` does; None when the
        server could not be reached or refused (the reason is kept in `last_sync`)."""
        async with self.busy:
            self._last_try = self.clock()
            store = laptop.store
            before = {case: store.confirmed_seq(case) for case in store.held_cases()}
            outbox = (store.count_pending(), store.meta("cursor", 0))
            try:
                report = await Syncer(laptop, backoff=Backoff(attempts=attempts, base=0.2)).sync()
            except TovholderError as exc:
                self.last_sync, self.last_sync_failed = str(exc), True
                if (store.count_pending(), store.meta("cursor", 0)) != outbox:
                    self.wrote()  # part of it went through before it failed
                return None
            self.wrote()
            after = {case: store.confirmed_seq(case) for case in store.held_cases()}
            self.changed = {case: seq - before.get(case, 0) for case, seq in after.items() if seq > before.get(case, 0)}
            self.synced_from = {case: before.get(case, 0) for case in self.changed}
            self.last_sync, self.last_sync_failed = "synced", False
            return report
