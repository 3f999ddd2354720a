"""Where a server process's memory grows: tracemalloc snapshots, for a debugging run only.

With `TOVHOLDER_TRACEMALLOC=FOLDER` in its environment, a server process starts
`tracemalloc` (which slows it and costs memory of its own: never in production), takes a
first snapshot after `TOVHOLDER_TRACEMALLOC_WARMUP` seconds (60 by default), and every
`TOVHOLDER_TRACEMALLOC_EVERY` seconds (60) rewrites `FOLDER/tracemalloc-PID.txt` with
the traced total and the 25 source lines whose allocations grew most since that first
snapshot. Only file names, line numbers, sizes and counts are written: no value the
process holds.
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path

ENV = "TOVHOLDER_TRACEMALLOC"
TOP = 25


def start_from_environment() -> threading.Thread | None:
    """Start tracing when `TOVHOLDER_TRACEMALLOC` names a folder; the writer thread."""
    folder = os.environ.get(ENV)
    if not folder:
        return None
    warmup = float(os.environ.get(f"{ENV}_WARMUP", "60"))
    every = float(os.environ.get(f"{ENV}_EVERY", "60"))
    path = Path(folder) / f"tracemalloc-{os.getpid()}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(1)
    thread = threading.Thread(target=_write, args=(path, warmup, every), name="tracemalloc", daemon=True)
    thread.start()
    return thread


def _write(path: Path, warmup: float, every: float) -> None:
    began = time.monotonic()
    time.sleep(warmup)
    first = tracemalloc.take_snapshot()
    first_total = tracemalloc.get_traced_memory()[0]
    while True:
        time.sleep(every)
        now = tracemalloc.take_snapshot()
        total = tracemalloc.get_traced_memory()[0]
        lines = [
            f"# {time.monotonic() - began:.0f} s after start; traced {total / 2**20:.1f} MiB, "
            f"{(total - first_total) / 2**20:+.2f} MiB since the snapshot at {warmup:.0f} s",
        ]
        for stat in now.compare_to(first, "lineno")[:TOP]:
            frame = stat.traceback[0]
            lines.append(
                f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks  "
                f"{stat.size / 1024:10.1f} KiB now  {frame.filename}:{frame.lineno}"
            )
        path.write_text("\n".join(lines) + "\n")
