"""Sealing: how an event becomes bytes that only its case key opens, and back.

A sealed event is ``msgpack([1, header, nonce, ciphertext])`` where ``header`` is the
msgpack of the readable header (ids, type, author, device, department, times, the case
sequence its author had seen, key id) and ``ciphertext`` is AES-256-GCM over the msgpack
payload with the *whole header* as associated data. So the case id, event id, event type
and key id (and the rest of the header) are bound to the ciphertext: no payload can be
moved to another event or case, and no header field can be changed, without the
decryption failing.

The sealed bytes are what a laptop signs, what the server chains and stores, and what
travels in sync; they are never re-encoded after sealing.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, cast

import msgpack
from cryptography.exceptions import InvalidTag

from core.errors import CaseErased, CodecError, DecryptionError
from core.events import CaseEvent, Header, all_event_classes, event_class
from core.keys import NONCE, CaseKey
from core.records import Record

FORMAT = 1
ADMIN_TOPIC = "admin.change"
"""The type of the administrative log's events (`core.adminlog`): not a case event."""
_TOPICS = frozenset(cls.TOPIC for cls in all_event_classes())
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are refused as ambiguous."""
    if moment.tzinfo is None:
        raise CodecError("a time without a time zone is ambiguous")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    # Integer arithmetic: exact for every value (a float division rounds far-future
    # times to the wrong second) and about twice as fast on the replay path.
    return _EPOCH + timedelta(microseconds=micros)


def _pack_header(h: Header) -> bytes:
    return cast(
        bytes,
        msgpack.packb(
            [
                h.event_id,
                h.case_id,
                h.topic,
                h.class_version,
                h.author,
                h.role,
                h.department,
                h.device,
                to_micros(h.occurred_at),
                to_micros(h.recorded_at),
                h.seen_seq,
                h.key_id,
            ]
        ),
    )


_HEADER_TYPES = (str, str, str, int, str, str, str, str, int, int, int, str)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch


def _unpack_header(raw: bytes) -> Header:
    try:
        f = msgpack.unpackb(raw)
    except Exception as exc:
        raise CodecError("the header of a sealed event is not msgpack") from exc
    if not isinstance(f, list) or tuple(map(type, f)) != _HEADER_TYPES:
        raise CodecError("the header of a sealed event has the wrong fields or field types")
    if not (_UUID(f[0]) and _UUID(f[1])):
        raise CodecError("a sealed event's event id and case id are UUIDs in canonical form")
    return Header(
        f[0],
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        from_micros(f[8]),
        from_micros(f[9]),
        f[10],
        f[11],
    )


class SealedEvent(Record, kw_only=False):
    """Sealed bytes with their readable header parsed (no key needed)."""

    raw: bytes
    header: Header
    header_raw: bytes
    nonce: bytes
    ciphertext: bytes

    @cached_property
    def digest(self) -> bytes:
        """SHA-256 of the sealed bytes: what signatures and the case chain cover (cached)."""
        return hashlib.sha256(self.raw).digest()

    @property
    def event_id(self) -> str:
        return self.header.event_id

    @property
    def case_id(self) -> str:
        return self.header.case_id

    @property
    def topic(self) -> str:
        return self.header.topic


def parse(raw: bytes, digest: bytes | None = None) -> SealedEvent:
    """Parse sealed bytes; CodecError when they are not a well-formed sealed event.

    `digest`, when the caller has already hashed `raw` (a pushed batch is hashed once to
    check its signature), is kept so the bytes are not hashed again.
    """
    if not isinstance(raw, (bytes, bytearray)):
        raise CodecError("a sealed event is bytes")
    try:
        outer = msgpack.unpackb(raw)
    except Exception as exc:
        raise CodecError("a sealed event is not msgpack") from exc
    if (
        type(outer) is not list
        or len(outer) != 4
        or outer[0] != FORMAT
        or type(outer[1]) is not bytes
        or type(outer[2]) is not bytes
        or type(outer[3]) is not bytes
    ):
        raise CodecError("a sealed event must be [1, header, nonce, ciphertext]")
    header = _unpack_header(outer[1])
    if header.topic not in _TOPICS and header.topic != ADMIN_TOPIC:
        event_class(header.topic)  # unknown types are refused here, before anything is stored
    sealed = _sealed(bytes(raw), header, outer[1], outer[2], outer[3])
    if digest is not None:
        sealed.__dict__["digest"] = digest
    return sealed


def _sealed(raw: bytes, header: Header, header_raw: bytes, nonce: bytes, ciphertext: bytes) -> SealedEvent:
    # One per event read: fill the frozen instance directly rather than through __init__.
    sealed = object.__new__(SealedEvent)
    sealed.__dict__.update(raw=raw, header=header, header_raw=header_raw, nonce=nonce, ciphertext=ciphertext)
    return sealed


def seal(event: CaseEvent, key: CaseKey | None) -> SealedEvent:
    """Encrypt an event's payload under its case key and bind the header to it.

    Only `CaseErased` may be sealed without a key: it has no payload to protect.
    """
    header = event.header
    if key is None:
        if header.topic != "case.erased":
            raise CaseErased(f"case {header.case_id} has no key; only erasure can be recorded")
        nonce, ciphertext = b"", b""
        header_raw = _pack_header(header)
    else:
        if key.case_id != header.case_id or key.key_id != header.key_id:
            raise DecryptionError("an event must be sealed with the key of its own case")
        header_raw = _pack_header(header)
        nonce = os.urandom(NONCE)
        ciphertext = key.aead.encrypt(nonce, msgpack.packb(event.payload()), header_raw)
    raw = msgpack.packb([FORMAT, header_raw, nonce, ciphertext])
    return SealedEvent(raw, header, header_raw, nonce, ciphertext)


def seal_in_clear(header: Header, payload: bytes) -> SealedEvent:
    """Seal an administrative event (`core.adminlog`) without encryption: it holds ids,
    departments, roles and public keys, no personal data, and an auditor reads it
    without any key. Its payload travels where a case event's ciphertext does."""
    if header.topic != ADMIN_TOPIC:
        raise CodecError("only administrative events are sealed in the clear")
    header_raw = _pack_header(header)
    raw = msgpack.packb([FORMAT, header_raw, b"", payload])
    return SealedEvent(raw, header, header_raw, b"", payload)


def open_sealed(sealed: SealedEvent, key: CaseKey | None) -> CaseEvent:
    """Decrypt and rebuild the typed event; DecryptionError if the bytes were altered."""
    header = sealed.header
    cls = event_class(header.topic)
    if header.topic == "case.erased":
        return cls.from_payload(header, {})
    if key is None:
        raise CaseErased(f"case {header.case_id} cannot be read: its key is not held or was destroyed")
    if key.case_id != header.case_id or key.key_id != header.key_id:
        raise DecryptionError(f"event {header.event_id} was not sealed with this case's key")
    try:
        plain = key.aead.decrypt(sealed.nonce, sealed.ciphertext, sealed.header_raw)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError(
            f"event {header.event_id} of case {header.case_id} does not open: it was altered or moved"
        ) from exc
    try:
        payload: Any = msgpack.unpackb(plain)
    except Exception as exc:
        raise CodecError(f"the payload of event {header.event_id} is not msgpack") from exc
    if not isinstance(payload, dict):
        raise CodecError(f"the payload of event {header.event_id} is not a map")
    return cls.from_payload(header, payload)
