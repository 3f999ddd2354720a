"""Signed tree heads: the server's Ed25519 statement of the log's size and root at a time.

    message = "tovholder/tree-head/v1" 0x00 || size (8) || signed at µs (8) || root (32)

A head is what a laptop or an auditor keeps: any later log must extend it, which a
consistency proof (`core.merkle`) shows without the log itself. Only hashlib and
`cryptography`, so a laptop command can check a head.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import SignatureInvalid

_DOMAIN = b"tovholder/tree-head/v1\x00"


@dataclass(frozen=True, slots=True)
class TreeHead:
    """The log's size and Merkle root, signed by the server at `signed_at` (µs since the epoch)."""

    size: int
    root: bytes
    signed_at: int
    signature: bytes

    def message(self) -> bytes:
        return message(self.size, self.root, self.signed_at)

    def verify(self, public_key: bytes) -> None:
        """SignatureInvalid unless the server key `public_key` signed this head."""
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(self.signature, self.message())
        except (InvalidSignature, ValueError) as exc:
            raise SignatureInvalid(f"the tree head of size {self.size} is not signed by the server's head key") from exc


def message(size: int, root: bytes, signed_at: int) -> bytes:
    """The bytes a head's signature covers."""
    return b"".join((_DOMAIN, size.to_bytes(8, "big"), signed_at.to_bytes(8, "big", signed=True), root))


def sign_head(key: Ed25519PrivateKey, size: int, root: bytes, signed_at: int) -> TreeHead:
    """A head of the tree of `size` leaves with root `root`, signed now."""
    return TreeHead(size, root, signed_at, key.sign(message(size, root, signed_at)))


def head_json(head: TreeHead, public_key: bytes) -> dict[str, Any]:
    """A signed head as JSON, hashes in hex, with the head key's public key: what
    `GET /v1/log/head` answers, `audit heads export` and a witness file keep."""
    return {
        "size": head.size,
        "root": head.root.hex(),
        "signed_at": head.signed_at,
        "signature": head.signature.hex(),
        "public_key": public_key.hex(),
    }


def head_from_json(h: Mapping[str, Any]) -> TreeHead:
    """The head `head_json` wrote (its key aside); KeyError, ValueError or TypeError when
    it is not one."""
    return TreeHead(int(h["size"]), bytes.fromhex(h["root"]), int(h["signed_at"]), bytes.fromhex(h["signature"]))
