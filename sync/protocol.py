"""Message shapes of push and pull, encoded as msgpack maps with a version.

Push (laptop -> server)::

    {"v": 1, "batch": {"id": str, "device": str, "events": [sealed bytes, ...],
                       "signature": bytes},
     "keys": [{"case": str, "key_id": str, "grant": bytes}, ...],
     "after": str}

``keys`` carries the data keys of cases opened on the laptop, each wrapped for the
server's X25519 key (recipient id ``"server"``). ``after`` (optional) is the id of the
batch this one follows: the server judges it only once that batch was judged, so a
laptop may have its next batch on the way while the server judges the previous one,
and its batches are still judged in its order (409 when that batch never comes). The
answer::

    {"v": 1, "results": [{"event": str, "status": "accepted"|"duplicate"|"rejected",
                          "case": str, "seq": int, "position": int, "reason": str}, ...],
     "conflicts": [{"case": str, "conflict": str, "rule": str, "events": [str, ...]}]}

Per event, in batch order: ``accepted`` (stored now, with its case sequence and global
position), ``duplicate`` (already stored: the original sequence and position, so a retry
gets the answers of the first try) or ``rejected`` (nothing stored; ``reason`` is the
broken rule's sentence; ``event`` is ``""`` when the bytes are not a sealed event). An
event recorded offline that clashes with what happened meanwhile is accepted and named
in ``conflicts``, one per ``conflict flagged`` event the server recorded. A batch whose
signature does not verify is refused whole (HTTP 403), never answered per event.

Pull (laptop -> server)::

    {"v": 1, "after": int, "limit": int, "holding": [case id, ...],
     "veiled": [{"case": str, "seqs": [[low, high], ...]}, ...],
     "forget_after": {"case": str, "seq": int}}

``holding`` is the set of cases the laptop holds, so the server can back-fill newly
assigned cases and tell the laptop to drop cases no longer assigned. ``veiled``
(optional) names, per held case, the sequences the laptop holds only as placeholders, so
the server can send whole what the department may see by now (a consent given since);
the server trusts it with nothing: it answers from it only what it would send anyway.
The answer::

    {"v": 1, "events": [{"position": int, "seq": int, "case": str, "sealed": bytes,
                         "received": int, "link": bytes}, ...],
     "placeholders": [{"position": int, "seq": int, "case": str, "digest": bytes,
                       "link": bytes}, ...],
     "forget": [{"case": str, "seqs": [[low, high], ...]}, ...],
     "forget_next": {"case": str, "seq": int} | nil,
     "grants": [{"case": str, "key_id": str, "grant": bytes}, ...],
     "drop": [case id, ...], "next": int, "more": bool, "head": int,
     "departments": [{"id", "name", "authority", "legal_areas", "disability_model"}, ...]}

``events`` holds whole only the events the department of the device's worker may see now
(`core.visibility`) and the worker's own; every other event of the page is in
``placeholders``: what the chain needs (``digest`` is the SHA-256 of the sealed bytes)
and nothing of its header or payload. ``forget`` names, for every held case still in the
caseload, the sequences the laptop may no longer hold whole (a consent withdrawn or
expired, a share ended, the department left): the laptop replaces them by placeholders
in the transaction that applies the page. ``drop`` also names held cases that were
erased. ``forget`` names at most `MAX_FORGET` ranges: when there are more, the answer
has ``more`` and ``forget_next`` (``{"case", "seq"}``), which the next pull sends back
as ``forget_after`` to get the rest (cases in id order, sequences after ``seq``).
Back-filled events of newly assigned cases come first (their positions may be at or below
``after``), and so do events of ``veiled`` sequences now visible; the laptop applies
them by position and case sequence, and moves its cursor to ``next`` in the same
transaction. The new fields are additive, so the version stays 1: a laptop that does not
know them still gets only the view, but keeps what it held before.

A pull also names ``kept_size``, the size of the tree head the laptop kept last, and the
answer carries ``tree`` (``{"head": {"size", "root", "signed_at", "signature",
"public_key"}, "since", "consistency": [hash], "inclusion": [hash]}``) with, per event
and placeholder, ``leaf`` and ``batch`` (and a placeholder's ``received``): what the
laptop needs to check the page against the signed head before applying it
(`sync.pageproof`, `client.heads`).

Who signed is checked too (`client.signers`). A pull names ``admin_after``, the sequence
of the last administrative event the laptop replayed; the answer carries ``admin``, the
administrative events after it up to the head (maps as ``events``, in sequence order,
each with its leaf place: they are in the same inclusion proof), ``erased``, the erasure
tombstone of every dropped case that was erased (the laptop checks who signed it before
it drops the case), ``batches`` (``[{"id", "device", "digests": [hash], "signature"}]``),
the signed manifest of every batch that a whole event, an administrative event or a
tombstone of the answer came in, and ``server_key``, the server's public signing key,
which signs the administrative events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgpack

from core.signing import BatchSeal
from core.treehead import TreeHead
from sync.errors import LimitExceeded, MalformedMessage
from sync.pageproof import LeafPlace, PageProof
from sync.pulled import PulledEvent, Ranges, placeholder

VERSION = 1
SERVER_ID = "server"
"""The server's id where the protocol names a party: the recipient of key grants a laptop
wraps for the server, and the device and author of what the server itself records."""
MAX_BATCH = 5000
MAX_PAGE = 5000
DEFAULT_PAGE = 1000
MAX_HOLDING = 20000
MAX_RANGES = 50000  # ranges of case sequences in one message's `veiled` or `forget`
MAX_FORGET = 10000  # ranges one pull answer's `forget` names; the rest comes in the next
MAX_EVENT_BYTES = 256 * 1024
MAX_BATCH_ID = 200
_T = TypeVar("_T")


@dataclass(frozen=True)
class KeyGrant:
    case_id: str
    key_id: str
    grant: bytes


@dataclass(frozen=True)
class PushRequest:
    seal: BatchSeal
    events: tuple[bytes, ...]
    keys: tuple[KeyGrant, ...] = ()
    after: str | None = None  # the batch this one follows


@dataclass(frozen=True)
class EventResult:
    event_id: str
    status: str  # accepted | duplicate | rejected
    case_id: str = ""
    seq: int = 0
    position: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Conflict:
    case_id: str
    conflict_id: str
    rule: str
    events: tuple[str, ...]


@dataclass(frozen=True)
class PushResponse:
    results: tuple[EventResult, ...]
    conflicts: tuple[Conflict, ...] = ()


CaseRanges = tuple[tuple[str, Ranges], ...]
"""Per case id, ranges of its case sequences."""
Mark = tuple[str, int]
"""A place in the sorted list of a laptop's cases: after sequence `seq` of case `case`."""


@dataclass(frozen=True)
class PullRequest:
    after: int
    limit: int = DEFAULT_PAGE
    holding: tuple[str, ...] = ()
    veiled: CaseRanges = ()  # held only as placeholders
    forget_after: Mark | None = None  # where the previous answer's `forget` stopped
    kept_size: int | None = None  # the size of the tree head the laptop kept last
    admin_after: int | None = None  # the last administrative event the laptop replayed


@dataclass(frozen=True)
class PullResponse:
    events: tuple[PulledEvent, ...]
    grants: tuple[KeyGrant, ...] = ()
    drop: tuple[str, ...] = ()
    next: int = 0
    more: bool = False
    head: int = 0
    departments: tuple[dict[str, Any], ...] = ()
    forget: CaseRanges = ()  # held whole, now to be held as placeholders
    forget_next: Mark | None = None  # `forget` was cut here: ask again from this mark
    proof: PageProof | None = None  # the signed head and the proofs that tie the page to it
    vocabularies: dict[str, Any] | None = None  # the municipality's word lists (core.vocabularies)
    admin: tuple[PulledEvent, ...] = ()  # administrative events after the laptop's `admin_after`
    erased: tuple[PulledEvent, ...] = ()  # the tombstones of dropped cases that were erased
    batches: tuple[BatchSeal, ...] = ()  # the signed manifests of the batches the answer's events came in
    server_key: bytes = b""  # the server's public signing key (administrative events)


# --- decoding helpers: every field is checked, nothing is trusted ------------------------


def _pack(message: dict[str, Any]) -> bytes:
    packed: bytes = msgpack.packb(message)
    return packed


@dataclass(frozen=True)
class Bounds:
    """How much one msgpack message may make the decoder build, checked while it decodes.

    msgpack refuses a longer array, map, string or binary at its header, before building
    it; the hooks count the maps and arrays built and their entries, and stop the decoding
    as soon as the message asks for more than its shape can need. A body of millions of
    empty maps therefore costs the sender, not the server's memory.
    """

    array: int  # entries of one array
    map: int  # entries of one map
    string: int  # bytes of one string
    binary: int  # bytes of one binary
    containers: int  # maps and arrays in the whole message
    entries: int  # entries of all its arrays and maps together


# A push: a few maps, the events (binaries) and one small map per key grant.
PUSH_BOUNDS = Bounds(MAX_BATCH, 16, 1024, MAX_EVENT_BYTES, MAX_BATCH + 16, 4 * MAX_BATCH + 64)
# A pull: one map, the list of held case ids and the ranges of veiled sequences.
PULL_BOUNDS = Bounds(
    max(MAX_HOLDING, MAX_RANGES),
    16,
    1024,
    1024,
    2 * MAX_HOLDING + MAX_RANGES + 16,
    3 * MAX_HOLDING + 2 * MAX_RANGES + 64,
)
MAX_MANIFESTS = 40 * MAX_BATCH  # digests of the batch manifests one pull answer carries
# The server's answers, read by a laptop: a page of event maps, the department list and
# the signed manifests of the page's batches.
ANSWER_BOUNDS = Bounds(
    max(MAX_PAGE, MAX_BATCH, MAX_HOLDING),
    64,
    64 * 1024,
    64 * 1024 * 1024,
    4 * max(MAX_PAGE, MAX_BATCH) + 2 * MAX_HOLDING + MAX_RANGES + 10_000,
    16 * max(MAX_PAGE, MAX_BATCH) + 3 * MAX_HOLDING + 2 * MAX_RANGES + MAX_MANIFESTS + 10_000,
)


class _TooMuch(Exception):
    """Raised by a decoding hook to stop a message that builds more than its bounds."""


class _Counter:
    """The decoding hooks of one message: they count what was built against `bounds`."""

    def __init__(self, bounds: Bounds) -> None:
        self.bounds = bounds
        self.containers = 0
        self.entries = 0

    def _count(self, entries: int) -> None:
        self.containers += 1
        self.entries += entries
        if self.containers > self.bounds.containers or self.entries > self.bounds.entries:
            raise _TooMuch

    def pairs(self, pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
        self._count(len(pairs))
        return dict(pairs)

    def array(self, items: list[Any]) -> list[Any]:
        self._count(len(items))
        return items


def _unpack(body: bytes, bounds: Bounds = ANSWER_BOUNDS) -> dict[str, Any]:
    counter = _Counter(bounds)
    try:
        msg = msgpack.unpackb(
            body,
            raw=False,
            strict_map_key=True,
            max_array_len=bounds.array,
            max_map_len=bounds.map,
            max_str_len=bounds.string,
            max_bin_len=bounds.binary,
            max_ext_len=0,
            object_pairs_hook=counter.pairs,
            list_hook=counter.array,
        )
    except _TooMuch:
        raise LimitExceeded(
            f"the message holds more than {bounds.containers} maps and lists "
            f"or {bounds.entries} entries in all, more than its shape needs"
        ) from None
    except ValueError as exc:
        if "exceeds max" in str(exc):
            raise LimitExceeded(f"the message holds a value longer than this protocol allows: {exc}") from None
        raise MalformedMessage("the body is not valid msgpack") from exc
    except Exception as exc:
        raise MalformedMessage("the body is not valid msgpack") from exc
    if not isinstance(msg, dict):
        raise MalformedMessage("the body must be a msgpack map")
    if msg.get("v") != VERSION:
        raise MalformedMessage(f"unsupported protocol version {msg.get('v')!r}; this server speaks {VERSION}")
    return msg


def _get(msg: dict[str, Any], key: str, tp: type | tuple[type, ...], what: str) -> Any:
    value = msg.get(key)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        names = tp.__name__ if isinstance(tp, type) else " or ".join(t.__name__ for t in tp)
        raise MalformedMessage(f"{what}: field {key!r} must be {names}")
    return value


def _each(items: Any, field: str, what: str, build: Callable[[dict[str, Any]], _T]) -> tuple[_T, ...]:
    """Each map of the list in `field`, built; MalformedMessage for anything else."""
    if not isinstance(items, list):
        raise MalformedMessage(f"field {field!r} must be a list")
    if not all(isinstance(m, dict) for m in items):
        raise MalformedMessage(f"each {what} must be a map")
    return tuple(build(m) for m in items)


def _grants(items: Any) -> tuple[KeyGrant, ...]:
    return _each(
        items,
        "keys",
        "key grant",
        lambda g: KeyGrant(
            _get(g, "case", str, "key grant"),
            _get(g, "key_id", str, "key grant"),
            _get(g, "grant", bytes, "key grant"),
        ),
    )


def encode_push(req: PushRequest) -> bytes:
    return _pack(
        {
            "v": VERSION,
            "batch": {
                "id": req.seal.batch_id,
                "device": req.seal.device_id,
                "events": list(req.events),
                "signature": req.seal.signature,
            },
            "keys": [{"case": k.case_id, "key_id": k.key_id, "grant": k.grant} for k in req.keys],
            **({"after": req.after} if req.after is not None else {}),
        }
    )


def decode_push(body: bytes) -> PushRequest:
    """Decode and check a push body; MalformedMessage or LimitExceeded when it is not valid."""
    msg = _unpack(body, PUSH_BOUNDS)
    batch = _get(msg, "batch", dict, "push")
    events = _get(batch, "events", list, "batch")
    if not events:
        raise MalformedMessage("a batch carries at least one event")
    if len(events) > MAX_BATCH:
        raise LimitExceeded(f"a batch carries at most {MAX_BATCH} events; this one has {len(events)}")
    for raw in events:
        if not isinstance(raw, bytes):
            raise MalformedMessage("each event in a batch must be sealed bytes")
        if len(raw) > MAX_EVENT_BYTES:
            raise LimitExceeded(f"a sealed event is at most {MAX_EVENT_BYTES} bytes")
    seal = BatchSeal(
        _get(batch, "id", str, "batch"),
        _get(batch, "device", str, "batch"),
        tuple(hashlib.sha256(raw).digest() for raw in events),
        _get(batch, "signature", bytes, "batch"),
    )
    after = msg.get("after")
    if after is not None and (not isinstance(after, str) or not 0 < len(after) <= MAX_BATCH_ID):
        raise MalformedMessage(f"field 'after' is the id of an earlier batch (at most {MAX_BATCH_ID} characters)")
    return PushRequest(seal, tuple(events), _grants(msg.get("keys", [])), after)


def encode_push_response(resp: PushResponse) -> bytes:
    return _pack(
        {
            "v": VERSION,
            "results": [
                {
                    "event": r.event_id,
                    "status": r.status,
                    "case": r.case_id,
                    "seq": r.seq,
                    "position": r.position,
                    "reason": r.reason,
                }
                for r in resp.results
            ],
            "conflicts": [
                {
                    "case": c.case_id,
                    "conflict": c.conflict_id,
                    "rule": c.rule,
                    "events": list(c.events),
                }
                for c in resp.conflicts
            ],
        }
    )


def decode_push_response(body: bytes) -> PushResponse:
    msg = _unpack(body)
    results = tuple(
        EventResult(
            r["event"],
            r["status"],
            r.get("case", ""),
            r.get("seq", 0),
            r.get("position", 0),
            r.get("reason", ""),
        )
        for r in _get(msg, "results", list, "push response")
    )
    conflicts = tuple(
        Conflict(c["case"], c["conflict"], c["rule"], tuple(c["events"])) for c in msg.get("conflicts", [])
    )
    return PushResponse(results, conflicts)


def _case_ranges(items: CaseRanges) -> list[dict[str, Any]]:
    return [{"case": case_id, "seqs": [list(r) for r in ranges]} for case_id, ranges in items]


def _decode_case_ranges(items: Any, what: str) -> CaseRanges:
    """Per-case ranges of case sequences; MalformedMessage or LimitExceeded when not valid."""
    if not isinstance(items, list):
        raise MalformedMessage(f"field {what!r} must be a list")
    out: list[tuple[str, Ranges]] = []
    total = 0
    for item in items:
        if not isinstance(item, dict):
            raise MalformedMessage(f"each entry of {what!r} must be a map")
        case_id = _get(item, "case", str, what)
        seqs = _get(item, "seqs", list, what)
        total += len(seqs)
        if total > MAX_RANGES:
            raise LimitExceeded(f"field {what!r} names at most {MAX_RANGES} ranges")
        ranges = []
        for r in seqs:
            if not (isinstance(r, list) and len(r) == 2 and all(type(x) is int for x in r) and 1 <= r[0] <= r[1]):
                raise MalformedMessage(f"{what}: a range of case sequences is [low, high] with 1 <= low <= high")
            ranges.append((r[0], r[1]))
        out.append((case_id, tuple(ranges)))
    return tuple(out)


def encode_pull(req: PullRequest) -> bytes:
    message: dict[str, Any] = {"v": VERSION, "after": req.after, "limit": req.limit, "holding": list(req.holding)}
    if req.veiled:
        message["veiled"] = _case_ranges(req.veiled)
    if req.forget_after is not None:
        message["forget_after"] = _mark(req.forget_after)
    if req.kept_size is not None:
        message["kept_size"] = req.kept_size
    if req.admin_after is not None:
        message["admin_after"] = req.admin_after
    return _pack(message)


def _mark(mark: Mark) -> dict[str, Any]:
    return {"case": mark[0], "seq": mark[1]}


def _decode_mark(value: Any, what: str) -> Mark | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MalformedMessage(f"field {what!r} must be a map of 'case' and 'seq'")
    seq = _get(value, "seq", int, what)
    if seq < 0:
        raise MalformedMessage(f"{what}: 'seq' cannot be negative")
    return (_get(value, "case", str, what), seq)


def decode_pull(body: bytes) -> PullRequest:
    """Decode and check a pull body; MalformedMessage or LimitExceeded when it is not valid."""
    msg = _unpack(body, PULL_BOUNDS)
    after = _get(msg, "after", int, "pull")
    limit = msg.get("limit", DEFAULT_PAGE)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise MalformedMessage("pull: field 'limit' must be a positive int")
    if limit > MAX_PAGE:
        raise LimitExceeded(f"a pull page holds at most {MAX_PAGE} events")
    if after < 0:
        raise MalformedMessage("pull: field 'after' cannot be negative")
    holding = msg.get("holding", [])
    if not isinstance(holding, list) or not all(isinstance(c, str) for c in holding):
        raise MalformedMessage("pull: field 'holding' must be a list of case ids")
    if len(holding) > MAX_HOLDING:
        raise LimitExceeded(f"a laptop holds at most {MAX_HOLDING} cases")
    veiled = _decode_case_ranges(msg.get("veiled", []), "veiled")
    kept = msg.get("kept_size")
    if kept is not None and (type(kept) is not int or not 0 <= kept < 1 << 62):
        raise MalformedMessage("pull: field 'kept_size' is the size of the laptop's last tree head")
    admin_after = msg.get("admin_after")
    if admin_after is not None and (type(admin_after) is not int or not 0 <= admin_after < 1 << 62):
        raise MalformedMessage("pull: field 'admin_after' is the sequence of an administrative event")
    forget_after = _decode_mark(msg.get("forget_after"), "forget_after")
    return PullRequest(after, limit, tuple(holding), veiled, forget_after, kept, admin_after)


def _placed(e: PulledEvent, places: dict[int, LeafPlace]) -> dict[str, Any]:
    """What an event's leaf needs beyond the event (`sync.pageproof`), for its map."""
    place = places.get(e.position)
    if place is None:
        return {}
    return {"leaf": place.leaf, "batch": place.batch, **({"received": place.received} if e.placeholder else {})}


def _tree(proof: PageProof | None) -> dict[str, Any] | None:
    if proof is None:
        return None
    head = proof.head
    return {
        "head": {
            "size": head.size,
            "root": head.root,
            "signed_at": head.signed_at,
            "signature": head.signature,
            "public_key": proof.public_key,
        },
        "since": proof.since,
        "consistency": list(proof.consistency),
        "inclusion": list(proof.inclusion),
    }


def encode_pull_response(resp: PullResponse) -> bytes:
    whole = [e for e in resp.events if not e.placeholder]
    veiled = [e for e in resp.events if e.placeholder]
    places = resp.proof.place_of() if resp.proof is not None else {}
    return _pack(
        {
            "v": VERSION,
            "events": [_whole(e, places) for e in whole],
            "placeholders": [
                {
                    "position": e.position,
                    "seq": e.seq,
                    "case": e.case_id,
                    "digest": e.digest,
                    "link": e.link,
                    **_placed(e, places),
                }
                for e in veiled
            ],
            "tree": _tree(resp.proof),
            "forget": _case_ranges(resp.forget),
            "forget_next": None if resp.forget_next is None else _mark(resp.forget_next),
            "grants": [{"case": g.case_id, "key_id": g.key_id, "grant": g.grant} for g in resp.grants],
            "drop": list(resp.drop),
            "next": resp.next,
            "more": resp.more,
            "head": resp.head,
            "departments": list(resp.departments),
            "vocabularies": resp.vocabularies,
            "admin": [_whole(e, places) for e in resp.admin],
            "erased": [_whole(e, places) for e in resp.erased],
            "batches": [
                {"id": b.batch_id, "device": b.device_id, "digests": list(b.digests), "signature": b.signature}
                for b in resp.batches
            ],
            "server_key": resp.server_key,
        }
    )


def _whole(e: PulledEvent, places: dict[int, LeafPlace]) -> dict[str, Any]:
    """An event delivered whole, as its map."""
    return {
        "position": e.position,
        "seq": e.seq,
        "case": e.case_id,
        "sealed": e.sealed,
        "received": e.received,
        "link": e.link,
        **_placed(e, places),
    }


def _hashes(value: Any, what: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or not all(isinstance(h, bytes) and len(h) == 32 for h in value):
        raise MalformedMessage(f"pull response: {what} is a list of SHA-256 hashes")
    return tuple(value)


def _decode_tree(value: Any, maps: list[dict[str, Any]]) -> PageProof | None:
    """The tree part of a pull answer with the leaf places from the event maps; None
    from a server that sends none (the laptop then refuses the page)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MalformedMessage("pull response: field 'tree' must be a map")
    head = _get(value, "head", dict, "tree")
    since = value.get("since")
    if since is not None and type(since) is not int:
        raise MalformedMessage("pull response: 'since' is the size of the laptop's kept head")
    places = tuple(
        LeafPlace(
            _get(e, "position", int, "event"),
            _get(e, "leaf", int, "event"),
            _get(e, "received", int, "event"),
            _get(e, "batch", str, "event"),
        )
        for e in maps
        if "leaf" in e
    )
    return PageProof(
        TreeHead(
            _get(head, "size", int, "head"),
            _get(head, "root", bytes, "head"),
            _get(head, "signed_at", int, "head"),
            _get(head, "signature", bytes, "head"),
        ),
        _get(head, "public_key", bytes, "head"),
        since,
        _hashes(value.get("consistency"), "'consistency'"),
        _hashes(value.get("inclusion"), "'inclusion'"),
        places,
    )


def _whole_event(e: dict[str, Any]) -> PulledEvent:
    """A whole event of a pull answer from its map, every field checked."""
    return PulledEvent(
        _get(e, "position", int, "event"),
        _get(e, "seq", int, "event"),
        _get(e, "case", str, "event"),
        _get(e, "sealed", bytes, "event"),
        _get(e, "received", int, "event"),
        _get(e, "link", bytes, "event"),
    )


def _veiled(e: dict[str, Any]) -> PulledEvent:
    """A placeholder of a pull answer from its map: what the chain needs, checked."""
    digest = _get(e, "digest", bytes, "placeholder")
    if len(digest) != 32:
        raise MalformedMessage("pull response: a placeholder's digest is a SHA-256 (32 bytes)")
    return placeholder(
        _get(e, "position", int, "placeholder"),
        _get(e, "seq", int, "placeholder"),
        _get(e, "case", str, "placeholder"),
        digest,
        _get(e, "link", bytes, "placeholder"),
    )


def _batch(b: dict[str, Any]) -> BatchSeal:
    """A batch's signed manifest from its map."""
    batch_id, device = _get(b, "id", str, "batch"), _get(b, "device", str, "batch")
    signature = _get(b, "signature", bytes, "batch")
    return BatchSeal(batch_id, device, _hashes(b.get("digests"), "a batch's 'digests'"), signature)


def decode_pull_response(body: bytes) -> PullResponse:
    """Decode and check a pull answer: a server's answer is checked as any body is, so a
    malformed or hostile one is MalformedMessage (or LimitExceeded), never a crash."""
    msg = _unpack(body)
    whole = _get(msg, "events", list, "pull response")
    maps = msg.get("placeholders", [])
    admin, erased = msg.get("admin") or [], msg.get("erased") or []
    events = _each(whole, "events", "event", _whole_event)
    veiled = _each(maps, "placeholders", "placeholder", _veiled)
    admins = _each(admin, "admin", "administrative event", _whole_event)
    tombstones = _each(erased, "erased", "tombstone", _whole_event)
    drop = msg.get("drop", [])
    if not (isinstance(drop, list) and all(isinstance(c, str) for c in drop)):
        raise MalformedMessage("pull response: field 'drop' must be a list of case ids")
    departments = msg.get("departments", [])
    if not isinstance(departments, list):
        raise MalformedMessage("pull response: field 'departments' must be a list")
    numbers = {"next": msg.get("next", 0), "head": msg.get("head", 0)}
    for name, value in numbers.items():
        if type(value) is not int or value < 0:
            raise MalformedMessage(f"pull response: field {name!r} must be a position")
    return PullResponse(
        events + veiled,
        _grants(msg.get("grants", [])),
        tuple(drop),
        numbers["next"],
        bool(msg.get("more", False)),
        numbers["head"],
        tuple(d for d in departments if isinstance(d, dict) and isinstance(d.get("id"), str)),
        _decode_case_ranges(msg.get("forget", []), "forget"),
        _decode_mark(msg.get("forget_next"), "forget_next"),
        _decode_tree(msg.get("tree"), [*whole, *maps, *admin, *erased]),
        msg["vocabularies"] if isinstance(msg.get("vocabularies"), dict) else None,
        admins,
        tombstones,
        _each(msg.get("batches") or [], "batches", "batch", _batch),
        msg["server_key"] if isinstance(msg.get("server_key"), bytes) else b"",
    )
