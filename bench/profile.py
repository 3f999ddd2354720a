"""`python -m bench.profile`: where the time goes, as cProfile summaries kept in bench/profiles/.

Four paths, each on fresh temporary SQLite stores with the workloads of the other
benchmarks, each profiled alone and written as a small text file (the top functions by
cumulative time, `--top`, 30 by default):

- `push.txt`: judging and appending pushed batches (`PushService.push`: batch signature,
  caseload, decrypt, fold, rules, append with its tree leaf), 20,000 events over 200
  cases in batches of 1,000, beside `append.txt`, the same batches through
  `CaseLog.append` alone;
- `pull-apply.txt`: a fresh laptop's first sync of 200 cases x 50 events answered
  in-process, page by page: the server's page and proofs, then the laptop's check of the
  tree head, grant unwrap and `LaptopStore.apply_page`;
- `replay.txt`: reading every event of the log, opening it with its case key and folding
  it into a `CaseState` (as `bench.log` times it);
- `rebuild.txt`: rebuilding the case index from zero (`ProjectionRunner.rebuild`);
- `floor.txt`: what one event's steps cost alone (timeit, no profiler): a row of a raw
  SQLite scan, msgpack of the sealed bytes and of the header, the header's checks, AES-GCM,
  opening the typed event; the floor under a replay that builds typed events in Python.

The figures inside are CPU seconds under the profiler, which slows Python calls several
times: read them as shares of one path, not as rates.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sqlite3
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgpack

from bench.log import DEVICE, Workload, replay, workload
from bench.sync import FAST_SCRYPT, PASSPHRASE, prefill
from client.heads import check_page
from client.store import LaptopStore
from core import events as ev
from core.case_cache import CaseCache
from core.case_index import CaseIndexProjection
from core.departments import Directory
from core.keys import DeviceKeys, KeyEncryptionKey, accept_grant, grant_key
from core.log import CaseLog, envelope, logged
from core.projection import ProjectionRunner
from core.runtime import tune_for_throughput
from core.sealing import _unpack_header, from_micros, open_sealed, parse, to_micros
from core.storage import close_recorder, open_recorder
from core.treehead import TreeHead
from server.context import ServerContext, init_data_dir
from server.syncing.caseload import Caseload
from server.syncing.pull import PullingDevice, pull_view
from server.syncing.pullproof import page_proof
from server.syncing.push import PushService, Worker
from server.syncing.share import ShareJudge
from server.treeheads import HeadSigner
from sync.protocol import SERVER_ID, KeyGrant, PullRequest, PushRequest

PROFILES = Path(__file__).parent / "profiles"


def summary(profile: cProfile.Profile, title: str, top: int) -> str:
    """The profile's top functions by cumulative time, with paths made relative."""
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    lines = [line.rstrip() for line in out.getvalue().splitlines() if line.strip()]
    return f"# {title}\n" + "\n".join(lines) + "\n"


def profiled(fn: Callable[[], Any]) -> cProfile.Profile:
    profile = cProfile.Profile()
    profile.enable()
    try:
        fn()
    finally:
        profile.disable()
    return profile


def fresh_log(folder: Path, name: str, w: Workload) -> CaseLog:
    log = CaseLog(open_recorder(f"sqlite:///{folder}/{name}.db"), KeyEncryptionKey.generate())
    log.register_device(DEVICE, "w-bench", w.device.signing_public, w.device.agreement_public)
    return log


def profile_push(w: Workload, folder: Path) -> tuple[cProfile.Profile, cProfile.Profile]:
    """`PushService.push` of the workload's batches, and `CaseLog.append` of the same."""
    log = fresh_log(folder, "append", w)
    appended = profiled(lambda: [log.append(chunk, signed, new) for chunk, signed, new in w.batches])
    close_recorder(log.recorder)

    log = fresh_log(folder, "push", w)
    server_keys = DeviceKeys.generate()
    service = PushService(log, Directory.default, server_keys)
    worker = Worker("w-bench", "children-family", "caseworker")
    requests = [
        PushRequest(
            signed,
            tuple(s.raw for s in chunk),
            tuple(KeyGrant(k.case_id, k.key_id, grant_key(k, server_keys.agreement_public, SERVER_ID)) for k in new),
        )
        for chunk, signed, new in w.batches
    ]

    def push() -> None:
        for request in requests:
            answer = service.push(request, DEVICE, worker)
            if any(r.status != "accepted" for r in answer.results):
                raise SystemExit(f"the push rejected an event: {answer.results[0].reason}")

    pushed = profiled(push)
    close_recorder(log.recorder)
    return pushed, appended


def profile_replay(w: Workload, folder: Path) -> cProfile.Profile:
    log = fresh_log(folder, "replay", w)
    for chunk, signed, new in w.batches:
        log.append(chunk, signed, new)
    reader = CaseLog(log.recorder, log.kek)  # a fresh process: no cached heads or keys
    profile = profiled(lambda: replay(reader))
    close_recorder(log.recorder)
    return profile


def profile_rebuild(w: Workload, folder: Path) -> cProfile.Profile:
    log = fresh_log(folder, "rebuild", w)
    for chunk, signed, new in w.batches:
        log.append(chunk, signed, new)
    runner = ProjectionRunner(log, CaseIndexProjection(log))
    profile = profiled(runner.rebuild)
    close_recorder(log.recorder)
    return profile


def profile_pull(folder: Path, cases: int, per_case: int, page: int) -> cProfile.Profile:
    """A fresh laptop's first sync answered in-process (as `bench.sync` (b) does)."""
    server_dir, _ = init_data_dir(folder / "server", None)
    ctx = ServerContext.open(server_dir, {})
    try:
        ctx.store.add_worker("w-first", "adult-social", "caseworker")
    finally:
        ctx.close()
    prefill(server_dir, "w-first", cases, per_case)
    keys = DeviceKeys.generate()
    store = LaptopStore.create(folder / "laptop", PASSPHRASE, keys, {"device_id": "d-first"}, scrypt_n=FAST_SCRYPT)
    ctx = ServerContext.open(server_dir, {})
    who = PullingDevice("d-first", "w-first", keys.agreement_public, "adult-social")
    caseload = Caseload(ctx.log)
    judge = ShareJudge(CaseCache(ctx.log), ctx.store.directory, ctx.log.clock)
    signer = HeadSigner(ctx)

    def first_sync() -> None:
        kept: TreeHead | None = None
        cursor, more = 0, True
        while more:
            view = pull_view(ctx.log, caseload, who, PullRequest(cursor, page, tuple(store.held_cases())), judge=judge)
            proof = page_proof(signer, view.envelopes, None if kept is None else kept.size)
            answer = replace(view.response, proof=proof)
            kept, _ = check_page(answer, kept, None)
            grants = [accept_grant(keys.agreement, "d-first", g.case_id, g.key_id, g.grant) for g in answer.grants]
            store.apply_page(answer.events, grants, answer.drop, answer.next, to_micros(ev.utcnow()), answer.forget)
            cursor, more = answer.next, answer.more

    try:
        return profiled(first_sync)
    finally:
        ctx.close()
        store.close()


def floor(w: Workload, n: int = 20_000) -> str:
    """Microseconds per event of each step of reading one, measured alone."""
    sealed = w.batches[0][0][5]
    key = next(k for k in w.cases if k.case_id == sealed.case_id)
    state = envelope(sealed.raw, 0, b"\0" * 32, "b1")
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (position INTEGER PRIMARY KEY, case_id TEXT, seq INTEGER, state BLOB)")
    conn.executemany("INSERT INTO t VALUES (?,?,?,?)", [(i, sealed.case_id, i, state) for i in range(1, n + 1)])
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("a row of a raw SQLite scan (fetchall of 20,000 rows, per row)", lambda: None),
        ("msgpack: the sealed bytes' outer list", lambda: msgpack.unpackb(sealed.raw)),
        ("msgpack: the header alone", lambda: msgpack.unpackb(sealed.header_raw)),
        ("the header checked and built (types, UUIDs, two times)", lambda: _unpack_header(sealed.header_raw)),
        ("one time from microseconds", lambda: from_micros(1_700_000_000_000_000)),
        ("parse: sealed bytes to a SealedEvent", lambda: parse(sealed.raw)),
        ("a stored row to a LoggedEvent (envelope + parse)", lambda: logged(1, 1, state)),
        ("AES-256-GCM decrypt alone", lambda: key.aead.decrypt(sealed.nonce, sealed.ciphertext, sealed.header_raw)),
        ("open_sealed: decrypt, msgpack, typed event", lambda: open_sealed(sealed, key)),
    ]
    lines = [f"# the floor: microseconds per event of each step alone, timeit x {n:,}"]
    for name, step in steps:
        if name.startswith("a row"):
            t0 = time.perf_counter()
            conn.execute("SELECT position, case_id, seq, state FROM t ORDER BY position").fetchall()
            micros = (time.perf_counter() - t0) / n * 1e6
        else:
            micros = timeit.timeit(step, number=n) / n * 1e6
        lines.append(f"{micros:7.2f}  {name}")
    conn.close()
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events of the push, replay and rebuild")
    parser.add_argument("--cases", type=int, default=200, help="cases they are spread over")
    parser.add_argument("--pull-cases", type=int, default=200, help="cases of the pulled caseload")
    parser.add_argument("--per-case", type=int, default=50, help="events per pulled case")
    parser.add_argument("--top", type=int, default=30, help="functions kept per profile")
    parser.add_argument("--out", type=Path, default=PROFILES, help="folder of the summaries")
    parser.add_argument("--only", nargs="*", default=None, help="push, pull-apply, replay, rebuild, floor")
    args = parser.parse_args(argv)
    tune_for_throughput()
    w = workload(args.events, args.cases)
    shape = f"{args.events:,} events over {args.cases} cases, batches of 1,000"
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only or ("push", "pull-apply", "replay", "rebuild", "floor"))
    if "floor" in wanted:
        (args.out / "floor.txt").write_text(floor(w))
        print(f"wrote {args.out / 'floor.txt'}")
    with tempfile.TemporaryDirectory(prefix="tovholder-profile-") as tmp:
        folder = Path(tmp)
        written: dict[str, tuple[cProfile.Profile, str]] = {}
        if "push" in wanted:
            pushed, appended = profile_push(w, folder)
            written["push"] = (pushed, f"PushService.push in-process: {shape}")
            written["append"] = (appended, f"CaseLog.append in-process: {shape}")
        if "replay" in wanted:
            written["replay"] = (profile_replay(w, folder), f"replay (read, open, fold): {shape}")
        if "rebuild" in wanted:
            written["rebuild"] = (profile_rebuild(w, folder), f"case index rebuild from zero: {shape}")
        if "pull-apply" in wanted:
            profile = profile_pull(folder, args.pull_cases, args.per_case, 1000)
            title = f"first sync in-process, {args.pull_cases} cases x {args.per_case} events, pages of 1,000"
            written["pull-apply"] = (profile, title)
    for name, (profile, title) in written.items():
        path = args.out / f"{name}.txt"
        path.write_text(summary(profile, title, args.top))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
