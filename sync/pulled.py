"""The shape of a pulled event, shared by the server's pull page and the laptop's copy.

Kept in a module of its own, free of the wire codec, so that a laptop command that only
reads its confirmed events does not load the protocol's encoder.
"""

from __future__ import annotations

from typing import NamedTuple


class PulledEvent(NamedTuple):
    """An event as the server confirmed it: the sealed bytes as the laptop signed them, and
    what the server added on append (case sequence, global position, time received in µs,
    chain link). The shape of a pulled page's events and of the laptop's confirmed copy."""

    position: int
    seq: int
    case_id: str
    sealed: bytes
    received: int
    link: bytes
