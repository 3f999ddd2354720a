"""`python -m bench.startup`: what a `tovholder` command costs as a whole process.

Each command runs as a real process (`python -m tovholder ...`) on a laptop store made
for the run (the real scrypt cost, one open case), N times, interleaved, beside the
same-run baselines: `python -c pass`, `python -c "import eventsourcing.sqlite"` (the
library's persistence, which the laptop's store no longer loads) and `python` plus one
scrypt derivation with the store key's parameters (what unlocking a store costs by design, not start-up). For each
it reports the CPU time of the child (user + system, `resource.getrusage(RUSAGE_CHILDREN)`)
and the wall time, min and median, and the ratio of the median CPU to the bare
interpreter's. `import the contact command` is start-up alone: what `tovholder client
... contact record` imports before it runs.

The children keep compiled bytecode, as an installed `tovholder` does: in a bytecode
cache made for the run (`PYTHONPYCACHEPREFIX`), filled by one discarded round first,
even where the environment says `PYTHONDONTWRITEBYTECODE` (a development checkout
that otherwise compiles every module from source on every command). `--no-bytecode`
measures that checkout as it is.

Target: a recording command starts (imports) in under 0.3 s of CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from client.laptop import Laptop
from client.store import LaptopStore
from core.keys import DeviceKeys, PassphraseKey

PASSPHRASE = "bench passphrase"
ROOT = Path(__file__).resolve().parent.parent


def bench_store(folder: Path, passphrase: str = PASSPHRASE) -> LaptopStore:
    """A jobcenter worker's laptop store, with the real scrypt cost and no case yet."""
    return LaptopStore.create(
        folder,
        passphrase,
        DeviceKeys.generate(),
        {
            "device_id": "dev-bench",
            "worker": "w-bench",
            "department": "jobcenter",
            "role": "caseworker",
            "server_url": "http://127.0.0.1:9",
            "ca_cert": None,
            "server_agreement_key": DeviceKeys.generate().agreement_public,
            "departments": [],
        },
    )


def make_store(folder: Path) -> str:
    """A laptop store with the real scrypt cost and one open case; returns the case id."""
    with Laptop(bench_store(folder)) as laptop:
        return laptop.open_case("citizen", "jobcenter").case_id


def commands(folder: Path, case: str) -> dict[str, list[str]]:
    """The processes to time, by the name in the table."""
    py = [sys.executable]
    client = [*py, "-m", "tovholder", "client", "--data", str(folder)]
    return {
        "python -c pass": [*py, "-c", "pass"],
        "python -c 'import eventsourcing.sqlite'": [*py, "-c", "import eventsourcing.sqlite"],
        "python + scrypt of the passphrase": [*py, "-c", SCRYPT],
        "tovholder --help": [*py, "-m", "tovholder", "--help"],
        "client contact record": [*client, "contact", "record", case, "--kind", "phone"],
        "client case show": [*client, "case", "show", case],
        "client status": [*client, "status"],
        "import the contact command": [*py, "-c", "import tovholder.__main__, client.cli"],
    }


# What unlocking a store costs by design: scrypt with the store key's parameters.
SCRYPT = f"import hashlib; hashlib.scrypt(b'pw', salt=bytes(16), n={PassphraseKey.N}, r=8, p=1, maxmem=2**28, dklen=32)"


def child_environment(bytecode: Path | None) -> dict[str, str]:
    """The children's environment: the passphrase, and the bytecode cache unless None."""
    env = {**os.environ, "TOVHOLDER_PASSPHRASE": PASSPHRASE}
    if bytecode is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    return env


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def measure(runs: int, folder: Path, case: str, env: dict[str, str]) -> dict[str, dict[str, float]]:
    """Min and median CPU and wall per command; runs interleave the commands, after one
    discarded round that fills the bytecode cache."""
    todo = commands(folder, case)
    cpu: dict[str, list[float]] = {name: [] for name in todo}
    wall: dict[str, list[float]] = {name: [] for name in todo}
    for argv in todo.values():
        run_once(argv, env)
    for _ in range(max(1, runs)):
        for name, argv in todo.items():
            c, w = run_once(argv, env)
            cpu[name].append(c)
            wall[name].append(w)
    bare = statistics.median(cpu["python -c pass"])
    return {
        name: {
            "cpu_min": min(cpu[name]),
            "cpu_median": statistics.median(cpu[name]),
            "wall_min": min(wall[name]),
            "wall_median": statistics.median(wall[name]),
            "cpu_vs_python": statistics.median(cpu[name]) / bare if bare else 0.0,
        }
        for name in todo
    }


def print_table(results: dict[str, dict[str, float]], runs: int, bytecode: bool) -> None:
    modules = "bytecode cached" if bytecode else "as the environment compiles them"
    table = Table(
        title=f"tovholder start-up, {runs} runs each, modules {modules} (seconds; ratio = median CPU / python -c pass)"
    )
    for column in ("command", "CPU min", "CPU median", "wall min", "wall median", "ratio"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for name, r in results.items():
        table.add_row(
            name,
            f"{r['cpu_min']:.3f}",
            f"{r['cpu_median']:.3f}",
            f"{r['wall_min']:.3f}",
            f"{r['wall_median']:.3f}",
            f"{r['cpu_vs_python']:.1f}x",
        )
    Console().print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (min and median are kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="keep the environment's bytecode setting (no cache for the run)"
    )
    args = parser.parse_args(argv)
    for key in [k for k in os.environ if k.startswith(("SQLITE_", "PERSISTENCE_", "CIPHER_"))]:
        del os.environ[key]
    with tempfile.TemporaryDirectory(prefix="tovholder-bench-") as tmp:
        folder = Path(tmp) / "laptop"
        case = make_store(folder)
        env = child_environment(None if args.no_bytecode else Path(tmp) / "bytecode")
        results = measure(args.runs, folder, case, env)
    document: dict[str, Any] = {"runs": args.runs, "bytecode": not args.no_bytecode, "results": results}
    if args.json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        print_table(results, args.runs, not args.no_bytecode)


if __name__ == "__main__":
    main()
