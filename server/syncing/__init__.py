"""The server's side of sync: the laptops' endpoints and the services behind them.

- `endpoints`: the HTTP endpoints of enrollment, push and pull (thin: decode,
  authenticate, hand over to a service in a worker thread), listed in `routes`;
- `push`: judging a pushed batch against the case rules and appending it to the log;
- `pull`: the pages a device receives within its worker's caseload;
- `caseload`: which cases a worker's devices receive (assignments and cases they opened);
- `ordering`: a laptop's batches judged in its order, two on the way at once.

The message shapes, limits and signed-request form both ends share stay in `sync`.

`routes` and `parse_json` are re-exported for the application (``from server import
syncing`` then ``syncing.routes``). They are looked up on first use: the endpoints need
the server context, which itself builds on the services here, so importing them eagerly
would make a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.syncing.endpoints import parse_json, routes

__all__ = ["parse_json", "routes"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from server.syncing import endpoints

        return getattr(endpoints, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
