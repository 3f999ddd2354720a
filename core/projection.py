"""Following the log: views whose rows and position commit in one transaction.

A `Projection` turns a page of logged events into row writes. The `ProjectionRunner`
reads pages after the view's tracked position and commits the writes together with the
new position through the eventsourcing library's tracking recorder, in one database
transaction: a crash never skips an event or applies it twice. A view can be dropped and
rebuilt from position zero, with progress reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from eventsourcing.persistence import IntegrityError

from core.log import CaseLog, LoggedEvent
from core.logstore import Write as Write  # re-exported: the projections' row writes

REBUILD_PAGE = 5000  # events per transaction when a view is rebuilt from zero


class Projection(Protocol):
    """A view of the log: how its tables are made, dropped, and fed."""

    name: str

    def create_statements(self, placeholder: str) -> list[str]: ...

    def drop_statements(self) -> list[str]: ...

    def handle(self, events: Sequence[LoggedEvent]) -> list[Write]: ...


class ProjectionRunner:
    """Keeps one projection up to date with the log, exactly once."""

    def __init__(self, log: CaseLog, projection: Projection, page: int = 1000) -> None:
        self.log = log
        self.projection = projection
        self.page = page
        for statement in projection.create_statements(log.tables.p):
            log.recorder.run(statement, commit=True)

    @property
    def position(self) -> int:
        """The position of the last event the view applied."""
        return self.log.recorder.tracked_position(self.projection.name)

    def lag(self) -> int:
        """How many positions the view is behind the log."""
        return max(0, self.log.max_position() - self.position)

    def commit(self, writes: Sequence[Write], position: int) -> None:
        """Write the view's rows and its new position in one transaction."""
        self.log.recorder.commit_tracked(self.projection.name, writes, position)

    def catch_up(self, progress: Callable[[int, int], None] | None = None, page: int | None = None) -> int:
        """Apply every event after the tracked position, `page` events per transaction
        (default: the runner's); returns how many were applied.

        The log's read leaves out the administrative log's events (`core.adminlog`), no
        view's business: a short page reaches the log's head as it stood just before it
        was read, so the view's position moves to that head, past any administrative
        events after its last case event, and the view shows no lag for them."""
        applied = 0
        position = self.position
        limit = page or self.page
        while True:
            head = self.log.max_position()
            events = self.log.read(position, limit)
            full = len(events) >= limit
            upto = events[-1].position if full else max(head, events[-1].position if events else 0)
            if upto <= position:
                return applied
            try:
                self.commit(self.projection.handle(events) if events else [], upto)
            except IntegrityError:
                # Another runner committed this page first; carry on from where it got.
                # If the position did not move, the clash was in the view's own rows:
                # retrying the same page would fail forever, so let it surface.
                moved = self.position
                if moved <= position:
                    raise
                position = moved
                continue
            position = upto
            applied += len(events)
            if progress:
                progress(position, max(head, position))
            if not full:
                return applied

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop the view's rows and position, then apply the whole log again."""
        for statement in self.projection.drop_statements():
            self.log.recorder.run(statement, commit=True)
        self.log.recorder.forget_tracked(self.projection.name)
        for statement in self.projection.create_statements(self.log.tables.p):
            self.log.recorder.run(statement, commit=True)
        # Each page rewrites the rows of every case it touches; from zero, that is most
        # cases on every page, so larger pages save most of the writing.
        return self.catch_up(progress, page=max(self.page, REBUILD_PAGE))
