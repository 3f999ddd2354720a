"""The laptop's own copy of who may sign, and its check of who signed each pull answer.

The tree's proofs (`client.heads`) show that what came is in the server's log. Who
signed it is a second question: an insider who inserts a device row in the database can
append a batch "signed" by that device, and the log then holds it consistently. So the
laptop replays the administrative log itself (`core.adminlog`, `core.accounts`): every
pull answer brings the administrative events after the last one the laptop replayed,
each a leaf of the same inclusion proof, continuing the administrative log's own chain,
and in a one-event batch the server's signing key signed (learnt at enrollment; a laptop
enrolled before trusts the key of its first answer and keeps it). Then every event the
answer delivers whole, and the tombstone of every case it drops as erased, must be in a
batch manifest signed by the key of a device the administrative log had enrolled, and
not revoked, before the event's position.

A failure is a `HeadRefused`: the sync stops with exit status 5, nothing is applied, and
the evidence is kept as for a broken proof. The replayed devices (ids, workers, public
keys, positions) are kept in the store's meta with the page that moved them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.accounts import Accounts, Enrolled
from core.adminlog import ADMIN_STREAM, SERVER, read_change
from core.chain import genesis, next_link
from core.errors import CodecError, SignatureInvalid
from core.sealing import parse
from core.signing import BatchSeal
from sync.pageproof import LeafPlace
from sync.protocol import PullResponse
from sync.pulled import PulledEvent

SIGNERS = "signers"
"""The store's meta entry of the laptop's replay of the administrative log."""
SERVER_KEY = "server_signing_key"
"""The store's meta entry of the server's public signing key."""


class Refused(Exception):
    """Why an answer's events are not signed by a device the administrative log allows."""


class Seals:
    """The answer's signed batch manifests by batch id, each with its digests as a set."""

    def __init__(self, batches: Sequence[BatchSeal]) -> None:
        self.batches = {b.batch_id: b for b in batches}
        self.digests: dict[str, set[bytes]] = {}

    def of(self, e: PulledEvent, places: dict[int, LeafPlace]) -> BatchSeal:
        """The signed manifest of the batch an event came in, holding its digest."""
        place = places.get(e.position)
        seal = None if place is None else self.batches.get(place.batch)
        if seal is None:
            raise Refused(f"the event at position {e.position} comes without the signed manifest of its batch")
        digests = self.digests.get(seal.batch_id)
        if digests is None:
            digests = self.digests[seal.batch_id] = set(seal.digests)
        if e.chained not in digests:
            raise Refused(f"the event at position {e.position} is not among those its batch's device signed")
        return seal


class Signers:
    """The administrative log as far as this laptop replayed it: the devices, with the
    positions of their enrollment and revocation, and where the replay stands."""

    def __init__(self, accounts: Accounts, seq: int = 0, link: bytes = b"") -> None:
        self.accounts = accounts
        self.seq = seq
        self.link = link or genesis(ADMIN_STREAM)

    @classmethod
    def of(cls, kept: dict[str, Any] | None, server_key: bytes) -> Signers:
        """The replay `as_dict` kept, checked against the server's key; from the start
        when none was kept."""
        accounts = Accounts(server_key)
        if not kept:
            return cls(accounts)
        for device_id, (worker, key, position, revoked, handed_over) in kept["devices"].items():
            accounts.devices[device_id] = Enrolled(worker, bytes(key), b"", position, revoked, set(handed_over))
        return cls(accounts, int(kept["seq"]), bytes(kept["link"]))

    def as_dict(self) -> dict[str, Any]:
        """What the store keeps: no personal data, ids and public keys."""
        return {
            "seq": self.seq,
            "link": self.link,
            "devices": {
                d: [e.worker, e.signing_key, e.position, e.revoked, sorted(e.handed_over)]
                for d, e in self.accounts.devices.items()
            },
        }

    def replay(self, admin: Sequence[PulledEvent], seals: Seals, places: dict[int, LeafPlace]) -> None:
        """Take the answer's administrative events, each the next of the chain and signed
        by the server; Refused at the first that is not."""
        for e in admin:
            where = f"the administrative event at position {e.position}"
            if e.case_id != ADMIN_STREAM or e.seq != self.seq + 1:
                raise Refused(f"{where} is not the next of the administrative log (sequence {self.seq + 1})")
            link = next_link(self.link, e.seq, e.chained)
            if link != e.link:
                raise Refused(f"{where} does not continue the administrative log's chain")
            seal = seals.of(e, places)
            if seal.device_id != SERVER:
                raise Refused(f"{where} came in a batch of device {seal.device_id}, not of the server")
            _verify(seal, self.accounts.server_key, f"{where} is not signed by the server's key")
            try:
                self.accounts.apply(read_change(parse(e.sealed)), e.position)
            except CodecError as exc:
                raise Refused(f"{where} cannot be read: {exc}") from None
            self.seq, self.link = e.seq, link

    def check(self, events: Sequence[PulledEvent], seals: Seals, places: dict[int, LeafPlace]) -> None:
        """Refused unless each whole event is in a batch manifest signed by the key its
        device had at the event's position."""
        verified: set[str] = set()
        for e in events:
            if e.placeholder:
                continue
            seal = seals.of(e, places)
            key = self.accounts.signing_key(seal.device_id, e.position, seal.batch_id)
            if isinstance(key, str):
                raise Refused(f"the event at position {e.position} of case {e.case_id}: {key}")
            if seal.batch_id not in verified:
                where = f"the event at position {e.position} of case {e.case_id}"
                _verify(seal, key, f"{where}: its batch is not signed by device {seal.device_id}")
                verified.add(seal.batch_id)


def _verify(seal: BatchSeal, key: bytes, why: str) -> None:
    try:
        seal.verify(key)
    except SignatureInvalid:
        raise Refused(why) from None


def check_signers(page: PullResponse, signers: Signers) -> Signers:
    """The laptop's replay moved on by the answer's administrative events, once every
    whole event and tombstone of the answer is signed by a device it allows; Refused
    otherwise (the replay given is left as it was)."""
    if page.proof is None:
        raise Refused("the answer carries no signed tree head")
    seals = Seals(page.batches)
    places = page.proof.place_of()
    moved = Signers.of(signers.as_dict(), signers.accounts.server_key)
    moved.replay(page.admin, seals, places)
    moved.check([*page.events, *page.erased], seals, places)
    return moved
