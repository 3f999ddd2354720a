"""The storage seam of the case log: everything the log, sync, views and audit ask of the database.

`LogStore` is the one typed surface between the domain and SQL. Its implementations are
the eventsourcing library's application recorders for SQLite and PostgreSQL, extended in
`core.recorders`, which hold all SQL of the log's own tables (stored events, batches,
event index, case keys, devices, caseloads). Code above the seam speaks of events,
devices, keys and positions, never of tables or placeholders.

Views that own their tables (`core.projection` and the projections it drives, the access
log, the server's administration tables) write their own SQL through `LogStore.run`,
naming their tables with `LogStore.tables` (`Dialect`), and commit their rows with the
position they applied through `LogStore.commit_tracked`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from core.heads import CaseHeads
from core.signing import BatchSeal

Row = tuple[str, int, str, bytes]
"""A case event as the log stores it: case id, case sequence, event type, envelope."""

EventRow = tuple[int, int, bytes]
"""A stored case event as read back: global position, case sequence, envelope."""

Write = tuple[str, Sequence[Any]]
"""One statement of a view's own SQL with its parameters."""


class StoredRow(NamedTuple):
    """A stored case event with everything the database holds about it."""

    position: int
    case_id: str
    seq: int
    topic: str
    state: bytes


class StoredKey(NamedTuple):
    """A case key as the log stores it: wrapped under the KEK until it is destroyed."""

    key_id: str
    wrapped: bytes | None
    destroyed_at: int | None  # µs since the epoch; None while the key exists


@dataclass(frozen=True, slots=True)
class Device:
    """An enrolled device: its worker, public keys, and when it was enrolled and revoked."""

    device_id: str
    worker: str
    signing_key: bytes
    agreement_key: bytes
    enrolled_at: int
    revoked_at: int | None


class Dialect(Protocol):
    """How a view that owns its tables writes SQL for this database."""

    @property
    def p(self) -> str:
        """The parameter placeholder (``?`` on SQLite, ``%s`` on PostgreSQL)."""
        ...

    @property
    def q(self) -> str:
        """The prefix that puts a table in the log's schema (empty on SQLite)."""
        ...

    def bump(self) -> str:
        """The statement that moves one kind of change's generation on (`core.generations`);
        its one parameter is the kind."""
        ...


class LogStore(Protocol):
    """What the case log and those who follow it need from the database."""

    @property
    def tables(self) -> Dialect:
        """Placeholder and schema prefix for the SQL of views that own their tables."""
        ...

    @property
    def heads(self) -> CaseHeads | None:
        """Where each case ends, asked from the event loop; None for an in-memory database."""
        ...

    # -- events ------------------------------------------------------------------------
    def append(
        self,
        rows: Sequence[Row],
        *,
        batches: Sequence[tuple[str, str, int, bytes, bytes]] = (),
        index: Sequence[tuple[str, str, int]] = (),
        keys: Sequence[tuple[str, str, bytes]] = (),
        digests: Sequence[bytes] = (),
        writes: Sequence[Write] = (),
    ) -> list[int]:
        """Store case events with their batch seals, event index rows and new wrapped keys,
        in one transaction, each a leaf of the log's Merkle tree; the events' global
        positions. `digests`, when given, are the SHA-256 of each row's sealed bytes (the
        log has them already; the tree's leaves need them). `writes` go in the same
        transaction (the table rows an administrative event explains). IntegrityError when
        a case sequence or an event id is taken."""
        ...

    def max_position(self) -> int:
        """The global position of the newest event (0 for an empty log)."""
        ...

    def last_event(self, case_id: str) -> tuple[int, bytes] | None:
        """(sequence, envelope) of the case's last event; None for a case with no events."""
        ...

    def read(self, after: int, limit: int) -> list[EventRow]:
        """Events after a global position, in log order, without the administrative log's
        (`core.adminlog`): what views and reports of cases follow."""
        ...

    def case_events(
        self, case_id: str, after: int = 0, upto: int | None = None, topics: Sequence[str] = ()
    ) -> list[EventRow]:
        """One case's events with sequence in (after, upto], in sequence order; of the
        stored types `topics` only, when named."""
        ...

    def page(self, case_ids: Sequence[str], after: int, upto: int, limit: int) -> list[EventRow]:
        """Events of the given cases with position in (after, upto], in position order."""
        ...

    def case_keys_of(self, case_ids: Sequence[str]) -> dict[str, StoredKey]:
        """The current stored key of each named case that has one (one question for all)."""
        ...

    def case_tails(self, afters: Mapping[str, int]) -> list[EventRow]:
        """The events of each named case after the sequence named for it (one question for
        many cases), in sequence order within each case."""
        ...

    def cases_with_events_upto(self, case_ids: Sequence[str], upto: int) -> list[str]:
        """Those of the cases that have an event at or below position `upto`, sorted."""
        ...

    def last_seqs(self, case_ids: Sequence[str]) -> dict[str, int]:
        """The last case sequence of each named case that has events (one question for all)."""
        ...

    def notifications(self, after: int, limit: int, topics: Sequence[str] = ()) -> list[StoredRow]:
        """Events after a global position (of the given types only, when named), in log order."""
        ...

    def find(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """Event id -> (case id, sequence) for those of the events already stored."""
        ...

    def event_index(self) -> dict[str, tuple[str, int]]:
        """The whole event index: event id -> (case id, sequence)."""
        ...

    def batch(self, batch_id: str) -> BatchSeal | None:
        """The signed manifest of a stored batch; None when no event of it was stored."""
        ...

    def batches(self, batch_ids: Sequence[str]) -> dict[str, BatchSeal]:
        """The signed manifests of the stored batches among `batch_ids`, by id."""
        ...

    # -- the Merkle tree over the log (core.merkle, core.tree) ----------------------------
    def tree_size(self) -> int:
        """How many leaves the tree holds (each stored event is one, in position order), once
        the subtrees above leaves stored since the last question are hashed."""
        ...

    def tree_nodes(self, nodes: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The hashes of complete subtrees (level, index) that the tree holds; level 0 are leaves."""
        ...

    def tree_leaves(self, after: int, limit: int) -> list[tuple[int, int, bytes]]:
        """(leaf index, position, leaf hash) of up to `limit` leaves from index `after` on."""
        ...

    def leaf_of(self, position: int) -> int | None:
        """The leaf index of the event at a position; None when no event is there."""
        ...

    def leaf_indices(self, positions: Sequence[int]) -> dict[int, int]:
        """The leaf index of the event at each of `positions` (one query per few hundred);
        a position where no event is stored is left out."""
        ...

    def grow_tree_from_log(self, page: int = 5000) -> int:
        """Add the stored events the tree does not hold yet (a log older than its tree);
        how many."""
        ...

    def add_tree_head(self, size: int, root: bytes, signed_at: int, signature: bytes) -> None:
        """Keep a signed tree head (the first one signed for a size stays)."""
        ...

    def tree_heads(self, *, latest: bool = False) -> list[tuple[int, bytes, int, bytes]]:
        """(size, root, signed at µs, signature) of every signed head, by size; only the
        largest when `latest`."""
        ...

    # -- case keys ---------------------------------------------------------------------
    def case_key(self, case_id: str) -> StoredKey | None:
        """The case's stored key; None for a case the log never held a key of."""
        ...

    def earlier_keys(self, case_id: str) -> list[tuple[str, bytes]]:
        """The case's keys before its current one, (key id, wrapped), oldest first."""
        ...

    def rotate_key(self, case_id: str, key_id: str, wrapped: bytes, at: int) -> bool:
        """Make a new key the case's current one and keep the one it replaces among the
        earlier keys, in one transaction; False when the case has no live key."""
        ...

    def key_ids(self, case_ids: Sequence[str]) -> dict[str, list[str]]:
        """The key ids of each named case with a live key, oldest first, the current last."""
        ...

    def grant_rows(self, device_id: str, case_ids: Sequence[str]) -> list[tuple[str, str, int]]:
        """(case id, key id, cursor of the pull that carried it) of every key of the named
        cases granted to a device."""
        ...

    def add_grants(self, device_id: str, granted: Sequence[tuple[str, str]], at: int, cursor: int) -> None:
        """Record that (case id, key id) were granted to a device by a pull after `cursor`."""
        ...

    def granted_devices(self, case_id: str, key_id: str) -> list[str]:
        """The devices ever granted a case's key id."""
        ...

    def granted_cases(self, device_ids: Sequence[str]) -> list[str]:
        """The cases any key of which was granted to one of the devices."""
        ...

    def has_key(self, case_id: str) -> bool:
        """Whether the log holds (or held, before erasure) a key of the case."""
        ...

    def add_key(self, case_id: str, key_id: str, wrapped: bytes) -> None:
        """Store a case key wrapped under the KEK."""
        ...

    def destroy_key(self, case_id: str, at: int) -> None:
        """Overwrite the wrapped current key, delete the earlier ones, and note when the
        case's keys were destroyed."""
        ...

    def case_ids(self, among: Iterable[str] | None = None) -> list[str]:
        """Cases the log holds or held a key of (only those `among`, when given), sorted."""
        ...

    # -- devices -----------------------------------------------------------------------
    def add_device(self, device: Device) -> None:
        """Enroll a device."""
        ...

    def device_writes(self, device: Device) -> list[Write]:
        """The statements that enroll a device, to commit with its administrative event."""
        ...

    def revoke_device(self, device_id: str, at: int) -> None:
        """Mark a device revoked, unless it was already."""
        ...

    def revoke_writes(self, device_id: str, at: int) -> list[Write]:
        """The statements that revoke a device, to commit with its administrative event."""
        ...

    def device(self, device_id: str) -> Device | None:
        """An enrolled device, revoked or not; None when unknown."""
        ...

    def devices(self) -> list[Device]:
        """Every enrolled device, in order of enrollment."""
        ...

    # -- caseloads ---------------------------------------------------------------------
    def assign(self, case_id: str, worker: str) -> bool:
        """Assign a case to a worker; False when it already was."""
        ...

    def unassign(self, case_id: str, worker: str) -> bool:
        """End an assignment; False when there was none."""
        ...

    def assigned(self, worker: str) -> list[str]:
        """The cases assigned to a worker, sorted."""
        ...

    def formerly_assigned(self, worker: str, among: Iterable[str]) -> list[str]:
        """The cases `among` whose assignment to the worker was ended, sorted."""
        ...

    def openers_position(self) -> int:
        """The position up to which the authors of opened cases are indexed."""
        ...

    def add_openers(self, found: Iterable[tuple[str, str]], position: int) -> None:
        """Index (case id, author) of opened cases (the first author of a case wins), and
        note that the log was indexed up to `position`."""
        ...

    def opened_by(self, worker: str) -> list[str]:
        """The cases a worker opened, sorted."""
        ...

    # -- generations of administrators' changes (core.generations) ------------------------
    def generations(self) -> dict[str, int]:
        """The generation of each kind of change, as committed."""
        ...

    def bump(self, kind: str) -> None:
        """Move one kind's generation on, in a transaction of its own."""
        ...

    def erased_cases(self) -> list[str]:
        """The cases whose key was destroyed, sorted."""
        ...

    def commit_writes(self, writes: Sequence[Write]) -> None:
        """Commit several statements (a change and the bump of its generation) in one
        transaction."""
        ...

    # -- views that own their tables ----------------------------------------------------
    def run(self, statement: str, params: Sequence[Any] = (), *, commit: bool = False) -> list[tuple[Any, ...]]:
        """Run one statement of a view's own SQL; its rows as tuples."""
        ...

    def tracked_position(self, name: str) -> int:
        """The position a view has applied (0 when it applied nothing)."""
        ...

    def commit_tracked(self, name: str, writes: Sequence[Write], position: int) -> None:
        """Commit a view's row writes with its new position in one transaction.
        IntegrityError when another writer recorded that position first."""
        ...

    def forget_tracked(self, name: str) -> None:
        """Forget the position a view has applied (before rebuilding it)."""
        ...

    def close(self) -> None:
        """Stop background work and close the database connections."""
        ...
