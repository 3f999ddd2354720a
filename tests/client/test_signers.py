"""The laptop's own replay of the administrative log and its check of who signed each
event of a pull answer, played by a server whose database an insider wrote to: a batch
of a device no administrative event enrolled, or one revoked before, a manifest left out
or not holding the event, an administrative event the server did not sign or that skips
one, are all refused; an honest answer is accepted across the wire and its replay kept,
and a laptop far behind the administrative log gets it over several answers first."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.laptop import Laptop
from client.signers import SIGNERS, Refused, Signers, check_signers
from client.sync import Syncer
from core.adminlog import ADMIN_STREAM, AdminSealer, change
from core.chain import genesis, next_link
from core.signing import BatchSeal, sign_batch
from core.treehead import sign_head
from server.syncing import endpoints, pullsigners
from sync.pageproof import LeafPlace, PageProof
from sync.protocol import PullResponse, decode_pull_response, encode_pull_response
from sync.pulled import PulledEvent

from .conftest import Server

SERVER = Ed25519PrivateKey.generate()
SERVER_PUBLIC = SERVER.public_key().public_bytes_raw()
LAPTOP = Ed25519PrivateKey.generate()
CASE = str(uuid.uuid4())
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


class Answer:
    """A pull answer being written: administrative events (positions as given), case
    events in batches, and the places and manifests that tie them together."""

    def __init__(self) -> None:
        self.admin: list[PulledEvent] = []
        self.events: list[PulledEvent] = []
        self.places: list[LeafPlace] = []
        self.batches: dict[str, BatchSeal] = {}
        self.link, self.seq = genesis(ADMIN_STREAM), 0

    def changed(self, position: int, kind: str, key: Ed25519PrivateKey = SERVER, **fields: Any) -> None:
        sealed, seal = AdminSealer(key)(change(kind, **fields), NOW)
        self.seq += 1
        self.link = next_link(self.link, self.seq, sealed.digest)
        self.admin.append(PulledEvent(position, self.seq, ADMIN_STREAM, sealed.raw, 1, self.link))
        self._placed(position, seal)

    def batch(self, positions: list[int], device: str, key: Ed25519PrivateKey = LAPTOP) -> str:
        sealed = [f"event at {p}".encode() for p in positions]
        seal = sign_batch(key, str(uuid.uuid4()), device, [hashlib.sha256(s).digest() for s in sealed])
        for seq, (p, raw) in enumerate(zip(positions, sealed, strict=True), start=len(self.events) + 1):
            self.events.append(PulledEvent(p, seq, CASE, raw, 1, b"\0" * 32))
            self._placed(p, seal)
        return seal.batch_id

    def _placed(self, position: int, seal: BatchSeal) -> None:
        self.places.append(LeafPlace(position, position - 1, 1, seal.batch_id))
        self.batches[seal.batch_id] = seal

    def response(self) -> PullResponse:
        head = sign_head(SERVER, 99, b"\0" * 32, 1)
        proof = PageProof(head, SERVER_PUBLIC, None, (), (), tuple(self.places))
        return PullResponse(
            events=tuple(self.events),
            proof=proof,
            admin=tuple(self.admin),
            batches=tuple(self.batches.values()),
            server_key=SERVER_PUBLIC,
        )


def enrolled(answer: Answer, position: int = 1, device: str = "dev-a") -> None:
    public = LAPTOP.public_key().public_bytes_raw()
    answer.changed(position, "device.enrolled", device=device, worker="w-a", signing_key=public, agreement_key=public)


def test_an_honest_answer_is_accepted_across_the_wire_and_the_replay_is_kept() -> None:
    answer = Answer()
    enrolled(answer)
    answer.batch([2, 3], "dev-a")
    answer.batch([4], "server", SERVER)  # what the server records itself
    page = decode_pull_response(encode_pull_response(answer.response()))
    moved = check_signers(page, Signers.of(None, SERVER_PUBLIC))
    assert moved.seq == 1 and set(moved.accounts.devices) == {"dev-a"}
    kept = Signers.of(moved.as_dict(), SERVER_PUBLIC)
    assert kept.as_dict() == moved.as_dict()

    later = Answer()
    later.batch([7], "dev-a")  # the next answer: no administrative event, the replay kept
    check_signers(later.response(), kept)


def test_a_batch_of_a_device_no_administrative_event_enrolled_is_refused_naming_position_case_and_device() -> None:
    answer = Answer()
    enrolled(answer)
    answer.batch([5], "dev-insider", Ed25519PrivateKey.generate())
    with pytest.raises(Refused, match=rf"position 5 of case {CASE}: device dev-insider .* not a device"):
        check_signers(answer.response(), Signers.of(None, SERVER_PUBLIC))


def test_a_batch_before_its_device_was_enrolled_is_refused() -> None:
    answer = Answer()
    answer.batch([2], "dev-a")
    enrolled(answer, position=3)
    with pytest.raises(Refused, match=r"position 2 .* no administrative event enrolled it before"):
        check_signers(answer.response(), Signers.of(None, SERVER_PUBLIC))


def test_a_revoked_device_signs_nothing_after_its_revocation_but_its_imported_outbox() -> None:
    answer = Answer()
    enrolled(answer)
    answer.batch([2], "dev-a")  # before the revocation: fine
    answer.changed(3, "device.revoked", device="dev-a")
    check_signers(answer.response(), Signers.of(None, SERVER_PUBLIC))
    imported = answer.batch([5], "dev-a")
    with pytest.raises(Refused, match=r"position 5 .* revoked it before, at position 3"):
        check_signers(answer.response(), Signers.of(None, SERVER_PUBLIC))

    handed = Answer()
    enrolled(handed)
    handed.changed(3, "device.revoked", device="dev-a")
    handed.changed(4, "outbox.imported", device="dev-a", batches=[imported])
    handed.events, handed.places = answer.events[1:], [*handed.places, answer.places[-1]]
    handed.batches[imported] = answer.batches[imported]
    check_signers(handed.response(), Signers.of(None, SERVER_PUBLIC))


def test_a_batch_manifest_left_out_or_not_holding_the_event_or_forged_is_refused() -> None:
    answer = Answer()
    enrolled(answer)
    batch = answer.batch([2], "dev-a")
    seal = answer.batches.pop(batch)
    with pytest.raises(Refused, match="without the signed manifest"):
        check_signers(answer.response(), Signers.of(None, SERVER_PUBLIC))
    answer.batches[batch] = BatchSeal(batch, "dev-a", (b"\1" * 32,), seal.signature)
    with pytest.raises(Refused, match="not among those its batch's device signed"):
        check_signers(answer.response(), Signers.of(None, SERVER_PUBLIC))
    answer.batches[batch] = BatchSeal(batch, "dev-a", seal.digests, bytes(64))
    with pytest.raises(Refused, match="its batch is not signed by device dev-a"):
        check_signers(answer.response(), Signers.of(None, SERVER_PUBLIC))


def test_an_administrative_event_not_signed_by_the_server_or_out_of_its_chain_is_refused() -> None:
    forged = Answer()
    enrolled(forged)
    forged.changed(2, "device.revoked", key=Ed25519PrivateKey.generate(), device="dev-a")
    with pytest.raises(Refused, match="position 2 is not signed by the server's key"):
        check_signers(forged.response(), Signers.of(None, SERVER_PUBLIC))

    skipped = Answer()
    enrolled(skipped)
    skipped.changed(2, "device.revoked", device="dev-a")
    skipped.admin.pop(0)  # the enrollment left out: the revocation is not the next event
    with pytest.raises(Refused, match="position 2 is not the next of the administrative log"):
        check_signers(skipped.response(), Signers.of(None, SERVER_PUBLIC))

    relinked = Answer()
    enrolled(relinked)
    first = relinked.admin[0]
    relinked.admin[0] = first._replace(link=b"\0" * 32)
    with pytest.raises(Refused, match="does not continue the administrative log's chain"):
        check_signers(relinked.response(), Signers.of(None, SERVER_PUBLIC))


def test_a_laptop_far_behind_the_administrative_log_replays_it_over_several_answers_first(
    server: Server, enrolled: Callable[..., Laptop], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints, "MAX_ADMIN", 2)
    monkeypatch.setattr(pullsigners, "MAX_ADMIN", 2)
    laptop = enrolled("anna", "jobcenter")
    for n in range(3):
        server.ctx.store.add_worker(f"w-more-{n}", "jobcenter", "caseworker")
    case = laptop.open_case("citizen", "jobcenter").case_id
    report = asyncio.run(Syncer(laptop, transport=server.transport).sync())
    admin = server.ctx.log.case_events(ADMIN_STREAM)
    assert report.pulled == 1 and laptop.view(case).confirmed_seq == 1
    assert laptop.store.meta(SIGNERS)["seq"] == len(admin) > 2 * 2
    assert server.transport.paths.count("/v1/sync/pull") >= len(admin) // 2  # two an answer
    assert laptop.device_id in laptop.store.meta(SIGNERS)["devices"]
