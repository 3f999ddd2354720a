"""A server whose disk fills up, played with a real server process on a small tmpfs and
a real laptop: the push is answered 503 with the reason, /healthz says the server cannot
write, the laptop says the server's storage is the problem and loses nothing, and all of
it recovers once space is freed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SmallDisk
from tests.integration.conftest import Server, add_worker, client, enroll_device, in_process, tovholder


@pytest.fixture
def server_on_small_disk(small_disk: SmallDisk, env: dict[str, str]) -> Iterator[Server]:
    folder = small_disk.root / "server"
    env["TOVHOLDER_TOKEN"] = in_process("server", "init", str(folder), "--json")["admin_token"]
    server = Server(folder, env)
    server.start()
    yield server
    server.kill()


def test_a_server_with_a_full_disk_answers_503_with_its_reason_and_the_laptop_loses_nothing(
    server_on_small_disk: Server, small_disk: SmallDisk, env: dict[str, str], tmp_path: Path
) -> None:
    server = server_on_small_disk
    laptop = tmp_path / "laptop"
    add_worker(server, "w-anna", "jobcenter")
    enroll_device(server, env, laptop, "w-anna")
    case_id = client(laptop, env, "case", "open", "--kind", "family", "--lead", "jobcenter")["case"]
    client(laptop, env, "contact", "record", case_id, "--kind", "phone", "--note", "called about housing")

    for db in server.folder.glob("*.db"):  # the WAL files shrink to nothing: the next write must grow one
        with sqlite3.connect(db) as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    small_disk.fill()
    refused = tovholder("client", "--data", str(laptop), "sync", "--attempts", "1", env=env, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "the server's storage is failing" in refused.stderr
    assert "cannot write its storage" in refused.stderr
    assert client(laptop, env, "status")["pending"] == 2
    health = httpx.get(f"{server.url}/healthz", timeout=5)
    assert health.status_code == 503
    assert health.json()["status"] == "storage failing" and "free space" in health.json()["reason"]
    assert "housing" not in health.text

    small_disk.free()
    synced = client(laptop, env, "sync", "--attempts", "1")
    assert synced["pushed"] == 2 and synced["rejected"] == []
    assert client(laptop, env, "status")["pending"] == 0
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert server.event_count() == 2
