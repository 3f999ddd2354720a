"""A server started with TOVHOLDER_TRACEMALLOC writes where its memory grew, and nothing
it holds: file names, line numbers, sizes and counts only."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from bench.faults.servers import ServerProcess
from server.context import init_data_dir
from server.memory_trace import ENV


def test_a_traced_server_writes_its_growth_by_source_line(tmp_path: Path) -> None:
    folder, _ = init_data_dir(tmp_path / "srv")
    traces = tmp_path / "traces"
    server = ServerProcess(folder, (), {ENV: str(traces), f"{ENV}_WARMUP": "0.2", f"{ENV}_EVERY": "0.3"})
    server.start()
    try:
        deadline = time.monotonic() + 20
        written: list[Path] = []
        while time.monotonic() < deadline and not written:
            httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5)
            written = list(traces.glob("tracemalloc-*.txt"))
            time.sleep(0.2)
    finally:
        server.kill()
    assert [p.name for p in written] == [f"tracemalloc-{server_pid(written[0])}.txt"]
    text = written[0].read_text()
    head, *rows = text.splitlines()
    assert "MiB since the snapshot" in head
    line = re.compile(r"\s*[+-][\d.]+ KiB\s+[+-]\d+ blocks\s+[\d.]+ KiB now\s+(\S+\.py|<[\w .]+>):\d+")
    assert rows and all(line.fullmatch(r) for r in rows), rows


def server_pid(path: Path) -> str:
    return path.stem.removeprefix("tracemalloc-")
