"""A failing laptop disk, played for real: a store file overwritten or cut short, a disk
that fills up (a small tmpfs) and a process that may not grow a file (RLIMIT_FSIZE).

Each command runs as a person runs it, in a subprocess: what they see is one sentence on
stderr with its exit status, never a traceback; reading still works on a full disk, and
an event whose write failed is neither reported nor kept.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from client.laptop import Laptop
from core import events as ev
from tests.client.conftest import PASSPHRASE
from tests.conftest import SmallDisk

UNWRITABLE, DAMAGED = 3, 4


def run(folder: Path, *argv: str, limit_file_size: bool = False) -> subprocess.CompletedProcess[str]:
    """One `tovholder client` command on `folder`; with `limit_file_size` the process may
    not grow any file (RLIMIT_FSIZE 0, SIGXFSZ ignored so a write fails with EFBIG)."""

    def no_growth() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    env = {**os.environ, "TOVHOLDER_PASSPHRASE": PASSPHRASE}
    return subprocess.run(
        [sys.executable, "-m", "tovholder", "client", "--data", str(folder), *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=no_growth if limit_file_size else None,
    )


def one_sentence(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def a_laptop_with_a_case(make_laptop: Callable[..., Laptop], folder: Path) -> str:
    """A closed laptop store in `folder` holding one case with two pending events."""
    laptop = make_laptop("made")
    case_id = laptop.open_case("family", "jobcenter").case_id
    laptop.record(case_id, ev.payload(ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", note="first call"))
    laptop.close()
    shutil.copytree(laptop.store.database.path.parent, folder)
    return case_id


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_store_is_one_sentence_with_exit_status_4_for_every_command(
    make_laptop: Callable[..., Laptop], tmp_path: Path, damage: str
) -> None:
    folder = tmp_path / "laptop"
    case_id = a_laptop_with_a_case(make_laptop, folder)
    db = folder / "laptop.db"
    if damage == "garbage":
        db.write_bytes(os.urandom(64 * 1024))
    else:
        with open(db, "r+b") as f:
            f.truncate(db.stat().st_size // 3)
    record = ("contact", "record", case_id, "--kind", "phone")
    commands = (("status",), ("case", "show", case_id), ("case", "list"), record)
    for argv in commands:
        done = run(folder, *argv)
        assert done.returncode == DAMAGED, argv
        assert "is damaged" in one_sentence(done)
        assert done.stdout == ""


def test_on_a_full_disk_reading_works_and_a_refused_event_is_neither_reported_nor_kept(
    make_laptop: Callable[..., Laptop], small_disk: SmallDisk
) -> None:
    folder = small_disk.root / "laptop"
    case_id = a_laptop_with_a_case(make_laptop, folder)
    small_disk.fill()

    assert run(folder, "status", "--json").returncode == 0
    assert '"pending": 2' in run(folder, "status", "--json").stdout
    shown = run(folder, "case", "show", case_id, "--json")
    assert shown.returncode == 0 and "first call" in shown.stdout
    assert run(folder, "case", "list", "--json").returncode == 0
    refused = run(folder, "contact", "record", case_id, "--kind", "phone", "--note", "second call")
    assert refused.returncode == UNWRITABLE
    assert "disk is full" in one_sentence(refused) and "nothing of this command was recorded" in refused.stderr
    assert refused.stdout == ""
    assert run(folder, "case", "open", "--kind", "family", "--lead", "jobcenter").returncode == UNWRITABLE

    small_disk.free()
    assert '"pending": 2' in run(folder, "status", "--json").stdout  # nothing half-kept
    assert run(folder, "contact", "record", case_id, "--kind", "phone", "--note", "second call").returncode == 0
    assert '"pending": 3' in run(folder, "status", "--json").stdout


def test_a_process_that_may_not_grow_a_file_reads_and_is_refused_a_write_in_one_sentence(
    make_laptop: Callable[..., Laptop], tmp_path: Path
) -> None:
    folder = tmp_path / "laptop"
    case_id = a_laptop_with_a_case(make_laptop, folder)
    status = run(folder, "status", "--json", limit_file_size=True)
    assert status.returncode == 0 and '"pending": 2' in status.stdout
    assert run(folder, "case", "show", case_id, limit_file_size=True).returncode == 0
    refused = run(folder, "contact", "record", case_id, "--kind", "phone", limit_file_size=True)
    assert refused.returncode == UNWRITABLE and "disk is full" in one_sentence(refused)
    assert '"pending": 2' in run(folder, "status", "--json").stdout
