"""`python -m bench.field_app`: how fast the field app's pages answer on a full laptop.

A laptop store is filled with a caseload of `--cases` cases (default 60) of `--events`
events each (default 200: two persons, a consent, goals, progress, meetings and
contacts), recorded offline, so every event is sealed in the outbox as the app and the
commands record them. `tovholder client ui` then runs as a real process on loopback;
one client unlocks it through its own page and asks each page `--rounds` times in turn
(one kept-alive connection, as a browser has): the caseload, a search by name, a case
page, a recording form, and a quick contact recorded (the POST and the case page it
leads to). The first caseload after unlocking, when every case is folded from its
events, is reported on its own. Target: every page under 100 ms (p99).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.startup import bench_store
from client.commands.cases import person_added
from client.commands.plan import goal_added, progress_recorded
from client.commands.sharing import consent_given
from client.commands.work import contact_recorded
from client.laptop import CaseView, Laptop
from core import events as ev
from core import vocabularies
from core.recording import record

PASSPHRASE = "bench passphrase for the field app"
TARGET_MS = 100.0
EXE = [sys.executable, "-m", "tovholder"]


def make_caseload(folder: Path, cases: int, events: int) -> list[tuple[str, str]]:
    """A laptop store holding `cases` cases of `events` events; (case id, a person's name) each."""
    store = bench_store(folder, PASSPHRASE)
    made: list[tuple[str, str]] = []
    with Laptop(store) as laptop:
        words = vocabularies.DEFAULT
        until = date.today() + timedelta(days=300)
        for n in range(cases):
            case = laptop.open_case("citizen", "jobcenter").case_id
            name = f"Citizen {n:02d} Hansen"
            person = person_added("citizen", name, birth_date=date(1960 + n % 30, 1 + n % 12, 1 + n % 28))
            laptop.record(case, person)
            who = person.fields["person_id"]
            laptop.record(case, person_added("parent", f"Parent {n:02d} Hansen"))
            laptop.record(
                case, consent_given(who, (who,), ("benefits",), ("contact", "plan"), "a joint job plan", until)
            )
            goal = goal_added(who, "A job within a year", "jobcenter", due=until)
            laptop.record(case, goal)
            view = laptop.view(case)
            for i in range(events - 5):
                if i % 10 == 0:
                    what: ev.Payload[Any] = progress_recorded(view, goal.fields["goal_id"], 1 + i % 5, "steady")
                elif i % 25 == 0:
                    what = ev.payload(ev.MeetingHeld, meeting_id=ev.new_id(), kind="network", minutes="We met")
                else:
                    what = contact_recorded(words, kind="drop-in", challenges=("finances",), note=f"Visit {i}")
                # Recorded as Laptop.record does, without folding the case again each time.
                event, _ = _record(laptop, view, what)
                view.events.append((event, True))
            made.append((case, name))
    return made


def _record(laptop: Laptop, view: CaseView, what: ev.Payload[Any]) -> tuple[ev.CaseEvent, Any]:
    event, sealed = record(view.state, laptop.key(view.state.case_id), laptop.directory, what, laptop.author)
    laptop.store.add_pending(sealed)
    return event, sealed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    return found[1] if found else ""


def _timed(http: httpx.Client, method: str, path: str, **kw: Any) -> float:
    start = time.perf_counter()
    answer = http.request(method, path, **kw)
    if answer.status_code >= 400:
        raise RuntimeError(f"{method} {path} answered {answer.status_code}")
    return (time.perf_counter() - start) * 1000


def measure(folder: Path, made: list[tuple[str, str]], rounds: int) -> dict[str, list[float]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOVHOLDER_")}
    proc = subprocess.Popen(
        [*EXE, "client", "--data", str(folder), "ui", "--port", str(port), "--no-browser", "--sync-every", "86400"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    times: dict[str, list[float]] = {}
    try:
        with httpx.Client(base_url=url, timeout=60, follow_redirects=True) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    page = http.get("/unlock")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            http.post("/unlock", data={"csrf": _token(page.text), "passphrase": PASSPHRASE}, follow_redirects=False)
            times["first caseload after unlocking"] = [_timed(http, "GET", "/cases")]
            token = _token(http.get("/cases").text)
            case, name = made[len(made) // 2]
            pages = {
                "caseload": ("GET", "/cases", {}),
                "search by name": ("GET", "/cases", {"params": {"q": name.split()[1]}}),
                "case page": ("GET", f"/cases/{case}", {}),
                "decision form": ("GET", f"/cases/{case}/decision", {}),
                "quick contact + case page": (
                    "POST",
                    f"/cases/{case}/contact",
                    {"data": {"csrf": token, "kind": "drop-in", "note": "A quick word"}},
                ),
            }
            for _ in range(rounds):
                for label, (method, path, kw) in pages.items():
                    times.setdefault(label, []).append(_timed(http, method, path, **kw))
    finally:
        proc.terminate()
        proc.wait(10)
    return times


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.field_app", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "laptop"
        made = make_caseload(folder, args.cases, args.events)
        times = measure(folder, made, args.rounds)
    rows: list[dict[str, Any]] = [
        {
            "page": label,
            "n": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "p99_ms": round(_pct(values, 0.99), 1),
            "under_target": _pct(values, 0.99) < TARGET_MS,
        }
        for label, values in times.items()
    ]
    result = {"cases": args.cases, "events_per_case": args.events, "target_ms": TARGET_MS, "pages": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    table = Table(title=f"field app pages, {args.cases} cases × {args.events} events (target p99 < {TARGET_MS:g} ms)")
    for column in ("page", "n", "p50 ms", "p99 ms", "under target"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["page"], str(r["n"]), f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}", "yes" if r["under_target"] else "no"
        )
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
