"""The server's command groups of `tovholder`, one module per group.

    server.py    `server init`, `server run`
    admin.py     `admin department|worker|device|case|views ...`
    audit.py     `audit verify|replay|access-log|exceptions|retention|export`
    search.py    `search cpr`
    views.py     the rebuild of the department views (`admin views rebuild`)
    targets.py   where a command acts: a running server (--server) or a data folder (--dir)

`register` adds the four groups to the `tovholder` parser (`tovholder.__main__`).
"""

from __future__ import annotations

from typing import Any

from server.commands import admin, audit, search, server


def register(groups: Any) -> None:
    """Add the `server`, `admin`, `audit` and `search` groups to the `tovholder` parser."""
    server.register(groups)
    admin.register(groups)
    audit.register(groups)
    search.register(groups)
