"""Real processes on loopback: a `tovholder server run` under uvicorn and `tovholder` laptops.

What crosses a socket or a process boundary is tested here and only here (the in-process
ASGI tests live in `tests/client`). The helpers are shared by every integration test:

- `Server` starts, kills and restarts the server subprocess on a free port;
- `tovholder(...)` runs one command the way a person would type it, with the passphrase
  and the admin token in the environment (never on the command line);
- `admin(...)` acts on the server's data folder with `--dir`, as the demo does, from the
  test's own process (the `tovholder` main function itself: a process beside the server's,
  as an admin's shell is, without a fresh interpreter's start-up for every set-up step);
- `laptop_copy` and `server_copy` read both ends in the test process, so convergence is
  compared on what is stored (event ids, order, chain links), not on what a command prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from client.laptop import Laptop
from client.store import LaptopStore
from client.sync import Syncer, SyncReport, enroll_laptop
from core import events as ev
from core.adminlog import ADMIN_TOPIC
from core.archive import public_key_text
from core.case import fold
from core.sealing import parse
from core.visibility import department_view
from server.context import ServerContext, init_data_dir
from tests.client.conftest import FAST_SCRYPT
from tovholder.__main__ import main

PASSPHRASE = "a long passphrase for the field"
EXE = [sys.executable, "-m", "tovholder"]
T = TypeVar("T")
R = TypeVar("R")

# What both ends agree on for one stored event: (case sequence, event id, chain link).
Copy = list[tuple[int, str, bytes]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A `tovholder server run` subprocess on a free loopback port."""

    def __init__(self, folder: Path, env: dict[str, str], options: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.options = options  # more `server run` options, e.g. ("--workers", "2")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until /healthz answers (polling, never a fixed sleep)."""
        self.proc = subprocess.Popen(
            [*EXE, "server", "run", str(self.folder), "--port", str(self.port), *self.options],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the server did not come up")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as when the machine loses power."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def event_count(self) -> int:
        """How many case events the server stores (the administrative log's apart)."""
        with sqlite3.connect(self.folder / "log.db") as db:
            found = db.execute("SELECT COUNT(*) FROM stored_events WHERE topic<>?", (ADMIN_TOPIC,)).fetchone()
            return int(found[0])


def tovholder(*argv: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one `tovholder` command; with `check`, a failure shows its stderr."""
    done = subprocess.run([*EXE, *argv], env=env, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} failed: {done.stderr}")
    return done


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


def audit_verify(folder: Path, env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any]]:
    """`tovholder audit verify --dir FOLDER --json` (with `extra` options, e.g. ``--heads
    FILE``) as an auditor runs it: its exit status and its report."""
    done = tovholder("audit", "verify", *extra, "--dir", str(folder), "--json", env=env, check=False)
    return done.returncode, as_json(done)


_STDOUT = threading.Lock()  # one in-process command at a time: each takes over sys.stdout


def in_process(*argv: str) -> Any:
    """Run one server-side `tovholder` command (with `--json`) in the test's process; its
    JSON answer. The server runs in a process of its own, so both still share the data
    folder as an admin's shell and the server do."""
    out = io.StringIO()
    with _STDOUT, contextlib.redirect_stdout(out):
        status = main(list(argv))
    assert status == 0, f"{argv} failed"
    return json.loads(out.getvalue())


def admin(server: Server, *argv: str) -> Any:
    """An admin command on the server's data folder (`--dir`), its JSON answer."""
    return in_process("admin", *argv, "--dir", str(server.folder), "--json")


def client(folder: Path, env: dict[str, str], *argv: str) -> Any:
    """A laptop command with `--json`, its JSON answer."""
    return as_json(tovholder("client", "--data", str(folder), *argv, "--json", env=env))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TOVHOLDER_", "SQLITE_"))}
    return {**keep, "TOVHOLDER_PASSPHRASE": PASSPHRASE, "HOME": str(tmp_path)}


@pytest.fixture
def server(tmp_path: Path, env: dict[str, str]) -> Iterator[Server]:
    folder = tmp_path / "server"
    token = in_process("server", "init", str(folder), "--json")["admin_token"]
    env["TOVHOLDER_TOKEN"] = token
    s = Server(folder, env)
    s.start()
    yield s
    s.kill()


def add_worker(server: Server, worker: str, dept: str, role: str = "caseworker") -> str:
    """Add a worker; returns their staff token (for reading over HTTP)."""
    token: str = admin(server, "worker", "add", worker, "--department", dept, "--role", role)["token"]
    return token


def enroll_device(server: Server, env: dict[str, str], folder: Path, worker: str) -> None:
    """Enroll one more laptop for an existing worker with a fresh one-time code."""
    code = admin(server, "device", "enroll", "--worker", worker)["code"]
    tovholder("client", "init", str(folder), "--server", server.url, "--code", code, "--json", env=env)


def enroll(server: Server, env: dict[str, str], folder: Path, worker: str, dept: str, role: str = "caseworker") -> str:
    """Add a worker and enroll their laptop in `folder`; returns the worker's staff token."""
    token = add_worker(server, worker, dept, role)
    enroll_device(server, env, folder, worker)
    return token


class Staff:
    """Staff reading over HTTP with their tokens, as a department's or an auditor's screen
    would; remembers each department case read it made, for the access-log checks."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.reads: list[str] = []

    def get(self, token: str, path: str, params: dict[str, str] | None = None, status: int = 200) -> Any:
        r = self.http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == status, f"GET {path} answered {r.status_code}: {r.text}"
        return r.json()

    def case(self, token: str, dept: str, case: str, status: int = 200) -> Any:
        """GET /v1/departments/{dept}/cases/{case} with a staff token of `dept`."""
        self.reads.append(dept)
        return self.get(token, f"/v1/departments/{dept}/cases/{case}", status=status)


@pytest.fixture
def staff(server: Server) -> Iterator[Staff]:
    reader = Staff(server)
    yield reader
    reader.http.close()


def laptop_copy(folder: Path, case: str) -> Copy:
    """The laptop's confirmed copy of a case, read from its store in the test process
    (a placeholder, for an event the worker's department may not see, has no event id)."""
    with LaptopStore.open(folder, PASSPHRASE) as store:
        return [(c.seq, "" if c.placeholder else parse(c.sealed).event_id, c.link) for c in store.confirmed(case)]


def server_copy(server: Server, case: str) -> Copy:
    """The server's copy of a case, read through its own context (the server keeps running)."""
    ctx = ServerContext.open(server.folder, {})
    try:
        return [(le.seq, le.sealed.event_id, le.link) for le in ctx.log.case_events(case)]
    finally:
        ctx.close()


def share_copy(server: Server, case: str, department: str, worker: str) -> Copy:
    """What a laptop of `worker` in `department` should hold of the case now: the server's
    copy with the event id blank where the department view (`core.visibility`) hides the
    event and the worker did not record it."""
    ctx = ServerContext.open(server.folder, {})
    try:
        logged = ctx.log.case_events(case)
        events = [ctx.log.open(le) for le in logged]
        seen = department_view(fold(case, events), events, department, ctx.store.directory(), ev.utcnow()) or []
        whole = {s.seq for s in seen} | {seq for seq, e in enumerate(events, 1) if e.header.author == worker}
        return [(le.seq, le.sealed.event_id if le.seq in whole else "", le.link) for le in logged]
    finally:
        ctx.close()


def each(work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """Run `work` on every item at once, one thread each, as separate laptops would.

    Each item's own steps stay in order; what differs between laptops overlaps, which
    keeps the real-process tests short and lets the server see concurrent requests.
    """
    todo = list(items)
    with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
        return list(pool.map(work, todo))


def call(job: Callable[[], R]) -> R:
    """Do one job; with `each`, several set-up steps of different kinds run at once."""
    return job()


@pytest.fixture
def live(database_url: str, tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """A server subprocess on a data folder of the backend under test; the admin token is
    in the environment of the test's own `--dir` commands too."""
    url = None if database_url.startswith("sqlite") else database_url
    folder, token = init_data_dir(tmp_path / "server", url)
    env["TOVHOLDER_TOKEN"] = token
    monkeypatch.setenv("TOVHOLDER_TOKEN", token)
    archive_key = public_key_text(X25519PrivateKey.generate().public_key())
    env["TOVHOLDER_ARCHIVE_PUBLIC_KEY"] = archive_key
    monkeypatch.setenv("TOVHOLDER_ARCHIVE_PUBLIC_KEY", archive_key)
    s = Server(folder, env)
    s.start()
    yield s
    s.kill()


def laptop_of(server: Server, folder: Path, worker: str) -> Laptop:
    """Enroll a laptop of `worker` in the test's process and open it."""
    code = admin(server, "device", "enroll", "--worker", worker)["code"]
    asyncio.run(enroll_laptop(folder, server.url, code, PASSPHRASE, scrypt_n=FAST_SCRYPT))
    return Laptop(LaptopStore.open(folder, PASSPHRASE))


def sync(laptop: Laptop, part: str = "sync") -> list[str]:
    """One push, pull or both against the live server; the cases granted meanwhile."""

    async def go() -> list[str]:
        syncer = Syncer(laptop)
        async with syncer._client() as client:
            report = SyncReport()
            if part in ("sync", "push"):
                await syncer.push(client, report)
            if part in ("sync", "pull"):
                await syncer.pull(client, report)
            return list(report.granted)

    return asyncio.run(go())


@pytest.fixture
def second(live: Server) -> Iterator[Server]:
    """A second `tovholder server run` instance on the same database (and KEK), as a
    municipality runs several behind one address: on PostgreSQL, or on one machine's
    SQLite folder."""
    s = Server(live.folder, live.env)
    s.start()
    yield s
    s.kill()
