"""Command group of the field laptop: `client`."""

from __future__ import annotations

from typing import Any


def register(groups: Any) -> None:
    """Add the `client` command group to the `tovholder` parser."""
