"""Command groups of the server side: `server`, `admin`, `audit`."""

from __future__ import annotations

import argparse
from typing import Any


def register(groups: Any) -> None:
    """Add the server-side command groups to the `tovholder` parser."""
    _ = argparse
