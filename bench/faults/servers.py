"""`tovholder server run` subprocesses on one data folder, to start, SIGKILL and start again.

Several instances on one folder share its PostgreSQL database (the folder names it), as a
municipality runs them behind one address; on SQLite one instance is the shape.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.sync import clean_env, free_port


class ServerProcess:
    """One `tovholder server run` on a free loopback port."""

    def __init__(self, folder: Path, options: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.options = options  # more `server run` options, e.g. ("--workers", "2")
        self.env = env or {}  # more environment, e.g. TOVHOLDER_TRACEMALLOC
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start the server and wait until /healthz answers 200 (polling, no fixed sleep)."""
        argv = [
            sys.executable,
            "-m",
            "tovholder",
            "server",
            "run",
            str(self.folder),
            "--port",
            str(self.port),
            *self.options,
        ]
        log = self.folder.parent / f"server-{self.port}.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(argv, env={**clean_env(), **self.env}, stdout=out, stderr=out)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                last = log.read_text(errors="replace").strip().splitlines()[-1:]
                raise RuntimeError(f"the server exited with status {self.proc.returncode}: {' '.join(last)}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the server did not come up within 60 s")

    def kill(self) -> None:
        """SIGKILL (the workers of `--workers N` too): no shutdown handler runs, as when
        the machine loses power."""
        if self.running and self.proc is not None:
            for child in self.pids()[1:]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.kills += 1

    def pids(self) -> list[int]:
        """The server's process and its children (the workers of `--workers N`)."""
        if not self.running or self.proc is None:
            return []
        found = [self.proc.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rpartition(")")[2].split()[1]) == self.proc.pid:
                    found.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return found

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the server's processes have used, from /proc."""
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def rss_kib(self) -> int:
        """The resident memory of the server's processes in KiB (from /proc), 0 when it is
        not running."""
        total = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        return total
