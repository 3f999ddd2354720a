"""The server's data folder keeps its secrets: made 0700 with every file 0600 (the
database's -wal and -shm too), refused on opening when the folder or a key file is open
to its group or others, and `server run` warns when the KEK sits beside the database and
refuses a TLS private key file that its group or others may read."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from server.context import ServerContext, init_data_dir
from tests.server.test_live import free_port, self_signed


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path, _ = init_data_dir(tmp_path / "srv")
    return path


def test_init_makes_the_folder_0700_and_every_file_0600(folder: Path) -> None:
    assert mode(folder) == 0o700
    names = {p.name for p in folder.iterdir()}
    assert {"tovholder.toml", "kek.key", "server.key", "log.db"} <= names
    ctx = ServerContext.open(folder, {})  # a running server: the WAL and its index exist
    try:
        ctx.log.recorder.run("SELECT 1")
        assert {"log.db-wal", "log.db-shm"} <= {p.name for p in folder.iterdir()}
        assert {p.name: mode(p) for p in folder.iterdir()} == {p.name: 0o600 for p in folder.iterdir()}
    finally:
        ctx.close()
    # A KEK from the environment needs no key file, so none is checked.
    kek = (folder / "kek.key").read_text().strip()
    (folder / "kek.key").unlink()
    ServerContext.open(folder, {"TOVHOLDER_KEK": kek}).close()


@pytest.mark.parametrize(
    ("name", "chmod", "what"),
    [
        (".", 0o755, "data folder"),
        ("kek.key", 0o644, "key-encryption key file"),
        ("server.key", 0o640, "server key file"),
    ],
)
def test_opening_refuses_a_folder_or_key_file_open_to_others(folder: Path, name: str, chmod: int, what: str) -> None:
    path = (folder / name).resolve()
    os.chmod(path, chmod)
    with pytest.raises(ConfigurationError) as info:
        ServerContext.open(folder, {})
    assert str(info.value) == (
        f"the {what} {path} is open to its group or others (mode {chmod:04o}); "
        f"make it private with `chmod {'700' if name == '.' else '600'} {path}`"
    )


@pytest.mark.slow
def test_server_run_warns_when_the_kek_sits_beside_the_database(folder: Path) -> None:
    # A non-loopback host without a certificate: `run` opens the folder, warns, then refuses
    # to serve plain HTTP, so nothing listens.
    argv = [sys.executable, "-m", "tovholder", "server", "run", str(folder), "--host", "192.0.2.1"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOVHOLDER_")}
    beside = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert beside.returncode == 1 and "plain HTTP" in beside.stderr
    warning = [line for line in beside.stderr.splitlines() if line.startswith("warning:")]
    assert warning == [
        f"warning: the key-encryption key {folder / 'kek.key'} sits beside the database it protects, so a copy "
        "of the folder opens every case; set TOVHOLDER_KEK or point kek_file at a file elsewhere"
    ]
    kek = (folder / "kek.key").read_text().strip()
    apart = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**env, "TOVHOLDER_KEK": kek})
    assert apart.returncode == 1 and "plain HTTP" in apart.stderr and "warning:" not in apart.stderr


@pytest.mark.slow
@pytest.mark.parametrize("chmod", [0o644, 0o640])
def test_server_run_refuses_a_tls_private_key_open_to_its_group_or_others(
    folder: Path, tmp_path: Path, chmod: int
) -> None:
    cert, key = self_signed(tmp_path)
    os.chmod(key, chmod)
    port = str(free_port())
    argv = [sys.executable, "-m", "tovholder", "server", "run", str(folder), "--port", port]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOVHOLDER_")}
    done = subprocess.run(
        [*argv, "--cert", str(cert), "--key", str(key)], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 1
    assert (
        f"the TLS private key file {key} is open to its group or others (mode {chmod:04o}); "
        f"make it private with `chmod 600 {key}`"
    ) in done.stderr
    assert "Traceback" not in done.stderr
    assert mode(key) == chmod, "the key file is left as it was"
    missing = subprocess.run(
        [*argv, "--cert", str(cert), "--key", str(tmp_path / "nowhere.pem")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert (
        missing.returncode == 1 and f"there is no TLS private key file at {tmp_path / 'nowhere.pem'}" in missing.stderr
    )
