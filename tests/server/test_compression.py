"""`server.compression`: a body compressed in parts decodes to exactly the plain body."""

from __future__ import annotations

import gzip
import os
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.compression import DEFLATE, GZIP, CompressedCache, CompressedParts, adler32_combine, preferred_coding

parts = st.binary(max_size=5000) | st.text(max_size=3000).map(str.encode)


@settings(max_examples=200, deadline=None)
@given(head=parts, middle=parts, tail=parts)
def test_a_body_made_of_compressed_parts_decodes_to_the_plain_body(head: bytes, middle: bytes, tail: bytes) -> None:
    compressed = CompressedParts.of(head, tail)
    plain = head + middle + tail
    assert zlib.decompress(compressed.body(middle, DEFLATE)) == plain
    assert gzip.decompress(compressed.body(middle, GZIP)) == plain


def test_a_large_middle_and_a_large_repetitive_body_decode_and_shrink() -> None:
    head = b'{"events":[' + b'{"note":"Samtale om bolig og hverdagen"},' * 4000
    tail = b'{"end":true}]}'
    compressed = CompressedParts.of(head, tail)
    middle = b"x" * 70_000  # more than one stored block may carry
    for coding, decode in ((DEFLATE, zlib.decompress), (GZIP, gzip.decompress)):
        body = compressed.body(middle, coding)
        assert decode(body) == head + middle + tail
    assert len(compressed.body(b'"2026-11-23"', DEFLATE)) < len(head) // 20


@settings(max_examples=200)
@given(first=st.binary(max_size=3000), second=st.binary(max_size=70_000))
def test_adler32_combines_as_zlib_computes_it_over_the_whole(first: bytes, second: bytes) -> None:
    assert adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second)) == zlib.adler32(first + second)


@pytest.mark.parametrize(
    ("header", "coding"),
    [
        (None, None),
        ("", None),
        ("identity", None),
        ("br, zstd", None),
        ("gzip", GZIP),
        ("deflate", DEFLATE),
        ("gzip, deflate, br, zstd", DEFLATE),  # a browser's: equal weight, the cheaper
        ("gzip;q=1.0, deflate;q=0.5", GZIP),
        ("GZIP ; Q=0.8", GZIP),
        ("*", DEFLATE),
        ("*;q=0", None),
        ("deflate;q=0, *", GZIP),
        ("deflate;q=0, gzip;q=0", None),
        ("deflate;q=nonsense", None),
    ],
)
def test_the_coding_follows_accept_encoding_and_its_weights(header: str | None, coding: str | None) -> None:
    assert preferred_coding(header) == coding


def test_the_cache_keeps_parts_for_one_head_and_within_its_budget() -> None:
    cache = CompressedCache(budget=120_000)  # counting the plain parts it keeps alive
    head, tail = b"a" * 50_000, b"b" * 10
    made = cache.make(("case", "jobcenter"), head, tail)
    assert cache.get(("case", "jobcenter"), head) is made
    assert cache.get(("case", "jobcenter"), b"a" * 50_000) is None  # another head: judged anew
    assert cache.get(("case", "health"), head) is None
    huge = os.urandom(70_000)  # over the budget with its compressed copy: not kept
    cache.make(("other", "jobcenter"), huge, b"")
    assert cache.get(("other", "jobcenter"), huge) is None and cache.get(("case", "jobcenter"), head) is made
    second, third = b"c" * 50_000, b"d" * 50_000
    cache.make(("case", "health"), second, b"")
    cache.get(("case", "jobcenter"), head)  # used: the health view is now the oldest
    cache.make(("third", "health"), third, b"")
    assert cache.get(("case", "health"), second) is None and cache.get(("case", "jobcenter"), head) is made
    assert cache.used <= cache.budget
    cache.forget("case")
    assert cache.get(("case", "jobcenter"), head) is None
    cache.forget("third")
    assert cache.used == 0
