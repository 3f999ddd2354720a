"""Ratios against baselines of the same run, printed first and kept one JSON line per run.

Absolute rates do not travel between machines (or between runs on a shared one); the
ratio of a figure to a baseline measured in the same run does. Each benchmark names its
ratios here, prints them before its own table with the load average beside them, and
appends the run (ratios, figures, load average, time) as one line of JSON to a results
file, `bench/results.jsonl` unless `--results FILE` names another.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results.jsonl"


class Ratio(NamedTuple):
    """One figure against its same-run baseline; `at_least` says which way the target points."""

    figure: str
    against: str
    value: float
    target: float
    at_least: bool = True

    @property
    def met(self) -> bool:
        return self.value >= self.target if self.at_least else self.value <= self.target

    @property
    def wanted(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.target:g}"


def add_results_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="file that gets one JSON line per run (bench/results.jsonl)"
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them ("" elsewhere)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""


def print_ratios(console: Console, title: str, ratios: Sequence[Ratio], load: str) -> None:
    table = Table(title=f"{title}: ratios to baselines of this run (load average {load})")
    for col in ("figure", "against (same run)", "ratio", "target", ""):
        table.add_column(col, justify="left" if col in ("figure", "against (same run)") else "right")
    for r in ratios:
        table.add_row(r.figure, r.against, f"{r.value:.2f}", r.wanted, "met" if r.met else "missed")
    console.print(table)


def keep(path: Path, bench: str, ratios: Sequence[Ratio], figures: dict[str, Any], load: str) -> None:
    """Append the run as one JSON line."""
    line = {
        "bench": bench,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average": load,
        "ratios": [{**r._asdict(), "value": round(r.value, 3), "met": r.met} for r in ratios],
        "figures": figures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
