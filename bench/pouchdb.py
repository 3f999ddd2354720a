"""The peer of `bench.sync --peer pouchdb`: PouchDB replicating a caseload's worth of documents.

`pouchdb-server` and `pouchdb` are installed from npm into a cache folder on first use
(`~/.cache/tovholder-bench/pouchdb`, kept between runs; nothing of them is in this
repository but `bench/pouchdb_replicate.js`). A `pouchdb-server` on loopback gets as
many documents as the first sync pulls, each holding as many bytes as a sealed event
(base64 text of random bytes), written through `_bulk_docs` before the clock starts;
then a fresh local PouchDB (LevelDB on disk, in node) replicates them from it, batches as
large as our pages, and the script reports the seconds of the replication alone.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

CACHE = Path.home() / ".cache" / "tovholder-bench" / "pouchdb"
PACKAGES = ("pouchdb-server@4.2.0", "pouchdb@9.0.0")
SCRIPT = Path(__file__).with_name("pouchdb_replicate.js")


class PeerMissing(Exception):
    """The peer cannot run here; the message says why in one sentence."""


def installed(cache: Path = CACHE) -> Path:
    """The cache folder with both packages, installed by npm when missing; PeerMissing
    when node or npm is not on this machine or the install fails."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise PeerMissing("node and npm are not both on this machine, so the PouchDB comparison is skipped")
    server = cache / "node_modules" / ".bin" / "pouchdb-server"
    if server.exists() and (cache / "node_modules" / "pouchdb").is_dir():
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(cache), *PACKAGES],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0 or not server.exists():
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise PeerMissing(f"npm could not install {' and '.join(PACKAGES)} into {cache} ({last})")
    return cache


def replicate(docs: int, doc_bytes: int, batch: int, port: int, cache: Path = CACHE) -> dict[str, float]:
    """Seconds for a fresh local PouchDB to replicate `docs` documents of `doc_bytes`
    from a pouchdb-server on `port`; also the seconds the filling took."""
    with tempfile.TemporaryDirectory(prefix="tovholder-bench-pouchdb-") as tmp:
        folder = Path(tmp)
        (folder / "server").mkdir()
        server = subprocess.Popen(
            [str(cache / "node_modules" / ".bin" / "pouchdb-server"), "--port", str(port), "--dir", "server"],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(url, server)
            t0 = time.perf_counter()
            fill(f"{url}/caseload", docs, doc_bytes)
            filled = time.perf_counter() - t0
            env = {**os.environ, "NODE_PATH": str(cache / "node_modules")}
            done = subprocess.run(
                ["node", str(SCRIPT), f"{url}/caseload", str(folder / "local"), str(batch)],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )
            if done.returncode != 0:
                raise PeerMissing(f"PouchDB's replication failed: {done.stderr.strip()[-300:]}")
            report = json.loads(done.stdout.strip().splitlines()[-1])
            if report["docs"] != docs:
                raise PeerMissing(f"PouchDB replicated {report['docs']} of {docs} documents")
            return {"seconds": float(report["seconds"]), "fill_seconds": filled, "docs": docs, "doc_bytes": doc_bytes}
        finally:
            server.terminate()
            server.wait(15)


def wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PeerMissing(f"pouchdb-server exited with status {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise PeerMissing("pouchdb-server did not answer within a minute")


def fill(db: str, docs: int, doc_bytes: int, per_request: int = 1000) -> None:
    """Create the database and write the documents: random bytes as base64 text of
    about `doc_bytes` characters each, ids like a case's events (case, sequence)."""
    with httpx.Client(timeout=300) as client:
        client.put(db).raise_for_status()
        raw = (doc_bytes * 3) // 4
        for start in range(0, docs, per_request):
            batch = [
                {"_id": f"case-{i // 50:05d}-{i % 50:03d}", "sealed": base64.b64encode(os.urandom(raw)).decode()}
                for i in range(start, min(docs, start + per_request))
            ]
            client.post(f"{db}/_bulk_docs", json={"docs": batch}).raise_for_status()
