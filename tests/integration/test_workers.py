"""Several server processes on one port (`server run --workers N`) share one truth.

A real `tovholder server run --workers 2` on PostgreSQL: each worker process serves
alone (the other SIGKILLed, as a crash would) and stores what a laptop pushes, every
answer shows all that any worker stored, and the supervisor starts a killed worker
again. On SQLite several processes are refused before anything listens.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import events as ev
from server.context import init_data_dir
from tests.conftest import BACKENDS, POSTGRES, _drop_schema

from .conftest import Server, add_worker, laptop_of, sync, tovholder

pytestmark = pytest.mark.slow


def workers_of(server: Server) -> list[int]:
    """The worker processes the supervising `server run` started (not its resource tracker)."""
    assert server.proc is not None
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == server.proc.pid and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return sorted(found)


def stop(server: Server) -> None:
    """SIGTERM the supervisor (it stops its workers), and SIGKILL any worker left over."""
    left = workers_of(server)
    if server.proc is not None and server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def workers(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """`server run --workers 2` on a fresh PostgreSQL schema."""
    if "postgres" not in BACKENDS:
        pytest.skip("several server processes run only on PostgreSQL, which TOVHOLDER_TEST_BACKENDS leaves out")
    schema = "t_" + uuid.uuid4().hex[:16]
    folder, token = init_data_dir(tmp_path / "server", f"{POSTGRES}?schema={schema}")
    env["TOVHOLDER_TOKEN"] = token
    monkeypatch.setenv("TOVHOLDER_TOKEN", token)
    s = Server(folder, env, ("--workers", "2"))
    try:
        s.start()
        yield s
    finally:
        stop(s)
        _drop_schema(schema)


def case_view(server: Server, token: str, case: str) -> Any:
    """A staff read on a connection of its own, so any worker may answer it."""
    r = httpx.get(
        f"{server.url}/v1/departments/jobcenter/cases/{case}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return r.json()


def wait_for_replacement(server: Server, gone: int) -> None:
    """Until the supervisor has started a worker in place of `gone` (polling)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = workers_of(server)
        if len(now) == 2 and gone not in now:
            return
        time.sleep(0.1)
    raise AssertionError(f"no worker replaced {gone}: {workers_of(server)}")


def test_each_worker_serves_alone_and_every_answer_shows_what_any_worker_stored(
    workers: Server, tmp_path: Path
) -> None:
    token = add_worker(workers, "w-anna", "jobcenter")
    first = workers_of(workers)
    assert len(first) == 2 and workers.proc is not None and workers.proc.pid not in first
    with laptop_of(workers, tmp_path / "laptop", "w-anna") as laptop:
        case = laptop.open_case("citizen", "jobcenter").case_id
        sync(laptop)
        stored = len(case_view(workers, token, case)["events"])
        for pid in first:
            os.kill(pid, signal.SIGKILL)  # only the other worker (or its replacement) is left
            laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", note="n", persons=())
            sync(laptop)
            stored += 1
            assert len(case_view(workers, token, case)["events"]) == stored
            assert laptop.store.outbox() == []
            wait_for_replacement(workers, pid)
        answers = [len(case_view(workers, token, case)["events"]) for _ in range(6)]
    assert answers == [stored] * 6
    assert set(workers_of(workers)).isdisjoint(first)


def test_several_processes_on_a_sqlite_log_are_refused_before_anything_listens(
    server: Server, env: dict[str, str]
) -> None:
    done = tovholder(
        "server", "run", str(server.folder), "--port", str(server.port + 1), "--workers", "2", env=env, check=False
    )
    assert done.returncode == 1
    assert "PostgreSQL" in done.stderr and "--workers 1" in done.stderr
