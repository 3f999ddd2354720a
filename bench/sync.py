"""`python -m bench.sync`: sync over real HTTP on loopback, against same-run baselines.

A real server (`tovholder server init` + `tovholder server run`, uvicorn) runs as a
subprocess on a free port; laptops are driven in this process through the client library
(`client.sync.Syncer`), exactly as `tovholder client sync` drives them. Three measures:

(a) push: a laptop pushes pre-recorded, sealed events in signed batches of 1,000.
    Baselines, same events: `CaseLog.append` in-process (signature, chain, store; no
    rules, no HTTP), `PushService.push` in-process (+ decrypt and the domain rules; no
    HTTP), and a POST of the very same request bodies to a sink server (uvicorn, an ASGI
    app that reads the body and answers "ok"): what HTTP alone costs.
(b) first sync: a freshly enrolled laptop pulls a caseload of 1,000 cases x 50 events
    (pre-filled in-process with sealed, signed events and wrapped keys; all assigned to
    its worker). Baseline: the same pull answered and applied in-process (no HTTP), and
    CommCare's reported 172 s for a first restore of 500 cases, as a reference row.
    Beside it, the cost of what the laptop checks who signed with per pulled page (the
    administrative events and batch manifests, `server.syncing.pullsigners`; the check,
    `client.signers`), and of the tree head proofs per pulled page: making them on the
    server (`server.syncing.pullproof`) and checking them on the laptop (`client.heads`).
    Raw baseline: the same answers' bytes (recorded from the in-process pull) fetched
    from the sink over HTTP and their events inserted into SQLite, one transaction per
    page. With `--peer pouchdb`, PouchDB replicating as many documents of the same size
    from pouchdb-server into a fresh local database (`bench.pouchdb`).
(c) round trip: record one contact, then sync (push + pull), repeated; median and p95.
    Baseline: two POSTs to the sink on a fresh connection, as a sync makes them.

Ratios (printed first, one JSON line per run kept by `bench.results`): push over HTTP
>= 0.60 of `CaseLog.append`; first sync <= 2x the raw baseline and >= 10x faster than
PouchDB; round trip <= 2x the two POSTs. Absolute targets: push >= 20,000 events/s;
first sync <= 5 s; round trip median < 30 ms.
Never part of the tests: it needs minutes of CPU and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import msgpack
from rich.console import Console
from rich.table import Table

from bench import pouchdb
from bench.results import Ratio, add_results_option, keep, load_average, print_ratios
from client.heads import check_page
from client.laptop import Laptop
from client.signers import Signers, check_signers
from client.store import LaptopStore
from client.sync import Syncer, SyncReport, enroll_laptop, tls_verify
from core import events as ev
from core.case_cache import CaseCache
from core.keys import CaseKey, DeviceKeys, KeyEncryptionKey, accept_grant, grant_key
from core.log import CaseLog
from core.recording import Author, make_event, record
from core.runtime import tune_for_throughput
from core.sealing import parse, seal, to_micros
from core.signing import sign_batch
from core.storage import close_recorder, open_recorder
from core.treehead import TreeHead
from server.context import ServerContext
from server.syncing.caseload import Caseload
from server.syncing.pull import PullingDevice, pull_view
from server.syncing.pullproof import page_proof
from server.syncing.pullsigners import admin_events, with_signers
from server.syncing.push import PushService, Worker
from server.syncing.share import ShareJudge
from server.treeheads import HeadSigner
from sync.protocol import SERVER_ID, KeyGrant, PullRequest, PushRequest, encode_pull_response, encode_push

BATCH = 1000
PASSPHRASE = "bench passphrase"
FAST_SCRYPT = 2**10  # unlocking the store is not what is measured
DEPT = "adult-social"
NOTE = "Samtale om økonomi, bolig og hverdagen; aftalt næste skridt i planen. " * 4
COMMCARE_FIRST_RESTORE_S = 172.0  # reported for a first restore of 500 cases


# --- processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env() -> dict[str, str]:
    """The environment without our settings or the library's, so the data folder rules."""
    prefixes = ("TOVHOLDER_", "SQLITE_", "POSTGRES_", "PERSISTENCE_", "CIPHER_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def spawn(argv: list[str], url: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a server process and wait until it answers on `url` (any status)."""
    environ = {**clean_env(), **(env or {})}
    proc = subprocess.Popen(argv, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{' '.join(argv[:4])} exited with status {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{' '.join(argv[:4])} did not come up")


SINK_PAGES = "BENCH_SINK_PAGES"  # the sink's environment: the folder of recorded pull answers


async def sink(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Any) -> None:
    """The HTTP baseline: read the whole body, answer a few bytes, do nothing else; or,
    for `/pages/N`, answer the bytes of the pull answer recorded as page N."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b"ok"
    if scope["path"].startswith("/pages/"):
        body = (Path(os.environ[SINK_PAGES]) / scope["path"].rsplit("/", 1)[1]).read_bytes()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


# --- recording on a laptop -------------------------------------------------------------


@dataclass
class Bench:
    folder: Path
    server_dir: Path
    url: str = ""


def add_worker(server_dir: Path, worker: str) -> str:
    """Add a worker (in-process, before the server runs) and return a one-time code."""
    ctx = ServerContext.open(server_dir, {})
    try:
        ctx.store.add_worker(worker, DEPT, "caseworker")
        return ctx.store.enrollment_code(worker, 3600)[0]
    finally:
        ctx.close()


def enroll(b: Bench, name: str, code: str) -> Laptop:
    folder = b.folder / name
    asyncio.run(enroll_laptop(folder, b.url, code, PASSPHRASE, scrypt_n=FAST_SCRYPT))
    return Laptop(LaptopStore.open(folder, PASSPHRASE))


def record_offline(laptop: Laptop, cases: int, per_case: int) -> list[str]:
    """Open `cases` cases with `per_case` events each on the laptop, as if offline.

    Every event is checked and sealed by the same `core.recording.record` a command uses;
    the outbox rows are written in one transaction so setting up does not dominate.
    """
    rows = []
    opened = []
    for _ in range(cases):
        opening = laptop.open_case("citizen", DEPT)
        case, key = opening.case_id, laptop.key(opening.case_id)
        opened.append(case)
        state = laptop.view(case).state
        for _ in range(per_case - 1):
            _, sealed = record(
                state,
                key,
                laptop.directory,
                ev.ContactRecorded,
                laptop.author,
                seen_seq=0,
                contact_id=ev.new_id(),
                kind="drop-in",
                note=NOTE,
            )
            rows.append((sealed.event_id, sealed.case_id, sealed.raw))
    with laptop.store.database.transaction(commit=True) as c:
        c.executemany("INSERT INTO outbox (event_id, case_id, sealed, status) VALUES (?, ?, ?, 'pending')", rows)
    return opened


def sync(laptop: Laptop, **kw: Any) -> SyncReport:
    return asyncio.run(Syncer(laptop, **kw).sync())


# --- (a) push ----------------------------------------------------------------------------


def bench_push(b: Bench, sink_url: str, events: int, cases: int) -> dict[str, float]:
    laptop = enroll(b, "pusher", add_worker_live(b, "w-push"))
    record_offline(laptop, cases, events // cases)
    pending = laptop.store.outbox(statuses=("pending",))
    keys = {k.case_id: k for k in laptop.store.unpushed_keys()}
    signing = laptop.store.device_keys.signing
    batches = []
    for start in range(0, len(pending), BATCH):
        raws = tuple(p.sealed for p in pending[start : start + BATCH])
        sealed = [parse(r) for r in raws]
        signed = sign_batch(signing, ev.new_id(), laptop.device_id, [s.digest for s in sealed])
        batches.append((raws, sealed, signed))
    n = len(pending)

    # Baselines first, on fresh logs of their own: append only, then push semantics.
    out: dict[str, float] = {}
    device = laptop.store.device_keys
    for name in ("append", "push"):
        recorder = open_recorder(f"sqlite:///{b.folder}/{name}.db")
        log = CaseLog(recorder, KeyEncryptionKey.generate())
        log.register_device(laptop.device_id, "w-push", device.signing_public, device.agreement_public)
        introduced: set[str] = set()
        server_keys = DeviceKeys.generate()
        service = PushService(log, lambda: laptop.directory, server_keys)
        t0 = time.perf_counter()
        for raws, sealed, signed in batches:
            new = [keys[c] for c in dict.fromkeys(s.case_id for s in sealed) if c not in introduced]
            introduced.update(k.case_id for k in new)
            if name == "append":
                log.append(sealed, signed, new)
            else:
                # The keys of the cases a batch opens travel with it, as from a laptop.
                grants = tuple(
                    KeyGrant(k.case_id, k.key_id, grant_key(k, server_keys.agreement_public, SERVER_ID)) for k in new
                )
                request = PushRequest(signed, raws, grants)
                answer = service.push(request, laptop.device_id, Worker("w-push", DEPT, "caseworker"))
                if any(r.status != "accepted" for r in answer.results):
                    reasons = [r.reason for r in answer.results if r.status != "accepted"]
                    raise SystemExit(f"the in-process push rejected an event: {reasons[0]}")
        out[name] = n / (time.perf_counter() - t0)
        close_recorder(recorder)

    bodies = [encode_push(PushRequest(signed, raws)) for raws, _, signed in batches]

    async def post_all() -> float:
        async with httpx.AsyncClient(base_url=sink_url, timeout=60) as client:
            t0 = time.perf_counter()
            for body in bodies:
                (await client.post("/v1/sync/push", content=body)).raise_for_status()
            return time.perf_counter() - t0

    out["sink"] = n / asyncio.run(post_all())
    out["body_bytes"] = sum(len(x) for x in bodies) / len(bodies)
    out["sealed_bytes"] = sum(len(r) for raws, _, _ in batches for r in raws) / n

    async def push() -> SyncReport:
        report = SyncReport()
        syncer = Syncer(laptop, batch_size=BATCH)
        async with syncer._client() as client:
            await syncer.push(client, report)
        return report

    t0 = time.perf_counter()
    report = asyncio.run(push())
    out["http"] = n / (time.perf_counter() - t0)
    if report.pushed != n:
        raise SystemExit(f"pushed {report.pushed} of {n} events: {list(report.rejected.values())[:1]}")
    out["events"] = n
    laptop.close()
    return out


def add_worker_live(b: Bench, worker: str) -> str:
    """Add a worker while the server runs (the same database, another connection)."""
    return add_worker(b.server_dir, worker)


# --- (b) first sync of a caseload -------------------------------------------------------


def prefill(server_dir: Path, worker: str, cases: int, per_case: int) -> int:
    """Fill the server's log in-process: sealed, signed batches from an office device,
    keys wrapped under the KEK, and every case assigned to `worker`."""
    ctx = ServerContext.open(server_dir, {})
    try:
        office = DeviceKeys.generate()
        ctx.log.register_device("bench-office", "w-office", office.signing_public, office.agreement_public)
        author = Author("w-office", "coordinator", DEPT, "bench-office")
        keys = [CaseKey.generate(ev.new_id()) for _ in range(cases)]
        sealed = []
        for key in keys:
            sealed.append(
                seal(
                    make_event(
                        ev.CaseOpened,
                        key.case_id,
                        key.key_id,
                        author,
                        0,
                        kind="citizen",
                        lead_department=DEPT,
                        reason="intake",
                    ),
                    key,
                )
            )
            for seq in range(1, per_case):
                sealed.append(
                    seal(
                        make_event(
                            ev.ContactRecorded,
                            key.case_id,
                            key.key_id,
                            author,
                            seq,
                            contact_id=ev.new_id(),
                            kind="home-visit",
                            note=NOTE,
                        ),
                        key,
                    )
                )
        by_case = {k.case_id: k for k in keys}
        introduced: set[str] = set()
        for start in range(0, len(sealed), BATCH):
            chunk = sealed[start : start + BATCH]
            new = [by_case[c] for c in dict.fromkeys(s.case_id for s in chunk) if c not in introduced]
            introduced.update(k.case_id for k in new)
            signed = sign_batch(office.signing, ev.new_id(), "bench-office", [s.digest for s in chunk])
            ctx.log.append(chunk, signed, new)
        for key in keys:
            ctx.caseload.assign(key.case_id, worker)
        return len(sealed)
    finally:
        ctx.close()


def bench_first_sync(b: Bench, code: str, expected: int, page: int) -> dict[str, float]:
    laptop = enroll(b, "fresh", code)
    t0 = time.perf_counter()
    report = sync(laptop, page_size=page)
    seconds = time.perf_counter() - t0
    held = laptop.store.count_confirmed()
    if held != expected:
        raise SystemExit(f"the fresh laptop holds {held} of {expected} events after its first sync")
    worker, department, device_id = laptop.author.worker, laptop.author.department, laptop.device_id
    laptop.close()

    # The same pull answered and applied in-process: what is left once HTTP is gone.
    folder = b.folder / "fresh-inproc"
    keys = DeviceKeys.generate()
    store = LaptopStore.create(folder, PASSPHRASE, keys, {"device_id": device_id}, scrypt_n=FAST_SCRYPT)
    ctx = ServerContext.open(b.server_dir, {})
    try:
        who = PullingDevice(device_id, worker, keys.agreement_public, department)
        caseload = Caseload(ctx.log)
        judge = ShareJudge(CaseCache(ctx.log), ctx.store.directory, ctx.log.clock)
        signer = HeadSigner(ctx)
        proving = checking = signing = vouching = 0.0
        kept: TreeHead | None = None
        signers = Signers.of(None, ctx.server_keys.signing_public)
        answers = []
        t0 = time.perf_counter()
        cursor, more = 0, True
        while more:
            request = PullRequest(cursor, page, tuple(store.held_cases()))
            view = pull_view(ctx.log, caseload, who, request, judge=judge)
            t1 = time.perf_counter()
            signed, envelopes = with_signers(
                ctx.log, view.response, view.envelopes, admin_events(ctx.log, signers.seq), view.response.drop
            )
            t2 = time.perf_counter()
            answer = replace(signed, proof=page_proof(signer, envelopes, None if kept is None else kept.size))
            t3 = time.perf_counter()
            kept, _ = check_page(answer, kept, None)
            t4 = time.perf_counter()
            signers = check_signers(answer, signers)
            signing, proving, checking = signing + t2 - t1, proving + t3 - t2, checking + t4 - t3
            vouching += time.perf_counter() - t4
            grants = [accept_grant(keys.agreement, device_id, g.case_id, g.key_id, g.grant) for g in answer.grants]
            store.apply_page(answer.events, grants, answer.drop, answer.next, to_micros(ev.utcnow()), answer.forget)
            cursor, more = answer.next, answer.more
            answers.append(answer)
        inproc = time.perf_counter() - t0
    finally:
        ctx.close()
        store.close()
    # The answers' bytes, for the raw baseline to fetch from the sink.
    for i, answer in enumerate(answers):
        (b.folder / "pages" / str(i)).write_bytes(encode_pull_response(answer))
    return {
        "seconds": seconds,
        "inproc": inproc,
        "pages": report.pages,
        "events": expected,
        "judging": judge.seconds,
        "opening": judge.opening,
        "judged": judge.judged,
        "proof_server_per_page": proving / max(report.pages, 1),
        "proof_laptop_per_page": checking / max(report.pages, 1),
        "signers_server_per_page": signing / max(report.pages, 1),
        "signers_laptop_per_page": vouching / max(report.pages, 1),
        "answers": len(answers),
    }


def bench_raw_first_sync(b: Bench, sink_url: str, pages: int) -> float:
    """Seconds to fetch the first sync's answers, the same bytes, from the sink over HTTP
    and insert their events into SQLite (a table of case, sequence and sealed bytes, one
    transaction per page): what moving those bytes costs without any checking."""
    conn = sqlite3.connect(b.folder / "raw-laptop.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE events (case_id TEXT, seq INTEGER, sealed BLOB, PRIMARY KEY (case_id, seq))")

    async def fetch_all() -> float:
        async with httpx.AsyncClient(base_url=sink_url, timeout=60) as client:
            t0 = time.perf_counter()
            for i in range(pages):
                answer = await client.post(f"/pages/{i}", content=b"x" * 200)
                answer.raise_for_status()
                page = msgpack.unpackb(answer.content)
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT INTO events VALUES (?,?,?)", [(e["case"], e["seq"], e["sealed"]) for e in page["events"]]
                )
                conn.execute("COMMIT")
            return time.perf_counter() - t0

    try:
        return asyncio.run(fetch_all())
    finally:
        conn.close()


# --- (c) one-event round trip -------------------------------------------------------------


def bench_round_trip(b: Bench, sink_url: str, code: str, reps: int) -> dict[str, Any]:
    laptop = enroll(b, "roundtrip", code)
    cases = record_offline(laptop, 40, 25)  # a caseload of 40 cases, synced once
    sync(laptop)
    records, syncs, totals = [], [], []
    for i in range(reps):
        t0 = time.perf_counter()
        laptop.record(cases[i % len(cases)], ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", note=NOTE)
        t1 = time.perf_counter()
        report = sync(laptop)
        t2 = time.perf_counter()
        if report.pushed != 1:
            raise SystemExit(f"a round trip pushed {report.pushed} events")
        records.append(t1 - t0)
        syncs.append(t2 - t1)
        totals.append(t2 - t0)
    laptop.close()

    async def two_posts() -> float:
        t0 = time.perf_counter()
        async with httpx.AsyncClient(base_url=sink_url, timeout=10, verify=tls_verify(sink_url, None)) as client:
            for path in ("/v1/sync/push", "/v1/sync/pull"):
                (await client.post(path, content=b"x" * 600)).raise_for_status()
        return time.perf_counter() - t0

    sink_times = [asyncio.run(two_posts()) for _ in range(reps)]
    return {
        "median": statistics.median(totals),
        "p95": percentile(totals, 95),
        "record_median": statistics.median(records),
        "sync_median": statistics.median(syncs),
        "sink_median": statistics.median(sink_times),
        "reps": reps,
    }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


# --- the table -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events pushed in (a)")
    parser.add_argument("--push-cases", type=int, default=200, help="cases the pushed events are spread over")
    parser.add_argument("--cases", type=int, default=1000, help="cases of the caseload in (b)")
    parser.add_argument("--per-case", type=int, default=50, help="events per case in (b)")
    parser.add_argument("--page", type=int, default=1000, help="events per pulled page in (b)")
    parser.add_argument("--reps", type=int, default=50, help="repetitions of the round trip in (c)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--peer",
        choices=("pouchdb",),
        help="also replicate as many documents of the same size with PouchDB from pouchdb-server "
        "(installed from npm into ~/.cache/tovholder-bench/pouchdb on first use)",
    )
    add_results_option(parser)
    args = parser.parse_args(argv)
    for key in [k for k in os.environ if k.startswith(("SQLITE_", "PERSISTENCE_", "CIPHER_", "TOVHOLDER_"))]:
        del os.environ[key]
    tune_for_throughput()  # the laptop side runs as `tovholder client sync` does; the server as `server run`

    with tempfile.TemporaryDirectory(prefix="tovholder-bench-sync-") as tmp:
        b = Bench(Path(tmp), Path(tmp) / "server")
        exe = [sys.executable, "-m", "tovholder"]
        subprocess.run(
            [*exe, "server", "init", str(b.server_dir), "--json"], env=clean_env(), check=True, capture_output=True
        )
        first_code = add_worker(b.server_dir, "w-first")
        round_code = add_worker(b.server_dir, "w-round")
        prefilled = prefill(b.server_dir, "w-first", args.cases, args.per_case)
        port, sink_port = free_port(), free_port()
        b.url = f"http://127.0.0.1:{port}"
        sink_url = f"http://127.0.0.1:{sink_port}"
        server = spawn([*exe, "server", "run", str(b.server_dir), "--port", str(port)], f"{b.url}/healthz")
        (b.folder / "pages").mkdir()
        echo = spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.sync:sink",
                "--port",
                str(sink_port),
                "--log-level",
                "warning",
                "--lifespan",
                "off",
                "--no-server-header",
            ],
            sink_url,
            {SINK_PAGES: str(b.folder / "pages")},
        )
        try:
            a = bench_push(b, sink_url, args.events, args.push_cases)
            c = bench_round_trip(b, sink_url, round_code, args.reps)
            f = bench_first_sync(b, first_code, prefilled, args.page)
            f["raw"] = bench_raw_first_sync(b, sink_url, int(f["answers"]))
        finally:
            for proc in (server, echo):
                proc.terminate()
                proc.wait(timeout=15)
        peer: dict[str, float] | str | None = None
        if args.peer == "pouchdb":
            try:
                sealed_bytes = round(a["sealed_bytes"])
                peer = pouchdb.replicate(prefilled, sealed_bytes, args.page, free_port(), pouchdb.installed())
            except pouchdb.PeerMissing as exc:
                peer = str(exc)

    ratios = [
        Ratio("push over HTTP", "CaseLog.append in-process", a["http"] / a["append"], 0.60),
        Ratio(
            f"first sync, {args.cases:,} x {args.per_case}",
            "the same bytes fetched over HTTP into SQLite",
            f["seconds"] / f["raw"],
            2,
            at_least=False,
        ),
        Ratio("one-event round trip", "two POSTs to an HTTP sink", c["median"] / c["sink_median"], 2, at_least=False),
    ]
    if isinstance(peer, dict):
        ratios.append(
            Ratio(
                f"PouchDB first sync ÷ ours, {args.cases:,} x {args.per_case}",
                "PouchDB replicating as many documents of the same size",
                peer["seconds"] / f["seconds"],
                10,
            )
        )
    load = load_average()

    checks = {
        "push >= 20,000 events/s": a["http"] >= 20_000,
        f"first sync of {args.cases:,} x {args.per_case} events <= 5 s": f["seconds"] <= 5,
        "round trip median < 30 ms": c["median"] < 0.030,
    }
    doc = {"push": a, "first_sync": f, "round_trip": c, "peer": peer, "targets": checks}
    keep(args.results, "sync", ratios, doc, load)
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    table = Table(
        title=f"sync on loopback: push {a['events']:,.0f} events over {args.push_cases} cases in batches of "
        f"{BATCH:,} ({a['body_bytes'] / 1024:,.0f} KiB a body); first sync {args.cases:,} cases x "
        f"{args.per_case} events, pages of {args.page:,}; round trip x {args.reps}"
    )
    for col in ("measure", "measured", "target", "HTTP push ÷ this"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    ms = 1000.0
    table.add_row("(a) push over HTTP: Syncer -> uvicorn -> PushService", f"{a['http']:,.0f} ev/s", ">= 20,000", "1.00")
    table.add_row(
        "    PushService.push in-process (decrypt, rules, append)",
        f"{a['push']:,.0f} ev/s",
        "",
        f"{a['http'] / a['push']:.2f}",
    )
    table.add_row(
        "    CaseLog.append in-process (signature, chain, store)",
        f"{a['append']:,.0f} ev/s",
        "",
        f"{a['http'] / a['append']:.2f}",
    )
    table.add_row(
        "    POST of the same bodies to a sink (HTTP only)",
        f"{a['sink']:,.0f} ev/s",
        "",
        f"{a['http'] / a['sink']:.2f}",
    )
    table.add_row(
        "(b) first sync over HTTP (Syncer, fresh laptop)", f"{f['seconds']:.2f} s", "<= 5 s", f"{f['pages']} pages"
    )
    table.add_row("    the same pull + apply in-process (no HTTP)", f"{f['inproc']:.2f} s", "", "")
    table.add_row("    raw: the same answers' bytes over HTTP, inserted into SQLite", f"{f['raw']:.2f} s", "", "")
    if isinstance(peer, dict):
        table.add_row(
            f"    PouchDB: {peer['docs']:,.0f} documents of {peer['doc_bytes']:,.0f} bytes from pouchdb-server",
            f"{peer['seconds']:.2f} s",
            "",
            "",
        )
    table.add_row(
        "    of which judging the worker's share (ShareJudge)",
        f"{f['judging']:.2f} s",
        "",
        f"{f['judged']:,} events",
    )
    table.add_row("    of which decrypting the cases to judge them", f"{f['opening']:.2f} s", "", "")
    table.add_row(
        "    tree head proofs per page: server (head, consistency, inclusion)",
        f"{f['proof_server_per_page'] * ms:.1f} ms",
        "",
        "",
    )
    table.add_row("    tree head proofs per page: laptop check", f"{f['proof_laptop_per_page'] * ms:.1f} ms", "", "")
    table.add_row(
        "    who signed, per page: server (administrative events, manifests)",
        f"{f['signers_server_per_page'] * ms:.1f} ms",
        "",
        "",
    )
    table.add_row("    who signed, per page: laptop check", f"{f['signers_laptop_per_page'] * ms:.1f} ms", "", "")
    table.add_row(
        "    CommCare first restore, 500 cases (reported)", f"{COMMCARE_FIRST_RESTORE_S:.0f} s", "", "reference"
    )
    table.add_row("(c) record one contact + sync, median", f"{c['median'] * ms:.1f} ms", "< 30 ms", "")
    table.add_row("    p95", f"{c['p95'] * ms:.1f} ms", "", "")
    table.add_row("    of which record (median)", f"{c['record_median'] * ms:.1f} ms", "", "")
    table.add_row("    of which sync push + pull (median)", f"{c['sync_median'] * ms:.1f} ms", "", "")
    table.add_row("    two POSTs to the sink, fresh connection (median)", f"{c['sink_median'] * ms:.1f} ms", "", "")
    console = Console()
    print_ratios(console, "bench.sync", ratios, load)
    console.print(table)
    for target, ok in checks.items():
        console.print(f"{'[green]met[/green]' if ok else '[red]missed[/red]'}  {target}")
    if isinstance(peer, str):
        console.print(peer)


if __name__ == "__main__":
    main()
