"""`tovholder server run` subprocesses on one data folder, to start, SIGKILL and start again.

Several instances on one folder share its PostgreSQL database (the folder names it), as a
municipality runs them behind one address; on SQLite one instance is the shape.
"""

from __future__ import annotations

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

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start the server and wait until /healthz answers 200 (polling, no fixed sleep)."""
        argv = [sys.executable, "-m", "tovholder", "server", "run", str(self.folder), "--port", str(self.port)]
        log = self.folder.parent / f"server-{self.port}.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(argv, env=clean_env(), stdout=out, stderr=out)
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
        """SIGKILL: no shutdown handler runs, as when the machine loses power."""
        if self.running and self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.kills += 1

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the server has used, from /proc; 0 when it is not running."""
        if not self.running or self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        """The server's resident memory in KiB (from /proc), 0 when it is not running."""
        if not self.running or self.proc is None:
            return 0
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0
