"""Device signatures over batches of sealed events.

A device signs one *manifest* per batch: the batch id, its own device id and the SHA-256
digest of every sealed event in the batch, in order. The server verifies one Ed25519
signature per batch (so verification never caps ingest) and keeps the manifest and
signature, so every stored event stays attributable on its own: its digest is in a
manifest that its device signed. `audit verify` checks both again from the log alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from core.errors import SignatureInvalid

_DOMAIN = b"tovholder/batch/v1\x00"


@dataclass(frozen=True, slots=True)
class BatchSeal:
    """A device's signed statement that it recorded exactly these events."""

    batch_id: str
    device_id: str
    digests: tuple[bytes, ...]
    signature: bytes

    def manifest(self) -> bytes:
        return manifest(self.batch_id, self.device_id, self.digests)

    def verify(self, public_key: bytes) -> None:
        """Raise SignatureInvalid unless the device's key signed this manifest."""
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(self.signature, self.manifest())
        except (InvalidSignature, ValueError) as exc:
            raise SignatureInvalid(f"batch {self.batch_id} is not signed by device {self.device_id}") from exc


def manifest(batch_id: str, device_id: str, digests: Sequence[bytes]) -> bytes:
    parts = [_DOMAIN, batch_id.encode(), b"\x00", device_id.encode(), b"\x00"]
    parts.extend(digests)
    return b"".join(parts)


def sign_batch(key: Ed25519PrivateKey, batch_id: str, device_id: str, digests: Sequence[bytes]) -> BatchSeal:
    digests = tuple(digests)
    return BatchSeal(batch_id, device_id, digests, key.sign(manifest(batch_id, device_id, digests)))
