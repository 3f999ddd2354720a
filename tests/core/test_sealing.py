"""Sealing binds the header to the payload under the case key: nothing moves or changes
unnoticed; times survive the trip to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime

import msgpack
import pytest

from core.errors import CaseErased, CodecError, DecryptionError
from core.keys import CaseKey
from core.sealing import from_micros, open_sealed, parse, seal, to_micros
from tests.core.conftest import family


def test_a_sealed_event_opens_to_the_same_event() -> None:
    b = family()
    for e, s in zip(b.events, b.sealed, strict=True):
        assert open_sealed(parse(s.raw), b.key) == e


def test_a_payload_moved_to_another_event_or_case_does_not_open() -> None:
    b, other = family(), family()
    s1, s2 = b.sealed[1], b.sealed[2]
    moved = s2.replace(ciphertext=s1.ciphertext, nonce=s1.nonce)
    with pytest.raises(DecryptionError, match=f"event {s2.event_id} of case {b.case_id} does not open"):
        open_sealed(moved, b.key)
    with pytest.raises(DecryptionError, match="was not sealed with this case's key"):
        open_sealed(s1, other.key)
    forged_key = CaseKey(b.case_id, b.key.key_id, other.key.secret)
    with pytest.raises(DecryptionError, match="does not open"):
        open_sealed(s1, forged_key)


def test_a_changed_header_field_does_not_open() -> None:
    b = family()
    s = b.sealed[1]
    fields = msgpack.unpackb(s.header_raw)
    fields[6] = "jobcenter"  # claim another department
    header_raw = msgpack.packb(fields)
    forged = parse(msgpack.packb([1, header_raw, s.nonce, s.ciphertext]))
    assert forged.header.department == "jobcenter"
    with pytest.raises(DecryptionError, match="it was altered or moved"):
        open_sealed(forged, b.key)


def test_malformed_bytes_are_refused() -> None:
    with pytest.raises(CodecError, match="a sealed event is not msgpack"):
        parse(b"\xc1")
    with pytest.raises(CodecError, match=r"must be \[1, header, nonce, ciphertext\]"):
        parse(msgpack.packb([2, b"", b"", b""]))
    with pytest.raises(CaseErased, match="only erasure can be recorded"):
        seal(family().events[1], None)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 2, 9, 0, 0, 999_999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        datetime(5119, 6, 18, 1, 0, 57, 999_994, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
    ],
)
def test_times_survive_to_the_microsecond(moment: datetime) -> None:
    assert from_micros(to_micros(moment)) == moment
