"""Retention and erasure: what is due, and how a case is erased (rules 7 and 10).

- A request for erasure must be decided within 30 days; `overdue_requests` lists those
  that were not.
- The retention clock starts when a case is closed and stops when it is reopened (the
  fold forgets `closed_at` on reopening); `due_cases` lists closed cases whose period
  for their kind (years after closing) has run out.
- `erase` is the one way a case is erased: the decrypted case is exported to an archive
  file first, sealed for the archive authority's public key (`core.archive`), never
  plain; then a `case erased` tombstone (header only, sealed without a key) is appended
  in a batch the server signs, and then the case key is destroyed. The log
  stays intact and verifiable, but no event of the case can be opened again.

Both lists are SQL over the case index of `core.case_index` (ids, statuses and times only), so
they need no case key and scale with the number of cases, not events.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from core import events as ev
from core.archive import seal_archive
from core.case import CaseState
from core.case_index import CaseRow, closed_cases, undecided_erasures
from core.case_view import event_json
from core.errors import InvalidInput, RuleViolation
from core.log import CaseLog
from core.recording import Author, make_event
from core.rules import erasure_grantor
from core.sealing import from_micros, seal, to_micros
from core.signing import sign_batch

DECISION_DEADLINE = timedelta(days=30)
#: Years a case is kept after closing, by kind, unless the settings say otherwise.
DEFAULT_RETENTION_YEARS: Mapping[str, int] = {"citizen": 5, "family": 5}


def add_years(moment: datetime, years: int) -> datetime:
    """The same day `years` later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def overdue_requests(log: CaseLog, now: datetime) -> list[CaseRow]:
    """Cases with an erasure request undecided for more than 30 days."""
    return undecided_erasures(log, to_micros(now - DECISION_DEADLINE))


def due_cases(
    log: CaseLog, now: datetime, years: Mapping[str, int] = DEFAULT_RETENTION_YEARS
) -> list[tuple[CaseRow, datetime]]:
    """Closed cases whose retention period has run out, with the day it ran out."""
    due: list[tuple[CaseRow, datetime]] = []
    for row in closed_cases(log):
        kept = years.get(row.kind or "", max(years.values(), default=0))
        until = add_years(from_micros(row.closed_at or 0), kept)
        if until <= now:
            due.append((row, until))
    return due


@dataclass(frozen=True)
class Erasure:
    """What `erase` did: where the archive went and the tombstone's place in the log."""

    case_id: str
    archive: str
    events: int
    tombstone: str
    position: int


def erase(
    log: CaseLog,
    case_id: str,
    archive: Path | str,
    *,
    archive_key: X25519PublicKey,
    server_id: str,
    signing: Ed25519PrivateKey,
    now: datetime,
    years: Mapping[str, int] = DEFAULT_RETENTION_YEARS,
    on_erased: Callable[[str], None] | None = None,
) -> Erasure:
    """Archive, tombstone and crypto-shred a case.

    Only a case with a granted erasure decision made by a caseworker or coordinator of
    its lead department (rule 10, `core.rules.erasure_grantor`), or a closed case past its
    retention period, may be erased (RuleViolation otherwise). The archive file must not exist yet
    (InvalidInput); it is written with mode 0600, sealed for the archive authority's public
    key `archive_key` (`core.archive.open_archive` opens it with the private half). Interrupted after the tombstone, a
    second call only destroys the key.
    """
    logged = log.case_events(case_id)
    if any(le.sealed.topic == ev.CaseErased.TOPIC for le in logged):
        log.destroy_key(case_id)
        raise RuleViolation(f"case {case_id} was already erased")
    events = [log.open(le) for le in logged]
    state, granted, not_entitled = _granted_erasures(case_id, events)
    if state.status == "new":
        raise RuleViolation(f"case {case_id} has no events to erase")
    closed_until = (
        add_years(state.closed_at, years.get(state.kind or "", max(years.values(), default=0)))
        if state.closed_at
        else None
    )
    if not granted and (closed_until is None or closed_until > now):
        if not_entitled:
            raise RuleViolation(
                f"case {case_id} is not erased: its erasure was granted by a worker who may not grant one "
                f"({not_entitled[0]})"
            )
        raise RuleViolation(
            f"case {case_id} may be erased only after a granted erasure decision or when its "
            "retention period after closing has run out"
        )
    path = Path(archive)
    received = {le.sealed.event_id: le.received for le in logged}
    document: dict[str, Any] = {
        "case": case_id,
        "exported_at": now.isoformat(),
        "reason": "granted erasure request" if granted else "retention period ran out",
        "events": [event_json(e, received.get(e.event_id)) for e in events],
    }
    _write_archive(path, seal_archive(document, archive_key))
    author = Author(server_id, "server", state.lead or "", server_id)
    tombstone = make_event(ev.CaseErased, case_id, events[0].header.key_id, author, state.seq, clock=lambda: now)
    sealed = seal(tombstone, None)
    batch = sign_batch(signing, str(uuid.uuid4()), server_id, [sealed.digest])
    receipt = log.append([sealed], batch, verify=False)[0]
    log.destroy_key(case_id)
    if on_erased is not None:
        on_erased(case_id)
    return Erasure(case_id, str(path), len(events), tombstone.event_id, receipt.position)


def _granted_erasures(case_id: str, events: list[ev.CaseEvent]) -> tuple[CaseState, int, list[str]]:
    """The case folded from its events, how many granted erasure decisions were made by a
    worker who may grant one, and why each other granted decision may not stand.

    Each grant is judged against the case as it was when it was recorded (its lead
    department then), by the same rule the laptop and the push apply (`erasure_grantor`);
    a grant that reached the log without that rule does not count.
    """
    state = CaseState(case_id)
    granted = 0
    not_entitled: list[str] = []
    for e in events:
        if isinstance(e, ev.ErasureDecided) and e.granted:
            try:
                erasure_grantor(state, e)
                granted += 1
            except RuleViolation as exc:
                not_entitled.append(str(exc))
        state.apply(e)
    return state, granted, not_entitled


def _write_archive(path: Path, sealed: bytes) -> None:
    """Write the sealed archive file (mode 0600) to disk; InvalidInput when it exists
    already or cannot be written."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"the archive file {path} exists already; choose a new path") from None
    except OSError as exc:
        raise InvalidInput(f"cannot write the archive file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(sealed)
        f.flush()
        os.fsync(f.fileno())
