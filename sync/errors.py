"""Errors of the sync protocol.

TovholderError
└── SyncError
    ├── MalformedMessage     bytes that are not a well-formed push or pull message
    ├── LimitExceeded        a batch or page larger than the protocol allows
    └── StaleCursor          a cursor beyond what the log holds
"""

from __future__ import annotations

from core.errors import TovholderError


class SyncError(TovholderError):
    """Base of errors raised by the sync protocol."""


class MalformedMessage(SyncError):
    """A message that does not decode to the shape the protocol requires."""


class LimitExceeded(SyncError):
    """A batch, page or body beyond the protocol's limits."""


class StaleCursor(SyncError):
    """A pull cursor that the server's log has never reached."""
