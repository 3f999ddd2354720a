"""`tovholder demo`: the whole story, end to end, in a temporary folder."""

from __future__ import annotations

from typing import Any


def register(groups: Any) -> None:
    """Add `demo` to the `tovholder` parser."""
