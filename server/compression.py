"""Compressed answers for bodies that differ per read in one small part: case views.

A department's view of a 200-event case is some 170 KB of JSON, and sending it costs
the server more than finding it. Its JSON is fixed around one small part, the moment
of reading (`server.view_cache.JudgedView`: head, moment, tail), so the head and the tail are
compressed once, each into raw deflate blocks of its own, and every answer adds only
its moment, as a stored block. Deflate blocks made by separate compressors may follow one another in
one stream when each but the last ends on a byte boundary (a sync flush): a back
reference never reaches before the start of its own part.

The checksum over the whole body is combined from the parts' checksums: Adler-32 (the
zlib format, ``Content-Encoding: deflate``) by arithmetic, in microseconds; CRC-32
(``gzip``) by running over the tail on each answer, still cheaper than sending the
plain JSON. A client that accepts neither gets the plain JSON.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

DEFLATE = "deflate"
GZIP = "gzip"
MIN_SIZE = 1024  # bytes; smaller bodies are sent as they are
LEVEL = 6
_ADLER_BASE = 65521
_ZLIB_HEADER = b"\x78\x9c"  # deflate, 32 KiB window, default level; (0x789c % 31 == 0)
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, OS unknown


def preferred_coding(accept_encoding: str | None) -> str | None:
    """The content coding to answer with for an ``Accept-Encoding`` header: deflate or
    gzip, the one with the higher weight (deflate on a tie, as it costs less), or None
    for the plain body (no header, or neither accepted with a weight above 0)."""
    if not accept_encoding:
        return None
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name.strip().lower()] = weight
    anything = weights.get("*", 0.0)
    ranked = sorted(((weights.get(c, anything), -i, c) for i, c in enumerate((DEFLATE, GZIP))), reverse=True)
    weight, _, coding = ranked[0]
    return coding if weight > 0 else None


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of A + B from those of A and B and the length of B (as zlib's
    ``adler32_combine``)."""
    base = _ADLER_BASE
    rem = second_length % base
    sum1 = first & 0xFFFF
    sum2 = (rem * sum1) % base
    sum1 = (sum1 + (second & 0xFFFF) + base - 1) % base
    sum2 = (sum2 + (first >> 16) + (second >> 16) + base - rem) % base
    return sum1 | (sum2 << 16)


def raw_deflate(data: bytes, *, last: bool) -> bytes:
    """`data` as raw deflate blocks of its own: the last part of a stream ends it, any
    other ends on a byte boundary without ending the stream."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def stored_block(data: bytes) -> bytes:
    """`data` as one stored (uncompressed) deflate block that does not end the stream:
    for the small middle part, cheaper to send as it is than to set up a compressor for
    (that alone takes some 50 µs). It follows a sync flush, so it starts on a byte."""
    if len(data) > 0xFFFF:
        return raw_deflate(data, last=False)
    return b"\x00" + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data


@dataclass(frozen=True, slots=True)
class CompressedParts:
    """A head and a tail compressed once, for bodies ``head + middle + tail``."""

    head: bytes
    tail: bytes
    head_plain: int  # length of the plain head
    tail_plain: bytes  # kept for gzip's CRC-32, which cannot be combined cheaply
    head_adler: int
    tail_adler: int
    head_crc: int

    @classmethod
    def of(cls, head: bytes, tail: bytes) -> CompressedParts:
        return cls(
            raw_deflate(head, last=False),
            raw_deflate(tail, last=True),
            len(head),
            tail,
            zlib.adler32(head),
            zlib.adler32(tail),
            zlib.crc32(head),
        )

    @property
    def size(self) -> int:
        return len(self.head) + len(self.tail)

    def body(self, middle: bytes, coding: str) -> bytes:
        """The whole body ``head + middle + tail`` in `coding` (deflate or gzip)."""
        blocks = stored_block(middle)
        if coding == DEFLATE:
            adler = adler32_combine(
                adler32_combine(self.head_adler, zlib.adler32(middle), len(middle)),
                self.tail_adler,
                len(self.tail_plain),
            )
            return b"".join((_ZLIB_HEADER, self.head, blocks, self.tail, struct.pack(">I", adler)))
        crc = zlib.crc32(self.tail_plain, zlib.crc32(middle, self.head_crc))
        length = (self.head_plain + len(middle) + len(self.tail_plain)) & 0xFFFFFFFF
        return b"".join((_GZIP_HEADER, self.head, blocks, self.tail, struct.pack("<II", crc, length)))


class CompressedCache:
    """Compressed parts by key, each for the one head and tail it was made from (least
    recently used dropped first, within a byte budget). Compressing takes milliseconds,
    so `make` is for a worker thread; `get` only looks and may run on the event loop.

    An entry keeps the plain head and tail alive as well (the head to recognise its
    body, the tail for gzip's checksum), so the budget counts them: the view cache may
    have dropped that view already.
    """

    def __init__(self, budget: int = 64 * 1024 * 1024) -> None:
        self.budget = budget
        self.used = 0
        self._parts: OrderedDict[object, tuple[bytes, CompressedParts, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object, head: bytes) -> CompressedParts | None:
        """The parts made for exactly this `head` (the same object, so the same body)."""
        with self._lock:
            found = self._parts.get(key)
            if found is None or found[0] is not head:
                return None
            self._parts.move_to_end(key)
            return found[1]

    def make(self, key: object, head: bytes, tail: bytes) -> CompressedParts:
        """The parts for this head and tail, compressed now unless they already are."""
        found = self.get(key, head)
        if found is not None:
            return found
        parts = CompressedParts.of(head, tail)
        cost = parts.size + len(head) + len(tail)
        with self._lock:
            old = self._parts.pop(key, None)
            if old is not None:
                self.used -= old[2]
            if cost <= self.budget:
                self._parts[key] = (head, parts, cost)
                self.used += cost
            while self.used > self.budget and self._parts:
                _, (_, _, dropped) = self._parts.popitem(last=False)
                self.used -= dropped
        return parts

    def forget(self, match: object) -> None:
        """Drop the parts of every key for which ``key[0] == match`` (a case's views)."""
        with self._lock:
            for key in [k for k in self._parts if isinstance(k, tuple) and k[0] == match]:
                self.used -= self._parts.pop(key)[2]
