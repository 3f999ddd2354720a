"""A server's pull answer is input like any other: a laptop talking to a hostile or broken
server gets MalformedMessage (a clean sentence, exit status 1) for any field of any
shape, never a KeyError or TypeError that would end the sync in a traceback."""

from __future__ import annotations

import contextlib
from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.errors import SyncError
from sync.protocol import decode_pull_response, encode_pull_response
from tests.client.test_signers import Answer, enrolled

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.text(max_size=8),
    st.binary(max_size=40),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(min_value=0, max_value=2**32), max_size=3),
)


def honest() -> dict[str, Any]:
    answer = Answer()
    enrolled(answer)
    answer.batch([2, 3], "dev-a")
    unpacked: dict[str, Any] = msgpack.unpackb(encode_pull_response(answer.response()), raw=False)
    return unpacked


def paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the answer a value can be replaced at, the answer's own fields first."""
    found = [at] if at else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*at, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*at, index))
    return found


def replaced(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[at[0]] = replaced(value[at[0]], at[1:], new)
    return copy


ANSWER = honest()
PLACES = paths(ANSWER)


def test_the_honest_answer_decodes() -> None:
    page = decode_pull_response(msgpack.packb(ANSWER))  # two batches: the laptop's, the administrative one
    assert len(page.events) == 2 and len(page.admin) == 1 and len(page.batches) == 2


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(PLACES), JUNK)
def test_any_field_of_any_shape_is_a_clean_refusal_or_decodes(at: tuple[Any, ...], junk: Any) -> None:
    body = msgpack.packb(replaced(ANSWER, at, junk))
    with contextlib.suppress(SyncError):  # refused cleanly, or decoded: anything else fails
        decode_pull_response(body)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(PLACES))
def test_a_field_left_out_is_a_clean_refusal_or_decodes(at: tuple[Any, ...]) -> None:
    *parent, last = at
    holder = ANSWER
    for step in parent:
        holder = holder[step]
    if not isinstance(holder, dict):
        return
    trimmed = replaced(ANSWER, tuple(parent), {k: v for k, v in holder.items() if k != last})
    with contextlib.suppress(SyncError):
        decode_pull_response(msgpack.packb(trimmed))
