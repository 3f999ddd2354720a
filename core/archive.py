"""Erasure archives sealed for the archive authority.

Before a case key is destroyed, the decrypted case is exported to an archive file
(`core.retention.erase`). That file lies on the server's disk, so it is never plain text:
it is a sealed box (`core.keys.seal_for`: ephemeral X25519, HKDF-SHA256, AES-256-GCM) for
the *archive authority*'s X25519 public key, which the server is given in its settings.
Only the holder of the matching private key, kept away from the server, opens it again
(`open_archive`), to the same JSON document the erasure exported.

The file is ``MAGIC`` followed by the box. A key pair is made by `generate_key_pair`
(PEM files: the private half PKCS #8, mode 0600; the public half SubjectPublicKeyInfo);
the server's setting names the public half as base64 of its 32 bytes, as PEM text, or
as the path of its PEM file (`public_key_from_setting`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from core.errors import ConfigurationError, DecryptionError, InvalidInput
from core.keys import open_sealed, public_bytes, seal_for

#: The first bytes of every sealed erasure archive (format version 1).
MAGIC = b"tovholder-erasure-archive/1\n"
_LABEL = b"erasure-archive/1"
PRIVATE_FILE = "archive-authority.key"
PUBLIC_FILE = "archive-authority.pub"


def seal_archive(document: dict[str, Any], recipient: X25519PublicKey) -> bytes:
    """The archive document as JSON, sealed for the archive authority's public key."""
    plain = json.dumps(document, ensure_ascii=False, indent=1).encode()
    return MAGIC + seal_for(public_bytes(recipient), _LABEL, plain)


def open_archive(data: bytes, private: X25519PrivateKey) -> dict[str, Any]:
    """The document of a sealed archive. InvalidInput when `data` is not a sealed erasure
    archive; DecryptionError when it was sealed for another archive authority's key (or
    was changed)."""
    if not data.startswith(MAGIC):
        raise InvalidInput("this file is not a sealed erasure archive")
    try:
        plain = open_sealed(private, _LABEL, data[len(MAGIC) :])
    except DecryptionError as exc:
        raise DecryptionError(
            "the erasure archive does not open with this private key: it was sealed for another "
            "archive authority's key, or it was changed"
        ) from exc
    document: dict[str, Any] = json.loads(plain)
    return document


def public_key_text(key: X25519PublicKey) -> str:
    """The public key as the server's `archive_public_key` setting takes it (base64)."""
    return base64.b64encode(public_bytes(key)).decode()


def public_key_from_setting(value: str, base: Path) -> X25519PublicKey:
    """The archive authority's public key from the server setting: base64 of the 32 raw
    bytes, PEM text, or a PEM file (relative to `base`, the data folder).
    ConfigurationError when it is none of these."""
    text = value.strip()
    if not text.startswith("-----BEGIN"):
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == 32:
            return X25519PublicKey.from_public_bytes(raw)
        path = Path(text) if Path(text).is_absolute() else base / text
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                "setting archive_public_key must be the archive authority's X25519 public key: base64 of "
                f"its 32 bytes, or a readable PEM file (cannot read {path})"
            ) from exc
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError as exc:
        raise ConfigurationError("setting archive_public_key holds no readable PEM public key") from exc
    if not isinstance(key, X25519PublicKey):
        raise ConfigurationError("setting archive_public_key must be an X25519 public key")
    return key


def load_private_key(path: Path | str) -> X25519PrivateKey:
    """The archive authority's private key from its PEM file; InvalidInput when unreadable
    or not an X25519 key."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the private key file {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{path} holds no readable unencrypted PEM private key") from exc
    if not isinstance(key, X25519PrivateKey):
        raise InvalidInput(f"{path} is not an X25519 private key (make one with `tovholder admin archive keygen`)")
    return key


def generate_key_pair(folder: Path | str) -> tuple[Path, Path, X25519PublicKey]:
    """Write a new archive authority key pair into `folder` (made mode 0700 if missing):
    the private half (mode 0600) and the public half, both PEM. InvalidInput when either
    file exists already or `folder` is a server data folder (the private half must never
    live beside the server)."""
    where = Path(folder).resolve()
    if (where / "tovholder.toml").exists():
        raise InvalidInput(f"{where} is a server data folder; keep the archive authority's private key elsewhere")
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    private = X25519PrivateKey.generate()
    public = private.public_key()
    pem_private = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem_public = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    private_path, public_path = where / PRIVATE_FILE, where / PUBLIC_FILE
    for path in (private_path, public_path):
        if path.exists():
            raise InvalidInput(f"{path} exists already; choose another folder")
    _write_new(private_path, pem_private, 0o600)
    _write_new(public_path, pem_public, 0o644)
    return private_path, public_path, public


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise InvalidInput(f"{path} exists already; choose another folder") from None
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
