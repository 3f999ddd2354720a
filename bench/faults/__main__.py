"""`python -m bench.faults`: long fault runs, one table of what was injected and what held.

    python -m bench.faults --runs 20 --seed 1                      # SQLite, one server
    python -m bench.faults --runs 10 --backend postgres --instances 3

Each run has its own seed (`--seed`, `--seed`+1, ...), data folder and, on PostgreSQL, its
own schema, dropped afterwards. Every row ends with the checks of `bench.faults.check`;
the exit status is 1 when any run lost, doubled or left unflagged anything, left a
laptop different from the server, or failed `audit verify`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

from bench.faults.proxy import KINDS, Faults
from bench.faults.run import Plan, Tally, run

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--postgres", default=POSTGRES, help="the PostgreSQL server (a schema per run)")
    p.add_argument("--instances", type=int, default=1, help="server instances on one PostgreSQL")
    p.add_argument("--laptops", type=int, default=4)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--server-kills", type=int, default=2, help="SIGKILLs of a server per run, aimed mid-push")
    p.add_argument("--laptop-kills", type=int, default=2, help="SIGKILLs of a laptop mid-sync per run")
    p.add_argument("--rate", type=float, default=1.0, help="multiply every fault's probability")
    p.add_argument("--no-duplicates", action="store_true", help="leave duplicated requests out")
    args = p.parse_args(argv)
    if args.instances > 1 and args.backend != "postgres":
        p.error("several instances share only a PostgreSQL database: add --backend postgres")
    return args


def faults(args: argparse.Namespace) -> Faults:
    base = Faults()
    r = args.rate
    duplicate = 0.0 if args.no_duplicates else base.duplicate * r
    return Faults(base.drop * r, base.delay * r, duplicate, base.truncate * r, base.reorder * r)


def one(args: argparse.Namespace, seed: int) -> Tally:
    database = None
    schema = "faults_" + uuid.uuid4().hex[:12]
    if args.backend == "postgres":
        database = f"{args.postgres}?schema={schema}"
    plan = Plan(
        seed, database, args.instances, args.laptops, args.rounds, args.server_kills, args.laptop_kills, faults(args)
    )
    try:
        with tempfile.TemporaryDirectory(prefix="tovholder-faults-") as folder:
            return run(plan, Path(folder) / "run")
    finally:
        if database:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def table(rows: list[tuple[str, Tally]]) -> Table:
    t = Table(title="fault runs")
    columns = ["run", *KINDS, "server kills", "laptop kills", "events", "failed syncs", "refused"]
    columns += ["lost", "duplicated", "unflagged", "differing", "verified"]
    for c in columns:
        t.add_column(c, justify="left" if c == "run" else "right")
    for name, x in rows:
        v = x.verdict
        t.add_row(
            name,
            *(str(x.faults[k]) for k in KINDS),
            str(x.server_kills),
            str(x.laptop_kills),
            str(v.events),
            str(sum(x.failed.values())),
            str(x.refused),
            *(str(n) for n in (v.lost, v.duplicated, v.unflagged, v.differing)),
            "ok" if v.verified else "FAILED",
        )
    return t


def total(tallies: list[Tally]) -> Tally:
    whole = Tally()
    for x in tallies:
        whole.faults += x.faults
        whole.failed += x.failed
        whole.refused += x.refused
        whole.server_kills += x.server_kills
        whole.laptop_kills += x.laptop_kills
        for name in ("events", "lost", "duplicated", "unflagged", "differing", "unsynced"):
            setattr(whole.verdict, name, getattr(whole.verdict, name) + getattr(x.verdict, name))
    whole.verdict.verified = all(x.verdict.verified for x in tallies)
    return whole


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    console = Console(width=180)
    tallies: list[Tally] = []
    started = time.monotonic()
    for n in range(args.runs):
        tallies.append(one(args, args.seed + n))
        console.print(f"run {n + 1}/{args.runs} (seed {args.seed + n}) done")
    rows = [(f"seed {args.seed + n}", x) for n, x in enumerate(tallies)]
    rows.append((f"all {args.runs} runs", total(tallies)))
    console.print(table(rows))
    console.print(f"{args.runs} runs in {time.monotonic() - started:.0f} s of wall time")
    failed: Counter[str] = total(tallies).failed
    if failed:
        console.print("failed syncs by error: " + ", ".join(f"{k} {v}" for k, v in failed.most_common()))
    return 0 if all(x.verdict.sound for x in tallies) else 1


if __name__ == "__main__":
    raise SystemExit(main())
