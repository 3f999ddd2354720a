"""A real server over a socket: `tovholder server run` on loopback, enrolled and synced."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.keys import DeviceKeys
from core.recording import Author
from server.context import init_data_dir
from sync.protocol import (
    PullRequest,
    decode_pull_response,
    decode_push_response,
    encode_pull,
    encode_push,
)
from sync.signature import signed_message
from tests.sync.conftest import Laptop

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as a municipality's own CA would issue."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tovholder.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as private:
        private.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


def _start(
    folder: Path, *extra: str, scheme: str = "http", verify: ssl.SSLContext | bool = True
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tovholder",
            "server",
            "run",
            str(folder),
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1, verify=verify).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the server did not start: {proc.stderr.read() if proc.stderr else ''!r}")
        time.sleep(0.1)


@dataclass(frozen=True)
class Live:
    """A running server: its address, its data folder and the admin token."""

    url: str
    folder: Path
    token: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for the module's tests over plain HTTP; each test adds its own workers,
    departments and cases, under names no other test uses."""
    folder, token = init_data_dir(tmp_path_factory.mktemp("live") / "srv")
    proc, url = _start(folder)
    try:
        yield Live(url, folder, token)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_https_with_a_certificate_and_its_ca_handed_out_at_enrollment(tmp_path: Path) -> None:
    folder, _ = init_data_dir(tmp_path / "srv")
    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    proc, url = _start(folder, "--cert", str(cert), "--key", str(key), scheme="https", verify=trust)
    try:
        from server.context import ServerContext

        ctx = ServerContext.open(folder, {})
        try:
            ctx.store.add_worker("anna", "jobcenter", "caseworker")
            code, _ = ctx.store.enrollment_code("anna", 600)
        finally:
            ctx.close()
        keys = DeviceKeys.generate()
        b64 = base64.b64encode
        r = httpx.post(
            f"{url}/v1/enroll",
            json={
                "code": code,
                "signing_key": b64(keys.signing_public).decode(),
                "agreement_key": b64(keys.agreement_public).decode(),
            },
            verify=trust,
        )
        assert r.status_code == 201, r.text
        assert r.json()["ca_cert"] == cert.read_text().strip()
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/healthz")  # not trusted without the municipality's CA
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_enroll_push_and_pull_over_a_socket(live: Live) -> None:
    url, folder = live.url, live.folder
    from server.context import ServerContext

    ctx = ServerContext.open(folder, {})
    try:
        ctx.store.add_worker("anna", "jobcenter", "caseworker")
        code, _ = ctx.store.enrollment_code("anna", 600)
    finally:
        ctx.close()
    keys = DeviceKeys.generate()

    async def scenario() -> tuple[list[str], int]:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            b64 = base64.b64encode
            r = await client.post(
                "/v1/enroll",
                json={
                    "code": code,
                    "signing_key": b64(keys.signing_public).decode(),
                    "agreement_key": b64(keys.agreement_public).decode(),
                },
            )
            assert r.status_code == 201, r.text
            answer = r.json()
            device = answer["device"]
            laptop = Laptop(
                device,
                keys,
                Author("anna", "caseworker", "jobcenter", device),
                base64.b64decode(answer["server_agreement_key"]),
            )
            case_id, opened = laptop.open_case()
            body = encode_push(laptop.batch([opened], (laptop.grant(case_id),)))

            async def post(path: str, payload: bytes) -> httpx.Response:
                stamp, nonce = (
                    str(int(time.time())),
                    base64.b64encode(b"%d" % time.time_ns()).decode(),
                )
                sig = keys.signing.sign(signed_message("POST", path, stamp, nonce, payload))
                headers = {
                    "X-Tovholder-Device": device,
                    "X-Tovholder-Time": stamp,
                    "X-Tovholder-Nonce": nonce,
                    "X-Tovholder-Signature": b64(sig).decode(),
                    "Content-Type": "application/msgpack",
                }
                return await client.post(path, content=payload, headers=headers)

            pushed = decode_push_response((await post("/v1/sync/push", body)).content)
            pulled = decode_pull_response((await post("/v1/sync/pull", encode_pull(PullRequest(after=0)))).content)
            return [r.status for r in pushed.results], len(pulled.events)

    statuses, pulled = asyncio.run(scenario())
    assert statuses == ["accepted"] and pulled == 1
    metrics = httpx.get(f"{url}/metrics").text
    assert 'route="/v1/sync/pull"' in metrics


def test_plain_http_beyond_loopback_is_refused(tmp_path: Path) -> None:
    folder, _ = init_data_dir(tmp_path / "srv")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "tovholder",
            "server",
            "run",
            str(folder),
            "--host",
            "0.0.0.0",
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "loopback" in r.stderr and "Traceback" not in r.stderr


def test_admin_and_audit_commands_over_http(live: Live) -> None:
    env = {**os.environ, "TOVHOLDER_SERVER": live.url, "TOVHOLDER_TOKEN": live.token}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tovholder", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    added = run(
        "admin",
        "department",
        "add",
        "night-shelter",
        "--name",
        "Natvarmestue",
        "--non-authority",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["authority"] is False
    worker = run(
        "admin",
        "worker",
        "add",
        "cai",
        "--department",
        "night-shelter",
        "--role",
        "outreach",
        "--json",
    )
    assert json.loads(worker.stdout)["token"]
    code = run("admin", "device", "enroll", "--worker", "cai", "--json")
    assert json.loads(code.stdout)["code"]
    missing = run("admin", "device", "revoke", "dev-none")
    assert missing.returncode == 1 and "not enrolled" in missing.stderr
    verified = run("audit", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True
    env["TOVHOLDER_TOKEN"] = json.loads(worker.stdout)["token"]
    refused = run("audit", "verify")
    assert refused.returncode == 1 and "403" in refused.stderr


def test_a_department_added_on_the_data_folder_is_known_to_the_running_server(live: Live) -> None:
    url, folder = live.url, live.folder
    env = {**os.environ, "TOVHOLDER_TOKEN": live.token}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tovholder", *args], capture_output=True, text=True, timeout=60, env=env
        )

    first = run("admin", "worker", "add", "bea", "--department", "jobcenter", "--role", "caseworker", "--server", url)
    assert first.returncode == 0, first.stderr  # the server has the departments in memory now
    added = run("admin", "department", "add", "museum", "--name", "Museum", "--dir", str(folder))
    assert added.returncode == 0, added.stderr
    worker = run(
        "admin", "worker", "add", "mus", "--department", "museum", "--role", "caseworker", "--server", url, "--json"
    )
    assert worker.returncode == 0, worker.stderr
    assert json.loads(worker.stdout)["token"]
