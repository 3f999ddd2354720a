"""`server run --witness DIR`, played with a real server process: every head it signs
lands in a file outside the data folder, which an auditor holds the log to with `audit
verify --heads`; an event cut off afterwards in the stopped server's tables is named by
its position; with several processes on PostgreSQL, each appends what it signs. A witness
folder inside the data folder is refused."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import Server, audit_verify, client, enroll, free_port, tovholder
from tests.integration.insider import cut_last_event, tables_of
from tests.integration.test_caseload_pull import open_cases
from tests.integration.test_workers import stop, workers

__all__ = ["workers"]  # the fixture of `server run --workers 2` on PostgreSQL


def named(witness: Path) -> list[str]:
    """The witnessed heads as a laptop's status names its kept head."""
    heads = [json.loads(line) for line in (witness / "tree-heads.jsonl").read_text().splitlines()]
    return [f"size {h['size']}, root {h['root']}" for h in heads]


def test_every_signed_head_goes_to_the_witness_file_and_audit_verify_holds_the_log_to_it(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    server.kill()
    witness = tmp_path / "witness"
    witness.mkdir()
    live = Server(server.folder, env, ("--witness", str(witness)))
    live.start()
    try:
        office = tmp_path / "office"
        enroll(live, env, office, "w-mette", "adult-social", "coordinator")
        open_cases(office, 2, 3)
        assert client(office, env, "sync")["pushed"] == 10
        assert client(office, env, "sync")["pulled"] == 0
    finally:
        live.kill()

    heads = [json.loads(line) for line in (witness / "tree-heads.jsonl").read_text().splitlines()]
    sizes = [h["size"] for h in heads]
    assert sizes and sizes == sorted(set(sizes)), sizes  # each head once, growing
    assert client(office, env, "status")["tree_head"] in named(witness)
    file = str(witness / "tree-heads.jsonl")
    assert audit_verify(server.folder, env, "--heads", file)[0] == 0

    with tables_of(server.folder) as db:
        position = cut_last_event(db)
    status, report = audit_verify(server.folder, env, "--heads", file)
    assert (status, report["position"]) == (1, position), report
    assert f"the event at position {position}" in str(report["problems"])


def test_a_witness_folder_inside_the_data_folder_is_refused(server: Server, env: dict[str, str]) -> None:
    server.kill()
    inside = server.folder / "witness"
    inside.mkdir()
    argv = ("server", "run", str(server.folder), "--port", str(free_port()), "--witness", str(inside))
    done = tovholder(*argv, env=env, check=False)
    assert done.returncode != 0 and "inside the data folder" in done.stderr, done.stderr
    assert not (inside / "tree-heads.jsonl").exists()


def test_several_server_processes_each_append_the_heads_they_sign(
    workers: Server, env: dict[str, str], tmp_path: Path
) -> None:
    stop(workers)
    witness = tmp_path / "witness"
    witness.mkdir()
    both = Server(workers.folder, env, ("--workers", "2", "--witness", str(witness)))
    both.start()
    try:
        office = tmp_path / "office"
        enroll(both, env, office, "w-mette", "adult-social", "coordinator")
        open_cases(office, 2, 3)
        for _ in range(3):
            client(office, env, "sync")
    finally:
        stop(both)
    lines = (witness / "tree-heads.jsonl").read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines)  # whole lines, however interleaved
    assert client(office, env, "status")["tree_head"] in named(witness)
    assert audit_verify(workers.folder, env, "--heads", str(witness / "tree-heads.jsonl"))[0] == 0
