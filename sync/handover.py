"""The outbox of a revoked laptop, handed over in a file for an administrator to import.

A revoked laptop can no longer push, so `tovholder client outbox export FILE` writes
what it would have pushed: the pending events as push bodies (`sync.protocol`: sealed as
they are, each batch signed by the device, with the keys of cases opened on the laptop
wrapped for the server's X25519 key), in a msgpack envelope signed by the device key::

    {"format": "tovholder-outbox-1", "device": str, "worker": str, "exported_at": int,
     "pushes": [push body, ...], "signature": bytes}

The signature is Ed25519 over ``format, device, worker, exported_at`` and the SHA-256 of
every push body, so nothing can be added, removed or moved between files. The file holds
no plaintext: ids, event kinds and times are in the readable headers, as on the wire.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import msgpack
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import SignatureInvalid
from sync.errors import LimitExceeded, MalformedMessage
from sync.protocol import PushRequest, decode_push

FORMAT = "tovholder-outbox-1"
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_PUSHES = 10_000


@dataclass(frozen=True)
class Handover:
    """A decoded outbox file: whose it is, when it was written, and its signed batches."""

    device: str
    worker: str
    exported_at: int
    bodies: tuple[bytes, ...]
    signature: bytes

    def pushes(self) -> list[PushRequest]:
        """The batches, decoded within the push's bounds."""
        return [decode_push(body) for body in self.bodies]

    def verify(self, signing_public: bytes) -> None:
        """SignatureInvalid unless the device with this public key signed the file."""
        try:
            Ed25519PublicKey.from_public_bytes(signing_public).verify(
                self.signature, _signed(self.device, self.worker, self.exported_at, self.bodies)
            )
        except (InvalidSignature, ValueError):
            raise SignatureInvalid(f"the outbox file is not signed by device {self.device}") from None


def _signed(device: str, worker: str, exported_at: int, bodies: tuple[bytes, ...]) -> bytes:
    digests = [hashlib.sha256(b).digest() for b in bodies]
    packed: bytes = msgpack.packb([FORMAT, device, worker, exported_at, digests], use_bin_type=True)
    return packed


def encode_handover(
    signing: Ed25519PrivateKey, device: str, worker: str, exported_at: int, bodies: tuple[bytes, ...]
) -> bytes:
    """The file's bytes: the batches and the device's signature over them."""
    signature = signing.sign(_signed(device, worker, exported_at, bodies))
    envelope = {
        "format": FORMAT,
        "device": device,
        "worker": worker,
        "exported_at": exported_at,
        "pushes": list(bodies),
        "signature": signature,
    }
    packed: bytes = msgpack.packb(envelope, use_bin_type=True)
    return packed


def decode_handover(raw: bytes) -> Handover:
    """The file's envelope; MalformedMessage when it is not an outbox file (its batches
    are decoded, and their bounds checked, by `Handover.pushes`)."""
    if len(raw) > MAX_FILE_BYTES:
        raise LimitExceeded(f"an outbox file is at most {MAX_FILE_BYTES} bytes")
    try:
        envelope = msgpack.unpackb(raw, raw=False, max_array_len=MAX_PUSHES, max_map_len=16)
    except (ValueError, msgpack.UnpackException, TypeError) as exc:
        raise MalformedMessage("the file is not a tovholder outbox file") from exc
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise MalformedMessage(f"the file is not a tovholder outbox file (format {FORMAT})")
    device, worker, at = envelope.get("device"), envelope.get("worker"), envelope.get("exported_at")
    bodies, signature = envelope.get("pushes"), envelope.get("signature")
    if not (isinstance(device, str) and isinstance(worker, str) and isinstance(at, int)):
        raise MalformedMessage("the outbox file does not name its device, worker and time")
    if not isinstance(bodies, list) or not all(isinstance(b, bytes) for b in bodies):
        raise MalformedMessage("the outbox file's batches are not a list of push bodies")
    if not isinstance(signature, bytes):
        raise MalformedMessage("the outbox file carries no signature")
    return Handover(device, worker, at, tuple(bodies), signature)
