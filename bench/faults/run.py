"""One fault run: real servers, real laptops, a seeded proxy between them, and crash loops.

A run sets up a data folder (SQLite, or a PostgreSQL schema for one to three server
instances), enrolls its laptops through the proxy and opens one shared case with a goal
that every laptop holds. Then, round after round, every laptop records a few contacts
(and now and then a case of its own and a revision of the shared goal from whatever
revision it last saw) and all of them sync at once through the proxy's faults. In chosen
rounds a server instance is SIGKILLed the moment a push has reached it and started
again, and one laptop syncs as a `tovholder client sync` process that is SIGKILLed part
way. At the end the faults stop, every laptop syncs until nothing is pending, and
`bench.faults.check.judge` compares and counts.

A sync that fails under the faults is counted by its error (the worker would sync again),
never hidden: `Tally.failed` says which errors and how often; `refused` counts those
where the server refused the device (a duplicated request answered as a replay).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.faults.check import Holder, Verdict, judge
from bench.faults.proxy import Faults, Proxy
from bench.faults.servers import ServerProcess
from bench.sync import FAST_SCRYPT, clean_env
from client.errors import ClientError, DeviceRefused
from client.laptop import Laptop
from client.store import LaptopStore
from client.sync import Backoff, Syncer, enroll_laptop
from core import events as ev
from server.admin.actions import assign
from server.context import ServerContext, init_data_dir

PASSPHRASE = "a long passphrase for the field"
DEPT = "adult-social"
QUICK = Backoff(attempts=8, base=0.05, cap=1.0)  # a laptop retries soon: the run is short


@dataclass(frozen=True)
class Plan:
    """What one run does; `database` None is SQLite, else a PostgreSQL URL (one schema)."""

    seed: int
    database: str | None = None
    instances: int = 1
    laptops: int = 3
    rounds: int = 4
    server_kills: int = 1
    laptop_kills: int = 1
    faults: Faults = field(default_factory=Faults)


@dataclass
class Tally:
    """What a run injected and how it ended."""

    faults: Counter[str] = field(default_factory=Counter)
    recorded: set[str] = field(default_factory=set)
    revisions: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    server_kills: int = 0
    laptop_kills: int = 0
    verdict: Verdict = field(default_factory=Verdict)


@dataclass
class Field:
    """A laptop in the run: whose it is, and its store, open for the whole run."""

    holder: Holder
    laptop: Laptop


class Run:
    def __init__(self, plan: Plan, folder: Path) -> None:
        self.plan = plan
        self.folder = folder
        self.random = random.Random(plan.seed)
        self.tally = Tally()
        self.servers: list[ServerProcess] = []
        self.fields: list[Field] = []
        self.shared = ""
        self.goal = ""
        self.proxy: Proxy | None = None

    @property
    def server_folder(self) -> Path:
        return self.folder / "server"

    # -- set-up ---------------------------------------------------------------------------
    def _init(self) -> list[str]:
        """The data folder, its workers and one enrollment code each."""
        init_data_dir(self.server_folder, self.plan.database)
        ctx = ServerContext.open(self.server_folder, {})
        try:
            codes = []
            for n in range(self.plan.laptops):
                ctx.store.add_worker(f"w-{n}", DEPT, "caseworker")
                codes.append(ctx.store.enrollment_code(f"w-{n}", 3600)[0])
            return codes
        finally:
            ctx.close()

    async def _set_up(self, proxy: Proxy, codes: list[str]) -> None:
        for n, code in enumerate(codes):
            folder = self.folder / f"laptop-{n}"
            await enroll_laptop(folder, proxy.url, code, PASSPHRASE, scrypt_n=FAST_SCRYPT)
            laptop = Laptop(LaptopStore.open(folder, PASSPHRASE))
            self.fields.append(Field(Holder(folder, f"w-{n}", DEPT), laptop))
        first = self.fields[0].laptop
        self.shared = first.open_case("citizen", DEPT).case_id
        person = ev.new_id()
        first.record(self.shared, ev.PersonAdded, person_id=person, role="citizen", name="K", persons=(person,))
        goal = first.record(self.shared, ev.GoalAdded, goal_id=ev.new_id(), text="A home", owner=DEPT)
        self.goal = goal.goal_id
        self.tally.recorded |= {e.event_id for e, _ in first.view(self.shared).events}
        await self._sync(self.fields[0])
        ctx = ServerContext.open(self.server_folder, {})
        try:
            for f in self.fields[1:]:
                assign(ctx, self.shared, f.holder.worker)
        finally:
            ctx.close()
        await asyncio.gather(*(self._sync(f) for f in self.fields))

    # -- the rounds -----------------------------------------------------------------------
    def _work(self, f: Field, first: bool) -> None:
        """What a laptop records offline in one round."""
        laptop = f.laptop
        cases = [self.shared]
        if first or self.random.random() < 0.2:
            self.tally.recorded.add(laptop.open_case("citizen", DEPT).event_id)
        cases += [c for c in laptop.store.held_cases() if c != self.shared][-1:]
        for case in cases:
            for _ in range(self.random.randint(1, 3)):
                e = laptop.record(
                    case, ev.ContactRecorded, contact_id=ev.new_id(), kind="home-visit", note="talk", persons=()
                )
                self.tally.recorded.add(e.event_id)
        if self.random.random() < 0.6:
            revised = laptop.revise_goal(self.shared, self.goal, f"A home, round {self.random.randint(1, 999)}")
            self.tally.recorded.add(revised.event_id)
            self.tally.revisions += 1

    async def _sync(self, f: Field, backoff: Backoff = QUICK) -> bool:
        try:
            await Syncer(f.laptop, backoff=backoff).sync()
            return True
        except DeviceRefused:
            self.tally.refused += 1
            self.tally.failed["DeviceRefused"] += 1
        except ClientError as exc:
            self.tally.failed[type(exc).__name__] += 1
        return False

    async def _round(self, n: int, kill_server: bool, kill_laptop: int | None) -> None:
        assert self.proxy is not None
        for f in self.fields:
            self._work(f, n == 0)
        self.proxy.pushing.clear()
        jobs = [self._killed_sync(f) if i == kill_laptop else self._sync(f) for i, f in enumerate(self.fields)]
        if kill_server:
            jobs.append(self._kill_a_server())
        await asyncio.gather(*jobs)

    async def _kill_a_server(self) -> None:
        """SIGKILL one instance once a push has reached a server, then start it again."""
        assert self.proxy is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proxy.pushing.wait(), 10)
        victim = self.random.choice(self.servers)
        victim.kill()
        self.tally.server_kills += 1
        await asyncio.sleep(self.random.uniform(0.05, 0.5))
        await asyncio.to_thread(victim.start)

    async def _killed_sync(self, f: Field) -> None:
        """`tovholder client sync` as a process, SIGKILLed part way (or let finish)."""
        argv = [sys.executable, "-m", "tovholder", "client", "--data", str(f.holder.folder), "sync", "--json"]
        env = {**clean_env(), "TOVHOLDER_PASSPHRASE": PASSPHRASE}
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), self.random.uniform(0.1, 0.6))
        if proc.returncode is None:
            proc.kill()
            self.tally.laptop_kills += 1
        await proc.wait()

    # -- the whole run --------------------------------------------------------------------
    async def _settle(self) -> None:
        """Without faults, sync every laptop until none has anything left to send or pull."""
        assert self.proxy is not None
        self.proxy.faults = Faults.none()
        for s in self.servers:
            if not s.running:
                await asyncio.to_thread(s.start)
        for _ in range(3):
            await asyncio.gather(*(self._sync(f, Backoff(attempts=6, base=0.2, cap=2.0)) for f in self.fields))

    async def go(self) -> Tally:
        plan = self.plan
        self.servers = [ServerProcess(self.server_folder) for _ in range(plan.instances)]
        rounds = list(range(plan.rounds))
        server_rounds = set(self.random.sample(rounds, min(plan.server_kills, plan.rounds)))
        laptop_rounds = set(self.random.sample(rounds, min(plan.laptop_kills, plan.rounds)))
        self.proxy = Proxy([s.port for s in self.servers], plan.seed, Faults.none())
        await self.proxy.start()
        try:
            codes = self._init()
            await self._start_servers()
            await self._set_up(self.proxy, codes)
            self.proxy.faults = plan.faults
            for n in rounds:
                victim = self.random.randrange(len(self.fields)) if n in laptop_rounds else None
                await self._round(n, n in server_rounds, victim)
            self.tally.faults = Counter(self.proxy.counts)
            await self._settle()
        finally:
            await self.proxy.close()
            for f in self.fields:
                f.laptop.close()
            for s in self.servers:
                s.kill()
        holders = [f.holder for f in self.fields]
        self.tally.verdict = judge(self.server_folder, PASSPHRASE, holders, self.tally.recorded)
        return self.tally

    async def _start_servers(self) -> None:
        """The first instance alone (it makes the tables), then the others at once: several
        instances making a fresh PostgreSQL schema's tables at once can fail with "tuple
        concurrently updated" (`tests/faults` keeps that as an expected failure)."""
        await asyncio.to_thread(self.servers[0].start)
        await asyncio.gather(*(asyncio.to_thread(s.start) for s in self.servers[1:]))


def run(plan: Plan, folder: Path) -> Tally:
    """Do one run in `folder` (which must not exist yet or be empty); its tally."""
    return asyncio.run(Run(plan, folder).go())
