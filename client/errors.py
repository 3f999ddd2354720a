"""Errors of the field laptop, named by whose fault they are.

    TovholderError
    └── ClientError
        ├── NotEnrolled          the data folder holds no enrolled laptop store
        ├── AlreadyEnrolled      `client init` on a folder that already holds a store
        ├── ServerUnreachable    no answer from the server after the retries (try again later)
        ├── DeviceRefused        the server refused this device: revoked or unknown (ask IT)
        ├── ServerRejected       the server answered with an error the laptop cannot fix
        │   └── ServerStorageFailed  the server cannot write its storage (disk full): sync later
        ├── StoreUnwritable      this laptop's disk is full or refuses writes (exit status 3)
        └── StoreDamaged         this laptop's store file is damaged (exit status 4)

Wrong passphrases raise `core.errors.WrongPassphrase`. Messages never carry a name, a
CPR number or a note. An error with an ``exit_status`` ends the command with it (else 1).
"""

from __future__ import annotations

from core.errors import TovholderError


class ClientError(TovholderError):
    """Base of errors raised by the field laptop."""


class NotEnrolled(ClientError):
    """The data folder does not hold an enrolled laptop store."""


class AlreadyEnrolled(ClientError):
    """The data folder already holds a laptop store."""


class ServerUnreachable(ClientError):
    """The server could not be reached or kept failing; nothing was lost, sync again later."""


class DeviceRefused(ClientError):
    """The server does not accept this device (revoked, unknown or a bad signature)."""


class ServerRejected(ClientError):
    """The server answered with an error that retrying will not fix."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status of the answer, 0 when there was none


class ServerStorageFailed(ServerUnreachable):
    """The server answered that its own storage cannot be written; the outbox keeps all."""


class StoreUnwritable(ClientError):
    """The laptop's disk is full or cannot be written: nothing of the failed write was
    kept, and the commands that only read still work."""

    exit_status = 3


class StoreDamaged(ClientError):
    """The laptop's store file is not a readable SQLite database any more."""

    exit_status = 4
