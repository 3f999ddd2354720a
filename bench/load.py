"""`python -m bench.load`: a municipality's load, open loop, against real server processes.

Simulated field laptops (real laptop stores and `client.sync.Syncer`, in this process)
each record a few contacts and sync every 30 s; staff readers each open a case view
(`GET /v1/departments/{dept}/cases/{case}`) every 2 s; now and then a laptop is enrolled
afresh and makes its first sync of the worker's caseload. Open loop: every action has
its time set in advance, and its latency runs from that time, so a server that falls
behind is charged for the wait (no coordinated omission).

    python -m bench.load                                    # 200 laptops, 50 readers, 5 min
    python -m bench.load --laptops 20 --readers 5 --seconds 30 --all
    python -m bench.load --backend postgres --processes 2 --ceiling

`--backend postgres --processes N` runs `tovholder server run --workers N` on one
PostgreSQL schema: N processes on one port, the kernel handing each new connection to
one of them. `--cache-mib` sets the servers' cache budget (`cache_mib`), small by default
so that a run of minutes reaches it and shows the memory flat from there on. `--all`
runs SQLite with one process, then PostgreSQL with one and with N. Printed: throughput,
p50/p99 per kind, errors, the servers' RSS over time, the CPU the generator and the
servers used, and how late the generator's own loop ran ("generator lag");
`--ceiling` doubles the laptops and readers per step until a p99 passes its target
(sync 1 s, case view 100 ms) or an error occurs, and prints the highest rate held.
The load generator shares the machine with the servers, so it is kept cheap: the
laptops' stores live in memory, and nothing in it waits for a disk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.table import Table

from bench.faults.servers import ServerProcess
from bench.sync import FAST_SCRYPT
from client.errors import ClientError
from client.laptop import Laptop
from client.store import LaptopStore
from client.sync import Syncer, SyncReport, enroll_laptop
from core import events as ev
from core.errors import TovholderError
from server.context import ServerContext, init_data_dir
from server.memory_trace import ENV as TRACE_ENV

PASSPHRASE = "a long passphrase for the load"
DEPT = "adult-social"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LAPTOPS_ON = Path("/dev/shm")  # a memory filesystem for the simulated laptops' stores
TARGETS = {"sync": 1.0, "case view": 0.1}  # p99 in seconds that the ceiling search holds to


@dataclass
class Load:
    """One configuration's measurements."""

    name: str
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    rss: list[tuple[float, list[int]]] = field(default_factory=list)  # (seconds, KiB per process)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds while driven: "generator", "servers"

    def took(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def p(self, kind: str, q: float) -> float:
        values = sorted(self.latencies.get(kind, []))
        return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")

    def held(self) -> bool:
        """Whether every target p99 held with no errors."""
        return not self.errors and all(self.p(k, 0.99) < limit for k, limit in TARGETS.items())

    def cpu_share(self, who: str) -> float:
        """Percent of one core that `who` ("generator" or "servers") used while driven."""
        return 100 * self.cpu.get(who, 0.0) / self.seconds if self.seconds else 0.0

    def rate(self) -> float:
        """Requests per second answered: a sync is two (push and pull)."""
        n = sum(len(v) for k, v in self.latencies.items() if k in ("push", "pull", "case view", "first sync"))
        return n / self.seconds if self.seconds else 0.0


@dataclass
class Site:
    """The servers of one configuration, with the laptops and readers set up against them."""

    folder: Path
    servers: list[ServerProcess]
    laptops: list[Laptop] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # one-time codes of new laptops, for first syncs

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.servers[n % len(self.servers)].port}"


def make_people(server_folder: Path, laptops: int, readers: int, newcomers: int) -> tuple[list[str], ...]:
    """Workers with one enrollment code each, readers' staff tokens, and spare codes."""
    ctx = ServerContext.open(server_folder, {})
    try:
        codes, tokens, spare = [], [], []
        for n in range(laptops):
            ctx.store.add_worker(f"w-{n}", DEPT, "caseworker")
            codes.append(ctx.store.enrollment_code(f"w-{n}", 7200)[0])
        for n in range(readers):
            tokens.append(ctx.store.add_worker(f"r-{n}", DEPT, "caseworker"))
        for n in range(newcomers):
            spare.append(ctx.store.enrollment_code(f"w-{n % max(1, laptops)}", 7200)[0])
        return codes, tokens, spare
    finally:
        ctx.close()


async def enroll_all(site: Site, codes: list[str]) -> None:
    """Enroll every laptop and give it a case of its own, synced (the warm-up)."""

    async def one(n: int, code: str) -> None:
        folder = site.folder / f"laptop-{n}"
        await enroll_laptop(folder, site.url(n), code, PASSPHRASE, scrypt_n=FAST_SCRYPT)
        laptop = Laptop(LaptopStore.open(folder, PASSPHRASE))
        case = laptop.open_case("citizen", DEPT).case_id
        contact(laptop, case)
        await Syncer(laptop).sync()
        site.laptops.append(laptop)
        site.cases.append(case)

    for start in range(0, len(codes), 20):
        await asyncio.gather(*(one(n, c) for n, c in enumerate(codes[start : start + 20], start)))


def contact(laptop: Laptop, case: str) -> None:
    laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="home-visit", note="a visit", persons=())


async def timed(load: Load, kind: str, due: float, work: Callable[[], Awaitable[object]]) -> None:
    """Wait for `due` (monotonic), do the work, charge its latency from `due`."""
    await asyncio.sleep(max(0.0, due - time.monotonic()))
    try:
        await work()
    except (TovholderError, httpx.HTTPError) as exc:
        load.errors[f"{kind}: {type(exc).__name__}"] += 1
        return
    load.took(kind, time.monotonic() - due)


async def sync_once(load: Load, laptop: Laptop, rng: random.Random) -> None:
    """Record one to three contacts, then push and pull, each timed on its own."""
    case = laptop.store.held_cases()[0]
    for _ in range(rng.randint(1, 3)):
        contact(laptop, case)
    syncer = Syncer(laptop)
    async with syncer._client() as client:
        report = SyncReport()
        started = time.monotonic()
        await syncer.push(client, report)
        pushed = time.monotonic()
        await syncer.pull(client, report)
        load.took("push", pushed - started)
        load.took("pull", time.monotonic() - pushed)


async def laptop_loop(load: Load, laptop: Laptop, end: float, rng: random.Random) -> None:
    due = time.monotonic() + rng.uniform(0, 30)
    while due < end:
        await timed(load, "sync", due, lambda: sync_once(load, laptop, rng))
        due += 30


async def reader_loop(load: Load, site: Site, n: int, end: float, rng: random.Random) -> None:
    headers = {"Authorization": f"Bearer {site.tokens[n]}"}
    async with httpx.AsyncClient(base_url=site.url(n), headers=headers, timeout=60) as http:

        async def view() -> None:
            r = await http.get(f"/v1/departments/{DEPT}/cases/{rng.choice(site.cases)}")
            if r.status_code != 200:
                raise httpx.HTTPStatusError(f"status {r.status_code}", request=r.request, response=r)

        due = time.monotonic() + rng.uniform(0, 2)
        while due < end:
            await timed(load, "case view", due, view)
            due += 2


async def first_syncs(load: Load, site: Site, end: float, every: float, rng: random.Random) -> None:
    """A freshly enrolled laptop's first sync every `every` seconds, while codes last."""
    due, n = time.monotonic() + rng.uniform(0, every), 0
    while due < end and site.codes:
        code = site.codes.pop()
        folder = site.folder / f"new-{n}"

        async def first(folder: Path = folder, code: str = code, at: str = site.url(n)) -> None:
            await enroll_laptop(folder, at, code, PASSPHRASE, scrypt_n=FAST_SCRYPT)
            with Laptop(LaptopStore.open(folder, PASSPHRASE)) as laptop:
                await Syncer(laptop).sync()

        await timed(load, "first sync", due, first)
        due, n = due + every, n + 1


async def sample_rss(load: Load, site: Site, start: float, end: float) -> None:
    while time.monotonic() < end:
        load.rss.append((time.monotonic() - start, [s.rss_kib() for s in site.servers]))
        await asyncio.sleep(5)


async def loop_lag(load: Load, end: float) -> None:
    """How late the generator's own event loop wakes a 10 ms sleep: when it is late, so is
    every request it times, and the delay is the generator's (or the machine's), not the
    server's. Kept as the kind "generator lag"."""
    while time.monotonic() < end:
        asked = time.monotonic()
        await asyncio.sleep(0.01)
        load.took("generator lag", time.monotonic() - asked - 0.01)


async def drive(load: Load, site: Site, seconds: float, first_every: float, seed: int) -> None:
    rng = random.Random(seed)
    start = time.monotonic()
    end = start + seconds
    jobs = [laptop_loop(load, lap, end, random.Random(rng.random())) for lap in site.laptops]
    jobs += [reader_loop(load, site, n, end, random.Random(rng.random())) for n in range(len(site.tokens))]
    jobs += [first_syncs(load, site, end, first_every, rng), sample_rss(load, site, start, end), loop_lag(load, end)]
    generator, servers = time.process_time(), sum(s.cpu_seconds() for s in site.servers)
    await asyncio.gather(*jobs)
    load.seconds = time.monotonic() - start
    load.cpu = {
        "generator": time.process_time() - generator,
        "servers": sum(s.cpu_seconds() for s in site.servers) - servers,
    }


# -- configurations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    backend: str
    processes: int
    laptops: int
    readers: int
    seconds: float
    first_every: float
    seed: int
    postgres: str = POSTGRES
    cache_mib: int = 16
    laptops_on_disk: bool = False  # as before: each laptop commit waits for the disk, on the loop
    tracemalloc: str = ""  # a folder: the servers write tracemalloc growth there (`server.memory_trace`)

    @property
    def name(self) -> str:
        many = "es" if self.processes > 1 else ""
        return f"{self.backend}, {self.processes} process{many}: {self.laptops} laptops + {self.readers} readers"


async def measure(config: Config, folder: Path, laptops: Path) -> Load:
    """Set up a fresh site for `config` (the server's data in `folder`, the simulated
    laptops' stores in `laptops`), warm it up, drive it, stop it."""
    schema = "load_" + uuid.uuid4().hex[:12]
    database = f"{config.postgres}?schema={schema}" if config.backend == "postgres" else None
    server_folder, _ = init_data_dir(folder / "server", database)
    newcomers = int(config.seconds / config.first_every) + 1
    codes, tokens, spare = make_people(server_folder, config.laptops, config.readers, newcomers)
    with (server_folder / "tovholder.toml").open("a") as toml:
        toml.write(f"cache_mib = {config.cache_mib}\n")
    workers = ("--workers", str(config.processes)) if config.processes > 1 else ()
    traced = {TRACE_ENV: config.tracemalloc} if config.tracemalloc else {}
    site = Site(laptops, [ServerProcess(server_folder, workers, traced)], tokens=tokens)
    site.codes = spare
    load = Load(config.name)
    try:
        site.servers[0].start()
        await enroll_all(site, codes)
        await drive(load, site, config.seconds, config.first_every, config.seed)
    except (ClientError, RuntimeError) as exc:
        load.errors[f"set-up: {exc}"] += 1
    finally:
        for laptop in site.laptops:
            laptop.close()
        for s in site.servers:
            s.kill()
        if database:
            with psycopg.connect(config.postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return load


def run(config: Config) -> Load:
    """Measure one configuration. The simulated laptops' stores live in memory (`LAPTOPS_ON`,
    when the machine has it): each commit of a laptop store waits for the disk, on the
    generator's one event loop, and that wait is the laptop's, not the server's. The
    server's data folder stays on the disk, as in production."""
    in_memory = LAPTOPS_ON.is_dir() and os.access(LAPTOPS_ON, os.W_OK) and not config.laptops_on_disk
    laptops_on = LAPTOPS_ON if in_memory else None
    with (
        tempfile.TemporaryDirectory(prefix="tovholder-load-") as folder,
        tempfile.TemporaryDirectory(prefix="tovholder-load-laptops-", dir=laptops_on) as laptops,
    ):
        return asyncio.run(measure(config, Path(folder), Path(laptops)))


# -- reporting -----------------------------------------------------------------------------------


def kinds_table(loads: list[Load]) -> Table:
    t = Table(title="load: latency per request kind (from the scheduled time)")
    for c in ("configuration", "kind", "count", "per s", "p50 ms", "p99 ms", "max ms"):
        t.add_column(c, justify="left" if c in ("configuration", "kind") else "right")
    for load in loads:
        for kind in ("sync", "push", "pull", "first sync", "case view", "generator lag"):
            values = load.latencies.get(kind, [])
            per_s = len(values) / load.seconds if load.seconds else 0.0
            t.add_row(
                load.name,
                kind,
                str(len(values)),
                f"{per_s:.1f}",
                f"{load.p(kind, 0.5) * 1000:.0f}",
                f"{load.p(kind, 0.99) * 1000:.0f}",
                f"{max(values, default=float('nan')) * 1000:.0f}",
            )
    return t


def summary_table(loads: list[Load]) -> Table:
    t = Table(title="load: throughput, errors and server memory")
    columns = ("configuration", "requests/s", "errors", "RSS MiB over time (sum of processes)", "CPU % gen/servers")
    for c in (*columns, "targets"):
        t.add_column(
            c, justify="left" if c in ("configuration", "errors", "RSS MiB over time (sum of processes)") else "right"
        )
    for load in loads:
        rss = " ".join(f"{sum(kib) / 1024:.0f}" for _, kib in load.rss)
        errors = ", ".join(f"{k} {v}" for k, v in load.errors.most_common()) or "0"
        cpu = f"{load.cpu_share('generator'):.0f} / {load.cpu_share('servers'):.0f}"
        t.add_row(load.name, f"{load.rate():.1f}", errors, rss, cpu, "held" if load.held() else "missed")
    return t


def ceiling(config: Config, console: Console) -> list[Load]:
    """Double laptops and readers per step until a target p99 is missed or an error occurs."""
    steps: list[Load] = []
    scale = 1
    while True:
        step = Config(
            config.backend,
            config.processes,
            config.laptops * scale,
            config.readers * scale,
            config.seconds,
            config.first_every,
            config.seed,
            config.postgres,
            config.cache_mib,
            config.laptops_on_disk,
        )
        steps.append(run(step))
        console.print(f"ceiling step {step.name}: {'held' if steps[-1].held() else 'missed'}")
        if not steps[-1].held() or scale >= 64:
            return steps
        scale *= 2


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    p.add_argument("--laptops", type=int, default=200)
    p.add_argument("--readers", type=int, default=50)
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--first-every", type=float, default=10.0, help="seconds between first syncs of new laptops")
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--processes", type=int, default=1, help="server processes (--workers) on one PostgreSQL")
    p.add_argument("--cache-mib", type=int, default=16, help="the servers' cache budget in MiB (cache_mib)")
    p.add_argument("--all", action="store_true", help="SQLite x1, PostgreSQL x1 and PostgreSQL x --processes (2 if 1)")
    p.add_argument("--ceiling", action="store_true", help="double the load per step until a target is missed")
    p.add_argument(
        "--laptops-on-disk",
        action="store_true",
        help="the laptops' stores on the disk (to compare: the generator waits)",
    )
    p.add_argument("--postgres", default=POSTGRES)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--tracemalloc",
        type=Path,
        help="a folder: each server process traces its allocations and writes what grew since a minute "
        "in, every minute (slows the servers; for finding where memory goes, not for the figures)",
    )
    args = p.parse_args(argv)
    if args.processes > 1 and args.backend != "postgres" and not args.all:
        p.error("several server processes share only a PostgreSQL database: add --backend postgres")
    return args


def configs(args: argparse.Namespace) -> list[Config]:
    def make(backend: str, processes: int) -> Config:
        return Config(
            backend,
            processes,
            args.laptops,
            args.readers,
            args.seconds,
            args.first_every,
            args.seed,
            args.postgres,
            args.cache_mib,
            args.laptops_on_disk,
            str(args.tracemalloc or ""),
        )

    if args.all:
        return [make("sqlite", 1), make("postgres", 1), make("postgres", max(2, args.processes))]
    return [make(args.backend, args.processes)]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    console = Console(width=160)
    loads: list[Load] = []
    for config in configs(args):
        if args.ceiling:
            steps = ceiling(config, console)
            loads += steps
            held = [s for s in steps if s.held()]
            best = f"{held[-1].rate():.1f} requests/s ({held[-1].name})" if held else "none of the steps"
            console.print(f"ceiling for {config.backend} x{config.processes}: {best}")
        else:
            console.print(f"running {config.name} for {config.seconds:.0f} s")
            loads.append(run(config))
    console.print(kinds_table(loads))
    console.print(summary_table(loads))
    return 0 if all(not x.errors for x in loads) else 1


if __name__ == "__main__":
    raise SystemExit(main())
