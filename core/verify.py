"""Verifying the whole log from the log alone: chains, sequences, signatures.

For every case the chain is recomputed from the sealed bytes; a changed byte, a swapped
payload, a removed or reordered event shows as a broken link or a gap, reported with the
case and position. Every event's digest must be in a batch manifest that its device
signed (one signature check per batch). Verification needs no case key: an erased case
still verifies.

Given the server's own signing key (from its key file, not from the database), the
device of every batch is the one the administrative log enrolled (`core.accounts`), not
whatever the devices table says, and rows of the administration tables that no
administrative event accounts for are reported too (case id empty, position 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.accounts import Accounts, WorkerRow
from core.adminlog import ADMIN_STREAM, ADMIN_TOPIC, read_change
from core.chain import genesis, next_link
from core.errors import CodecError, SignatureInvalid
from core.log import CaseLog, unpack_envelope
from core.logstore import StoredRow
from core.sealing import SealedEvent, parse

Checked = tuple[set[bytes], str] | str
"""A batch's digests and device when its signature verifies; why not otherwise."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the log, at a case's event (position 0 when it has none)."""

    case_id: str
    position: int
    seq: int
    problem: str


@dataclass
class Report:
    """What `verify` found: counts, the problems, and each case's last chain link."""

    events: int = 0
    cases: int = 0
    batches: int = 0
    problems: list[Problem] = field(default_factory=list)
    heads: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    log: CaseLog,
    progress: Callable[[int, int], None] | None = None,
    *,
    server_key: bytes | None = None,
    workers: Sequence[WorkerRow] = (),
    departments: Sequence[str] = (),
) -> Report:
    """Check every event of the log; the report lists each problem found.

    With `server_key`, batches are checked against the administrative log's devices and
    the devices table, `workers` and `departments` against its events; without, against
    the devices table (a log used by tools, with no administrative log)."""
    report = Report()
    total = log.max_position()
    heads: dict[str, tuple[int, bytes]] = {}
    batches: dict[str, Checked] = {}
    accounts = None if server_key is None else Accounts(server_key)
    if accounts is not None:
        _take_found(log, accounts)
    indexed = log.recorder.event_index()
    after = 0
    while True:
        rows = log.recorder.notifications(after, 2000)
        if not rows:
            break
        for row in rows:
            after = row.position
            report.events += row.topic != ADMIN_TOPIC  # case events; the administrative log apart
            _check_event(log, row, report, heads, batches, indexed, accounts)
        if progress:
            progress(after, total)
    report.cases = len(heads) - (ADMIN_STREAM in heads)
    if accounts is not None:
        unaccounted = accounts.unaccounted(log.devices(), workers, departments)
        report.problems += [Problem("", 0, 0, msg) for msg in unaccounted]
    for case_id, seq in _index_heads(indexed).items():
        if heads.get(case_id, (0, b""))[0] < seq:
            report.problems.append(
                Problem(case_id, 0, seq, f"the index knows event {seq} of this case but the log ends earlier")
            )
    report.heads = {c: h[1].hex() for c, h in heads.items()}
    return report


def _check_event(
    log: CaseLog,
    row: StoredRow,
    report: Report,
    heads: dict[str, tuple[int, bytes]],
    batches: dict[str, Checked],
    indexed: dict[str, tuple[str, int]],
    accounts: Accounts | None = None,
) -> None:
    """Check one stored event against the chain so far, the index and its batch's seal."""
    case_id, seq = row.case_id, row.seq

    def flag(msg: str) -> None:
        report.problems.append(Problem(case_id, row.position, seq, msg))

    last_seq, link = heads.get(case_id, (0, genesis(case_id)))
    try:
        raw, _received, stored_link, batch_id = unpack_envelope(row.state)
        sealed = parse(raw)
    except CodecError as exc:
        flag(f"the stored event cannot be read: {exc}")
        heads[case_id] = (seq, b"")
        return
    if seq != last_seq + 1:
        flag(
            f"sequence {seq} follows {last_seq}: "
            + ("an event is missing" if seq > last_seq + 1 else "events are out of order")
        )
    if sealed.case_id != case_id:
        flag(f"the sealed event belongs to case {sealed.case_id}, not to this case")
    if sealed.topic != row.topic:
        flag(f"the stored type {row.topic} differs from the sealed type {sealed.topic}")
    if indexed.get(sealed.event_id) not in (None, (case_id, seq)):
        flag(f"event {sealed.event_id} is indexed at another place in the log")
    digest = sealed.digest
    expected = next_link(link, seq, digest) if link else b""
    if expected != stored_link:
        flag("the chain link does not match: the event or one before it was altered, removed or reordered")
    heads[case_id] = (seq, stored_link)
    # Signature: the digest is in a manifest its device signed.
    if batch_id not in batches:
        batches[batch_id] = _check_batch(log, batch_id, accounts, row.position)
        report.batches += row.topic != ADMIN_TOPIC  # the devices' batches; the server's own apart
    checked = batches[batch_id]
    if isinstance(checked, str):
        flag(checked)
        return
    digests, device_id = checked
    if digest not in digests:
        flag("the event is not among the events its device signed")
    elif sealed.header.device != device_id:
        flag(f"the event claims device {sealed.header.device} but batch was signed by {device_id}")
    elif accounts is not None and (ADMIN_STREAM in (case_id, sealed.case_id) or sealed.topic == ADMIN_TOPIC):
        _account(accounts, sealed, row.position, device_id, flag)


def _account(
    accounts: Accounts, sealed: SealedEvent, position: int, device_id: str, flag: Callable[[str], None]
) -> None:
    """Take a signed event of the administrative log into account; flag one that is not
    an administrative change sealed by the server."""
    if device_id != "server" or sealed.topic != ADMIN_TOPIC:
        flag(f"an event of type {sealed.topic} by device {device_id} is in the administrative log")
        return
    try:
        accounts.apply(read_change(sealed), position)
    except CodecError as exc:
        flag(f"the administrative event cannot be read: {exc}")


def _take_found(log: CaseLog, accounts: Accounts) -> None:
    """Take the "as found" events that open the administrative log (`server.accounts.adopt`)
    as true from the log's start: an older data folder's batches, stored before them,
    were signed by the devices they account for. Only an event in a batch the server's
    key signed counts; the replay flags any other."""
    try:
        for le in log.case_events(ADMIN_STREAM):
            c = read_change(le.sealed)
            seal = log.batch(le.batch_id)
            if not c["as_found"] or seal is None or le.sealed.digest not in seal.digests:
                return
            seal.verify(accounts.server_key)
            accounts.found(c)
    except (CodecError, SignatureInvalid):
        return


def _index_heads(indexed: dict[str, tuple[str, int]]) -> dict[str, int]:
    heads: dict[str, int] = {}
    for case_id, seq in indexed.values():
        heads[case_id] = max(seq, heads.get(case_id, 0))
    return heads


def _check_batch(log: CaseLog, batch_id: str, accounts: Accounts | None, position: int) -> Checked:
    seal = log.batch(batch_id)
    if seal is None:
        return f"batch {batch_id} is missing"
    if accounts is not None:
        key = accounts.signing_key(seal.device_id, position, batch_id)
        if isinstance(key, str):
            return key
    else:
        device = log.device(seal.device_id)
        if device is None:
            return f"batch {batch_id} was signed by device {seal.device_id}, which is not enrolled"
        key = device.signing_key
    try:
        seal.verify(key)
    except SignatureInvalid:
        return f"batch {batch_id} is not signed by device {seal.device_id}"
    return set(seal.digests), seal.device_id
