"""A server-side world for push and pull, and simulated laptops that record and sign."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from core import events as ev
from core.case import CaseState
from core.departments import Directory
from core.keys import CaseKey, DeviceKeys, grant_key
from core.log import CaseLog
from core.recording import Author, record
from core.sealing import SealedEvent
from core.signing import sign_batch
from server.syncing.caseload import Caseload
from server.syncing.push import PushService, Worker
from sync.protocol import KeyGrant, PushRequest


@dataclass
class Laptop:
    """A field laptop as far as the server can tell: keys, an author, and local cases."""

    device_id: str
    keys: DeviceKeys
    author: Author
    server_public: bytes
    cases: dict[str, tuple[CaseState, CaseKey]] = field(default_factory=dict)

    @property
    def worker(self) -> Worker:
        return Worker(self.author.worker, self.author.department, self.author.role)

    def open_case(self, lead: str = "jobcenter") -> tuple[str, SealedEvent]:
        case_id = str(uuid.uuid4())
        key = CaseKey.generate(case_id)
        state = CaseState(case_id)
        self.cases[case_id] = (state, key)
        _, sealed = record(
            state,
            key,
            Directory.default(),
            ev.CaseOpened,
            self.author,
            kind="citizen",
            lead_department=lead,
        )
        return case_id, sealed

    def adopt(self, case_id: str, key: CaseKey, events: list[ev.CaseEvent]) -> None:
        state = CaseState(case_id)
        for e in events:
            state.apply(e)
        self.cases[case_id] = (state, key)

    def record(self, case_id: str, cls: type[ev.CaseEvent], **fields: Any) -> SealedEvent:
        state, key = self.cases[case_id]
        _, sealed = record(state, key, Directory.default(), cls, self.author, **fields)
        return sealed

    def grant(self, case_id: str) -> KeyGrant:
        key = self.cases[case_id][1]
        return KeyGrant(case_id, key.key_id, grant_key(key, self.server_public, "server"))

    def batch(self, sealed: list[SealedEvent], grants: tuple[KeyGrant, ...] = ()) -> PushRequest:
        seal = sign_batch(self.keys.signing, str(uuid.uuid4()), self.device_id, [s.digest for s in sealed])
        return PushRequest(seal, tuple(s.raw for s in sealed), grants)


@dataclass
class World:
    log: CaseLog
    caseload: Caseload
    service: PushService
    server_keys: DeviceKeys

    def hand(self, laptop: Laptop, case_id: str) -> None:
        """Assign a case to the laptop's worker and give the laptop its key and events, as
        a pull would: only a case in the worker's caseload may be pushed to."""
        self.caseload.assign(case_id, laptop.author.worker)
        laptop.adopt(case_id, self.log.case_key(case_id), [self.log.open(e) for e in self.log.case_events(case_id)])

    def laptop(self, worker: str, department: str = "jobcenter", role: str = "caseworker") -> Laptop:
        keys = DeviceKeys.generate()
        device_id = "dev-" + uuid.uuid4().hex[:8]
        self.log.register_device(device_id, worker, keys.signing_public, keys.agreement_public)
        return Laptop(
            device_id,
            keys,
            Author(worker, role, department, device_id),
            self.server_keys.agreement_public,
        )


@pytest.fixture
def world(make_log: Callable[..., CaseLog]) -> World:
    log = make_log()
    server_keys = DeviceKeys.generate()
    log.register_device("server", "server", server_keys.signing_public, server_keys.agreement_public)
    caseload = Caseload(log)
    return World(log, caseload, PushService(log, Directory.default, server_keys, caseload=caseload), server_keys)
