"""The laptop refuses what would leave it unprotected, through the real `tovholder` CLI in
a subprocess: a new store's passphrase shorter than 12 characters, and a plain http://
server URL to another machine (at `client init` and at `sync`); existing stores with a
shorter passphrase still unlock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from client.store import LaptopStore
from core.keys import DeviceKeys

from .conftest import FAST_SCRYPT, PASSPHRASE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def tovholder(*argv: str, passphrase: str = PASSPHRASE) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOVHOLDER_")}
    return subprocess.run(
        [sys.executable, "-m", "tovholder", *argv],
        cwd=ROOT,
        env={**env, "TOVHOLDER_PASSPHRASE": passphrase},
        capture_output=True,
        text=True,
        timeout=60,
    )


def sentence(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1 and done.stdout == "" and "Traceback" not in done.stderr, done.stderr
    return " ".join(done.stderr.split())


def store(folder: Path, passphrase: str, server_url: str) -> None:
    meta: dict[str, Any] = {
        "device_id": "dev-field",
        "worker": "w-anna",
        "department": "jobcenter",
        "role": "caseworker",
        "server_url": server_url,
        "ca_cert": None,
        "server_agreement_key": DeviceKeys.generate().agreement_public,
        "departments": [],
    }
    LaptopStore.create(folder, passphrase, DeviceKeys.generate(), meta, scrypt_n=FAST_SCRYPT).close()


def test_init_refuses_a_short_passphrase_and_plain_http_to_another_machine(tmp_path: Path) -> None:
    folder = str(tmp_path / "laptop")
    short = tovholder(
        "client", "init", folder, "--server", "https://127.0.0.1:9", "--code", "c", passphrase="elevenchars"
    )
    assert "a laptop store's passphrase must have at least 12 characters" in sentence(short)
    for url in ("http://tovholder.example:8000", "http://[2001:db8::1]:8000"):
        plain = tovholder("client", "init", folder, "--server", url, "--code", "c")
        assert f"the server URL {url} is plain HTTP to another machine; use https://" in sentence(plain)
    assert not Path(folder).exists()  # nothing was created


def test_sync_refuses_plain_http_to_another_machine_and_old_short_passphrases_unlock(tmp_path: Path) -> None:
    store(tmp_path / "remote", PASSPHRASE, "http://tovholder.example")
    plain = tovholder("client", "--data", str(tmp_path / "remote"), "sync", "--json")
    assert "the server URL http://tovholder.example is plain HTTP to another machine" in sentence(plain)

    # A store made before the rule, with a short passphrase, still opens; loopback over
    # plain HTTP is allowed (nothing listens on port 9, so the sync cannot reach it).
    store(tmp_path / "old", "short", "http://127.0.0.1:9")
    loopback = tovholder("client", "--data", str(tmp_path / "old"), "sync", "--attempts", "1", passphrase="short")
    assert "plain HTTP" not in loopback.stderr and "did not answer" in sentence(loopback)
