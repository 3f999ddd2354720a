"""Files only their owner may read: the umask every private file is created under.

Kept apart from the stores that use it, so that a laptop command can make its store
private without loading the eventsourcing library the server's log is built on.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files created meanwhile get mode 0600 (umask 077), whatever the process's umask."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)
