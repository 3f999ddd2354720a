"""Field laptops against a real server on loopback, everything as real processes.

The server is `tovholder server run` under uvicorn; laptops are `tovholder client ...`
subprocesses with the passphrase in TOVHOLDER_PASSPHRASE. The server is killed with
SIGKILL in the middle of a push and restarted; the retried push must store every event
exactly once, and the laptop must end with the server's copy, link for link. Then the
laptop is "stolen": its files reveal nothing, and once revoked it cannot sync.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from client.laptop import Laptop
from client.store import LaptopStore
from core import events as ev
from core.keys import KeyEncryptionKey
from core.log import CaseLog
from core.recording import record
from core.storage import close_recorder, open_recorder

from .conftest import EXE, PASSPHRASE, Server, as_json, enroll, tovholder

pytestmark = pytest.mark.slow
NOTE = "Talked about the debt collector and the eviction notice."
NAME = "Mona Lindqvist"


def record_many(folder: Path, n: int) -> str:
    """Record a case with `n` contacts offline, straight on the laptop's bench."""
    with Laptop(LaptopStore.open(folder, PASSPHRASE)) as laptop:
        case = laptop.open_case("citizen", "jobcenter").case_id
        person = ev.new_id()
        laptop.record(case, ev.PersonAdded, person_id=person, role="citizen", name=NAME, persons=(person,))
        state, key = laptop.view(case).state, laptop.key(case)
        for _ in range(n):
            _, sealed = record(
                state,
                key,
                laptop.directory,
                ev.ContactRecorded,
                laptop.author,
                seen_seq=0,
                contact_id=ev.new_id(),
                kind="street-outreach",
                note=NOTE,
                persons=(person,),
            )
            laptop.store.add_pending(sealed)
    return case


def sealed_copy(server: Server, case: str) -> list[tuple[int, bytes, bytes]]:
    recorder = open_recorder(f"sqlite:///{server.folder / 'log.db'}")
    try:
        log = CaseLog(recorder, KeyEncryptionKey.generate())  # sealed bytes need no key
        return [(le.seq, le.sealed.raw, le.link) for le in log.case_events(case)]
    finally:
        close_recorder(recorder)


def test_killed_mid_push_then_lost_laptop(server: Server, env: dict[str, str], tmp_path: Path) -> None:
    laptop = tmp_path / "laptop"
    enroll(server, env, laptop, "w-anna", "jobcenter")
    case = record_many(laptop, 400)

    sync = subprocess.Popen(
        [
            *EXE,
            "client",
            "--data",
            str(laptop),
            "sync",
            "--batch",
            "10",
            "--attempts",
            "1",
            "--json",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while server.event_count() < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill()
    _, err = sync.communicate(timeout=60)
    stored_before = server.event_count()
    assert 0 < stored_before < 402, "the kill did not land mid-push"
    assert sync.returncode != 0 and "Traceback" not in err and "sync again later" in err

    server.start()
    report = as_json(tovholder("client", "--data", str(laptop), "sync", "--json", env=env))
    assert not report["rejected"]
    copy = sealed_copy(server, case)
    assert len(copy) == 402 and len({raw for _, raw, _ in copy}) == 402
    with Laptop(LaptopStore.open(laptop, PASSPHRASE)) as bench:
        assert [(c.seq, c.sealed, c.link) for c in bench.store.confirmed(case)] == copy
        device = bench.device_id
    status = as_json(tovholder("client", "--data", str(laptop), "status", "--json", env=env))
    assert status["pending"] == 0 and status["awaiting_confirmation"] == 0
    assert status["last_sync"] is not None

    # Scenario 5: the laptop is stolen. Its files reveal no name or note ...
    raw = b"".join(p.read_bytes() for p in laptop.iterdir() if p.is_file())
    for secret in (NAME, NOTE, "eviction"):
        assert secret.encode() not in raw
    wrong = {**env, "TOVHOLDER_PASSPHRASE": "guess"}
    done = tovholder("client", "--data", str(laptop), "case", "show", case, env=wrong, check=False)
    assert done.returncode != 0 and "passphrase" in done.stderr and NAME not in done.stdout
    # ... it is revoked and can no longer sync, and nothing synced before is lost.
    tovholder("admin", "device", "revoke", device, "--server", server.url, "--json", env=env)
    done = tovholder("client", "--data", str(laptop), "sync", "--attempts", "1", env=env, check=False)
    assert done.returncode != 0 and "revoked" in done.stderr and "Traceback" not in done.stderr
    assert sealed_copy(server, case) == copy
