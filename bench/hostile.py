"""`python -m bench.hostile`: what hostile input costs the server, seen from `/healthz`.

A real `tovholder server run` on loopback. `/healthz` is asked over one kept-alive
connection, N times each: with nothing else going on (the baseline, same run), while 50
strangers hold connections open after trickling 2 MiB each of a 16 MiB push body (a
server that read bodies before checking who sends them would keep all of it), and while
an enrolled device sends one 16 MiB msgpack array of empty maps (a decoder without
bounds, on the event loop, would build 16 million dicts and keep `/healthz` waiting for
seconds). For each it prints the median answer and its ratio to the baseline's, the
slowest, and how much the server's resident memory grew.

Target: `/healthz` under 100 ms throughout, memory growth in MiB, not in the body's size.
"""

from __future__ import annotations

import argparse
import base64
import json
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.views import start_server
from core.keys import DeviceKeys
from server.context import ServerContext, init_data_dir
from sync.signature import signed_message

MIB = 1024 * 1024
BODY = 16 * MIB  # the server's default `max_body_bytes`
STRANGERS = 50


def rss(pid: int) -> int:
    """A process's resident memory in bytes (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("no VmRSS: this benchmark reads /proc")


def enrolled_folder(keys: DeviceKeys) -> Path:
    """A data folder with one worker and one enrolled device."""
    folder, _ = init_data_dir(Path(tempfile.mkdtemp()) / "server")
    ctx = ServerContext.open(folder, {})
    try:
        ctx.store.add_worker("anna", "jobcenter", "caseworker")
        ctx.log.register_device("dev-anna", "anna", keys.signing_public, keys.agreement_public)
    finally:
        ctx.close()
    return folder


def push_head(length: int, headers: dict[str, str]) -> bytes:
    lines = ["POST /v1/sync/push HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    return ("\r\n".join(lines + [f"{k}: {v}" for k, v in headers.items()]) + "\r\n\r\n").encode()


def trickle(address: tuple[str, int]) -> list[socket.socket]:
    """50 strangers, each sending up to 2 MiB of a 16 MiB body, then idling."""
    stranger = {"X-Tovholder-Device": "dev-nobody", "X-Tovholder-Time": str(int(time.time()))}
    stranger |= {"X-Tovholder-Nonce": "n", "X-Tovholder-Signature": "AAAA"}
    sockets = []
    for _ in range(STRANGERS):
        s = socket.create_connection(address)
        s.sendall(push_head(BODY, stranger))
        s.setblocking(False)
        sockets.append(s)
    sent, chunk = dict.fromkeys(range(len(sockets)), 0), b"\0" * (64 * 1024)
    deadline = time.monotonic() + 2
    while sent and time.monotonic() < deadline:
        for i in list(sent):
            try:
                sent[i] += sockets[i].send(chunk)
            except (BlockingIOError, ConnectionError):
                del sent[i]
                continue
            if sent[i] >= 2 * MIB:
                del sent[i]
    time.sleep(0.3)
    return sockets


def empty_maps(url: str, keys: DeviceKeys) -> threading.Thread:
    """An enrolled device's push of one array of 16 MiB of empty maps, in a thread."""
    body = b"\xdd" + (BODY - 5).to_bytes(4, "big") + b"\x80" * (BODY - 5)
    stamp, nonce = str(int(time.time())), uuid.uuid4().hex
    signature = keys.signing.sign(signed_message("POST", "/v1/sync/push", stamp, nonce, body))
    headers = {
        "X-Tovholder-Device": "dev-anna",
        "X-Tovholder-Time": stamp,
        "X-Tovholder-Nonce": nonce,
        "X-Tovholder-Signature": base64.b64encode(signature).decode(),
        "Content-Type": "application/msgpack",
    }
    sender = threading.Thread(
        target=lambda: httpx.post(f"{url}/v1/sync/push", content=body, headers=headers, timeout=30)
    )
    sender.start()
    return sender


def measure(samples: int) -> list[dict[str, Any]]:
    keys = DeviceKeys.generate()
    proc, url = start_server(enrolled_folder(keys))
    host, port = url.removeprefix("http://").split(":")
    rows: list[dict[str, Any]] = []
    try:
        with httpx.Client(base_url=url, timeout=10) as client:

            def healthz() -> float:
                started = time.perf_counter()
                client.get("/healthz").raise_for_status()
                return (time.perf_counter() - started) * 1000

            def row(name: str, times: list[float], before: int) -> None:
                rows.append({"load": name, "median_ms": statistics.median(times), "max_ms": max(times)})
                rows[-1]["rss_growth_mib"] = (rss(proc.pid) - before) / MIB

            healthz()  # the connection opened and the route warm before timing
            before = rss(proc.pid)
            row("nothing else (baseline)", [healthz() for _ in range(samples)], before)
            before = rss(proc.pid)
            sockets = trickle((host, int(port)))
            row(f"{STRANGERS} strangers holding 2 MiB each", [healthz() for _ in range(samples)], before)
            for s in sockets:
                s.close()
            before = rss(proc.pid)
            sender, during = empty_maps(url, keys), list[float]()
            while sender.is_alive() or not during:
                during.append(healthz())
            sender.join()
            row("a device's 16 MiB of empty maps", during, before)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for r in rows:
        r["median_vs_baseline"] = r["median_ms"] / rows[0]["median_ms"]
    return rows


def show(rows: list[dict[str, Any]], print_: Callable[[Table], None]) -> None:
    table = Table(title="/healthz under hostile input (one uvicorn process, SQLite)")
    for column in ("load", "median ms", "median ÷ baseline", "max ms", "RSS growth MiB"):
        table.add_column(column, justify="left" if column == "load" else "right")
    for r in rows:
        table.add_row(
            r["load"],
            f"{r['median_ms']:.1f}",
            f"{r['median_vs_baseline']:.1f}",
            f"{r['max_ms']:.1f}",
            f"{r['rss_growth_mib']:.1f}",
        )
    print_(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=50, help="answers of /healthz per row")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    rows = measure(args.samples)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        show(rows, Console().print)


if __name__ == "__main__":
    main()
