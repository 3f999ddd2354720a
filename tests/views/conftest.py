"""A case log on each backend with a server clock the test moves, and the view services on it.

`World.push(b)` appends what a `CaseBuilder` recorded since the last push, as a laptop's
sync would, at the server time `World.now`; so the three times of every event (happened,
recorded, received) are all under the test's control, as an as-of replay needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from core.access_log import AccessLog
from core.case_cache import CaseCache
from core.case_index import CaseIndexProjection
from core.keys import DeviceKeys, KeyEncryptionKey
from core.log import CaseLog, Receipt
from core.projection import ProjectionRunner
from core.storage import close_recorder, open_recorder
from tests.core.conftest import TODAY, CaseBuilder, Devices


@dataclass
class World:
    log: CaseLog
    devices: Devices
    now: datetime = TODAY
    pushed: dict[str, int] = field(default_factory=dict)
    server_keys: DeviceKeys = field(default_factory=DeviceKeys.generate)
    #: The archive authority's private key; erasure archives are sealed for its public half.
    archive_authority: X25519PrivateKey = field(default_factory=X25519PrivateKey.generate)

    def __post_init__(self) -> None:
        self.log.clock = lambda: self.now
        self.cache = CaseCache(self.log)
        self.index = ProjectionRunner(self.log, CaseIndexProjection(self.log))
        self.access = AccessLog(self.log, background=False)
        self.log.register_device("server", "server", self.server_keys.signing_public, self.server_keys.agreement_public)

    @property
    def archive_key(self) -> X25519PublicKey:
        """The public key erasure archives are sealed for."""
        return self.archive_authority.public_key()

    def push(self, b: CaseBuilder, at: datetime | None = None) -> list[Receipt]:
        """Append `b`'s events not pushed yet, received at `at` (default: a minute after
        the last event was recorded)."""
        done = self.pushed.get(b.case_id, 0)
        fresh = b.sealed[done:]
        self.now = at or (b.clock.now + timedelta(minutes=1))
        receipts = self.devices.push(self.log, fresh, [b.key] if done == 0 else [])
        self.pushed[b.case_id] = len(b.sealed)
        return receipts


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    log = CaseLog(open_recorder(database_url), KeyEncryptionKey.generate())
    w = World(log, Devices())
    yield w
    w.access.close()
    close_recorder(log.recorder)
