"""`python -m bench.views`: reading department views under load, and rebuilding them.

(a) Read latency: a real `tovholder server run` subprocess on loopback holds one case of
    200 events; 50 concurrent clients (one kept-alive HTTP/1.1 connection each, a lean
    asyncio load generator like wrk) ask for the case as its lead department sees it
    (consent and legal basis judged at read time, an access-log entry per read): once
    with the Accept-Encoding browsers send (the answer comes compressed), once for plain
    JSON. Baseline in the same run: `/healthz` under the same load, the floor of this
    server and this load generator (HTTP, routing, one small query). Besides the
    client's latencies, the server's own p99 is read from its /metrics histogram (the
    upper bound of the bucket). Target: p99 < 25 ms as browsers ask. Beside it, the
    HTML case page (`/ui/cases/{case}`) read by 50 signed-in browsers' sessions: the same
    judged view, rendered as the page a coordinator reads (reported, no target).
(b) Rebuild: drop the case index and build it again from the whole log through
    `ProjectionRunner.rebuild`, vs. a raw `sqlite3` scan of the same stored events.
    Target: >= 50,000 events/s.

The reads run in `--rounds` interleaved rounds (3), each measure the median of them.
Ratios (printed first, one JSON line per run kept by `bench.results`): rebuild >= 0.25
of the raw scan; case view p99 <= 1.5x `/healthz` p99.

Each part runs on a fresh temporary server data folder (SQLite).
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
from rich.console import Console
from rich.table import Table

from bench.log import DEVICE, NOTE, timed, workload
from bench.results import Ratio, add_results_option, keep, load_average, print_ratios
from core import events as ev
from core.case_index import CaseIndexProjection
from core.keys import CaseKey, DeviceKeys, KeyEncryptionKey
from core.log import CaseLog
from core.projection import ProjectionRunner
from core.recording import Author, make_event
from core.sealing import seal
from core.signing import sign_batch
from core.storage import close_recorder, open_recorder, recorder_env
from server.context import ServerContext, init_data_dir
from server.pages import COOKIE

LEAD = "children-family"
PAGE_ROUTE = "/ui/cases/{case}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prefill(folder: Path, n_events: int, database_url: str | None = None) -> tuple[Path, str, str]:
    """A server data folder with one family case of `n_events` events recorded by the
    lead department; returns (folder, case id, the lead caseworker's staff token)."""
    path, _ = init_data_dir(folder, database_url)
    ctx = ServerContext.open(path, {})
    try:
        token = ctx.store.add_worker("bench-worker", LEAD, "caseworker")
        device = DeviceKeys.generate()
        ctx.log.register_device(DEVICE, "bench-worker", device.signing_public, device.agreement_public)
        key = CaseKey.generate(str(uuid4()))
        author = Author("bench-worker", "caseworker", LEAD, DEVICE)
        sealed = [
            seal(
                make_event(
                    ev.CaseOpened,
                    key.case_id,
                    key.key_id,
                    author,
                    0,
                    kind="family",
                    lead_department=LEAD,
                    reason="intake",
                ),
                key,
            )
        ]
        for seq in range(1, n_events):
            e = make_event(
                ev.ContactRecorded,
                key.case_id,
                key.key_id,
                author,
                seq,
                contact_id=ev.new_id(),
                kind="home-visit",
                note=NOTE,
            )
            sealed.append(seal(e, key))
        signed = sign_batch(device.signing, "bench-batch", DEVICE, [s.digest for s in sealed])
        ctx.log.append(sealed, signed, [key])
        return path, key.case_id, token
    finally:
        ctx.close()


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOVHOLDER_")}
    env["TOVHOLDER_LOG_LEVEL"] = "warning"  # no access line per request on the console
    proc = subprocess.Popen(
        [sys.executable, "-m", "tovholder", "server", "run", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


BROWSER_ENCODINGS = "gzip, deflate, br, zstd"  # what Chromium and Firefox send


async def load(
    url: str,
    path: str,
    token: str,
    requests: int,
    clients: int,
    accept_encoding: str | None = None,
    session: str | None = None,
) -> tuple[list[float], float]:
    """`requests` GETs of `path` by `clients` concurrent clients; (latencies in s, wall time).

    Each client keeps one HTTP/1.1 connection alive and sends its next request as soon as
    the last answer is in, as 50 busy staff members' browsers would. The clients are
    written on asyncio streams, like wrk: they run on the same two cores as the server,
    and 50 `httpx.AsyncClient`s in one Python process took more than a core themselves
    (at ~1,300 requests/s), so the run measured the load generator more than the server.
    Every answer's status and length are checked; `check_answers` checks the content.
    With `session` (a page session's cookie, `sign_in`) the clients ask as a signed-in
    browser does, with the cookie instead of the token.
    """
    parsed = httpx.URL(url)
    host, port = parsed.host, parsed.port or 80
    credential = f"Cookie: {COOKIE}={session}" if session else f"Authorization: Bearer {token}"
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", credential]
    if accept_encoding:
        lines.append(f"Accept-Encoding: {accept_encoding}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    remaining = requests

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        at = head.lower().find(b"\r\ncontent-length:")
        if at < 0:
            raise SystemExit(f"{path} answered without a Content-Length")
        length = int(head[at + 17 : head.index(b"\r\n", at + 2)])
        body = await reader.readexactly(length)
        if status != 200:
            raise SystemExit(f"{path} answered {status}: {body[:200]!r}")

    warmed, started = 0, 0.0
    ready = asyncio.Event()

    async def client() -> None:
        nonlocal remaining, warmed
        reader, writer = await asyncio.open_connection(host, port)
        try:
            await answer(reader, writer)  # warm up: every connection open, the view judged
            warmed += 1
            if warmed == clients:
                ready.set()
            await ready.wait()
            while remaining > 0:
                remaining -= 1
                t0 = time.perf_counter()
                await answer(reader, writer)
                latencies.append(time.perf_counter() - t0)
        finally:
            writer.close()

    async def clock() -> None:
        nonlocal started
        await ready.wait()  # woken first: it waited first
        started = time.perf_counter()

    await asyncio.gather(clock(), *(client() for _ in range(clients)))
    return latencies, time.perf_counter() - started


def sign_in(url: str, token: str) -> str:
    """Sign in to the pages with a staff token as a browser does; the session cookie."""
    with httpx.Client(base_url=url, timeout=30) as browser:
        form = browser.get("/ui/sign-in").text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        answer = browser.post("/ui/sign-in", data={"csrf": csrf, "token": token})
        if answer.status_code != 303 or COOKIE not in browser.cookies:
            raise SystemExit(f"signing in to the pages answered {answer.status_code}")
        return str(browser.cookies[COOKIE])


def check_answers(url: str, path: str, token: str) -> None:
    """The compressed answers decode (httpx checks their checksums) to the plain one."""
    headers = {"Authorization": f"Bearer {token}"}
    answers = [
        httpx.get(f"{url}{path}", headers={**headers, "Accept-Encoding": coding}, timeout=30)
        for coding in ("identity", "deflate", "gzip")
    ]
    docs = [{k: v for k, v in r.raise_for_status().json().items() if k != "as_of"} for r in answers]
    if docs[1:] != docs[:-1] or [r.headers.get("content-encoding") for r in answers] != [None, "deflate", "gzip"]:
        raise SystemExit("the compressed case views differ from the plain one")


def server_buckets(url: str, route: str) -> list[tuple[float, int]]:
    """The server's own latency histogram of `route` from /metrics: (upper bound s, count)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found: list[tuple[float, int]] = []
    prefix = f'tovholder_request_seconds_bucket{{route="{route}",le="'
    for line in text.splitlines():
        if line.startswith(prefix):
            bound, _, count = line[len(prefix) :].partition('"} ')
            found.append((float(bound), int(count)))
    return found


def bucket_quantile(before: list[tuple[float, int]], after: list[tuple[float, int]], q: float) -> float:
    """The upper bound (s) of the bucket holding quantile `q` of the requests between two
    scrapes of a cumulative histogram (so "<= this")."""
    counts = dict(before)
    diff = [(bound, n - counts.get(bound, 0)) for bound, n in after]
    total = diff[-1][1] if diff else 0
    for bound, n in diff:
        if total and n >= q * total:
            return bound
    return float("inf")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


FLOOR = "/healthz (server floor)"


@contextmanager
def fresh_schema(database_url: str | None) -> Iterator[str | None]:
    """A PostgreSQL URL with a schema of its own, dropped afterwards (None: SQLite)."""
    if database_url is None:
        yield None
        return
    schema = f"bench_{uuid4().hex[:12]}"
    url = f"{database_url.split('?')[0]}?schema={schema}"
    try:
        yield url
    finally:
        env = recorder_env(url)
        with psycopg.connect(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=int(env["POSTGRES_PORT"]),
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"] or None,
            autocommit=True,
        ) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def bench_reads(
    n_events: int, requests: int, clients: int, database_url: str | None = None, rounds: int = 3
) -> dict[str, dict[str, float]]:
    """The case view as browsers ask for it (compressed) and as plain JSON, and /healthz,
    in `rounds` interleaved rounds; each measure is the median of the rounds."""
    with tempfile.TemporaryDirectory(prefix="tovholder-bench-") as tmp, fresh_schema(database_url) as database:
        folder, case_id, token = prefill(Path(tmp) / "srv", n_events, database)
        proc, url = start_server(folder)
        case_path, case_route = f"/v1/departments/{LEAD}/cases/{case_id}", "/v1/departments/{dept}/cases/{case}"
        try:
            check_answers(url, case_path, token)
            session = sign_in(url, token)
            runs: dict[str, list[dict[str, float]]] = {}
            for _ in range(max(1, rounds)):
                for name, path, route, coding, cookie in (
                    (f"case view, {n_events} events, compressed", case_path, case_route, BROWSER_ENCODINGS, None),
                    (f"case view, {n_events} events, plain JSON", case_path, case_route, None, None),
                    (
                        f"HTML case page, {n_events} events",
                        f"/ui/cases/{case_id}",
                        PAGE_ROUTE,
                        BROWSER_ENCODINGS,
                        session,
                    ),
                    (FLOOR, "/healthz", "/healthz", None, None),
                ):
                    before = server_buckets(url, route)
                    lat, wall = asyncio.run(load(url, path, token, requests, clients, coding, cookie))
                    after = server_buckets(url, route)
                    runs.setdefault(name, []).append(
                        {
                            "p50_ms": percentile(lat, 0.50) * 1000,
                            "p99_ms": percentile(lat, 0.99) * 1000,
                            "requests_per_s": len(lat) / wall,
                            # In the server from first byte in to last byte out, warm-up included.
                            "server_p99_le_ms": bucket_quantile(before, after, 0.99) * 1000,
                        }
                    )
            return {name: {m: statistics.median(r[m] for r in rs) for m in rs[0]} for name, rs in runs.items()}
        finally:
            proc.terminate()
            proc.wait(10)


def bench_rebuild(n_events: int, n_cases: int) -> dict[str, float]:
    """Events/s of rebuilding the case index from zero, and of a raw scan of the same rows."""
    w = workload(n_events, n_cases)
    with tempfile.TemporaryDirectory(prefix="tovholder-bench-") as tmp:
        db = Path(tmp) / "log.db"
        log = CaseLog(open_recorder(f"sqlite:///{db}"), KeyEncryptionKey.generate())
        log.register_device(DEVICE, "w-bench", w.device.signing_public, w.device.agreement_public)
        for chunk, signed, new in w.batches:
            log.append(chunk, signed, new)
        runner = ProjectionRunner(log, CaseIndexProjection(log))
        t_rebuild, applied = timed(runner.rebuild)
        if applied != n_events:
            raise SystemExit(f"the rebuild applied {applied} events, expected {n_events}")
        close_recorder(log.recorder)

        def scan() -> int:
            conn = sqlite3.connect(db)
            try:
                return sum(
                    len(row[2]) > 0
                    for row in conn.execute(
                        "SELECT originator_id, originator_version, state FROM stored_events ORDER BY rowid"
                    )
                )
            finally:
                conn.close()

        t_scan, scanned = timed(scan)
        if scanned != n_events:
            raise SystemExit(f"the raw scan read {scanned} rows, expected {n_events}")
    return {"rebuild": n_events / t_rebuild, "raw sqlite3 scan": n_events / t_scan}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.views", description=__doc__.split("\n")[0])
    parser.add_argument("--case-events", type=int, default=200, help="events in the case that is read")
    parser.add_argument("--requests", type=int, default=10_000, help="reads in all, per row")
    parser.add_argument("--clients", type=int, default=50, help="concurrent client tasks")
    parser.add_argument("--events", type=int, default=20_000, help="events in the log that is rebuilt")
    parser.add_argument("--cases", type=int, default=200, help="cases those events are spread over")
    parser.add_argument("--repeat", type=int, default=3, help="rebuild runs; the best counts")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the reads; medians count")
    parser.add_argument(
        "--database-url",
        help="read from a server on this PostgreSQL (a schema of its own, "
        "dropped afterwards) instead of SQLite, e.g. postgresql://postgres@127.0.0.1/postgres",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_results_option(parser)
    args = parser.parse_args(argv)
    for key in [k for k in os.environ if k.startswith(("SQLITE_", "PERSISTENCE_", "CIPHER_"))]:
        del os.environ[key]
    reads = bench_reads(args.case_events, args.requests, args.clients, args.database_url, args.rounds)
    rebuild: dict[str, float] = {}
    for _ in range(max(1, args.repeat)):
        for name, rate in bench_rebuild(args.events, args.cases).items():
            rebuild[name] = max(rate, rebuild.get(name, 0.0))
    view = next(iter(reads.values()))  # as browsers and httpx ask: compressed
    ratios = [
        Ratio("view rebuild", "raw SQLite scan", rebuild["rebuild"] / rebuild["raw sqlite3 scan"], 0.25),
        Ratio(
            f"case view p99, {args.clients} clients",
            "/healthz p99",
            view["p99_ms"] / reads[FLOOR]["p99_ms"],
            1.5,
            at_least=False,
        ),
    ]
    load_avg = load_average()
    checks = {
        "case view p99 < 25 ms with 50 concurrent clients": view["p99_ms"] < 25,
        "rebuild >= 50,000 events/s": rebuild["rebuild"] >= 50_000,
    }
    doc: dict[str, Any] = {
        "reads": {
            "clients": args.clients,
            "requests": args.requests,
            "case_events": args.case_events,
            "backend": "postgresql" if args.database_url else "sqlite",
            "results": {k: {m: round(v, 2) for m, v in r.items()} for k, r in reads.items()},
        },
        "rebuild": {
            "events": args.events,
            "cases": args.cases,
            "repeat": args.repeat,
            "events_per_s": {k: round(v) for k, v in rebuild.items()},
        },
        "targets": checks,
    }
    keep(args.results, "views", ratios, doc, load_avg)
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    console = Console()
    print_ratios(console, "bench.views", ratios, load_avg)
    console.print(f"raw sqlite3 scan on this machine: {rebuild['raw sqlite3 scan']:,.0f} rows/s")
    backend = "PostgreSQL" if args.database_url else "SQLite"
    table = Table(
        title=f"{args.requests:,} reads per row by {args.clients} concurrent clients on loopback, {backend}, "
        f"median of {args.rounds} interleaved rounds"
    )
    for col in ("read", "p50 ms", "p99 ms", "p99 ÷ floor", "requests/s", "server p99 ms (bucket)"):
        table.add_column(col, justify="right" if col != "read" else "left")
    floor = reads[FLOOR]["p99_ms"]
    for name, r in reads.items():
        table.add_row(
            name,
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['p99_ms'] / floor:.1f}",
            f"{r['requests_per_s']:,.0f}",
            f"<= {r['server_p99_le_ms']:g}",
        )
    console.print(table)
    table = Table(title=f"rebuild from zero: {args.events:,} events over {args.cases} cases, best of {args.repeat}")
    for col in ("reader", "events/s", "rebuild ÷ this"):
        table.add_column(col, justify="right" if col != "reader" else "left")
    for name, rate in rebuild.items():
        table.add_row(name, f"{rate:,.0f}", f"{rebuild['rebuild'] / rate:.2f}")
    console.print(table)
    for target, ok in checks.items():
        console.print(f"{'[green]met[/green]' if ok else '[red]missed[/red]'}  {target}")


if __name__ == "__main__":
    main()
