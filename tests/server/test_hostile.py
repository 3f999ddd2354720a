"""Hostile input costs the sender, not the server: a real server on loopback, strangers
that trickle bodies, a device that sends millions of empty maps, and refusals that come
before the body is read."""

from __future__ import annotations

import base64
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.hostile import push_head, trickle
from core.keys import DeviceKeys
from server.context import ServerContext, init_data_dir
from sync.signature import signed_message
from tests.server.test_live import _start

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
BODY = 16 * MIB  # the server's default `max_body_bytes`


@dataclass
class Live:
    url: str
    pid: int
    device: str
    keys: DeviceKeys
    revoked: str

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").split(":")
        return host, int(port)

    def rss(self) -> int:
        """The server process's resident memory, in bytes (VmRSS of /proc/PID/status)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def signed(self, path: str, body: bytes, device: str = "") -> dict[str, str]:
        stamp, nonce = str(int(time.time())), uuid.uuid4().hex
        signature = self.keys.signing.sign(signed_message("POST", path, stamp, nonce, body))
        return {
            "X-Tovholder-Device": device or self.device,
            "X-Tovholder-Time": stamp,
            "X-Tovholder-Nonce": nonce,
            "X-Tovholder-Signature": base64.b64encode(signature).decode(),
            "Content-Type": "application/msgpack",
        }


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder, _ = init_data_dir(tmp_path_factory.mktemp("hostile") / "srv")
    keys, other = DeviceKeys.generate(), DeviceKeys.generate()
    ctx = ServerContext.open(folder, {})
    try:
        ctx.store.add_worker("anna", "jobcenter", "caseworker")
        ctx.log.register_device("dev-anna", "anna", keys.signing_public, keys.agreement_public)
        ctx.log.register_device("dev-gone", "anna", other.signing_public, other.agreement_public)
        ctx.log.revoke_device("dev-gone")
    finally:
        ctx.close()
    proc, url = _start(folder)
    try:
        yield Live(url, proc.pid, "dev-anna", keys, "dev-gone")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _healthz_seconds(url: str) -> float:
    """How long /healthz took to answer 200."""
    started = time.monotonic()
    r = httpx.get(f"{url}/healthz", timeout=5)
    assert r.status_code == 200
    return time.monotonic() - started


def test_strangers_trickling_bodies_hold_no_memory_and_healthz_answers(live: Live) -> None:
    before = live.rss()
    # Each of 50 strangers sends up to 2 MiB of its 16 MiB body, then idles. A server
    # that reads before it authenticates keeps all of it (100 MiB).
    sockets = trickle(live.address)
    try:
        # Bound: 1 s for /healthz, generous on a loaded two-core machine; it is
        # milliseconds when nothing blocks the event loop.
        assert _healthz_seconds(live.url) < 1.0
        grown = live.rss() - before
        # Bound: 24 MiB for 50 strangers; reading their bodies would cost 100 MiB.
        assert grown < 24 * MIB, f"the server grew by {grown / MIB:.0f} MiB"
    finally:
        for s in sockets:
            s.close()


def test_a_device_sending_empty_maps_is_refused_without_building_them(live: Live) -> None:
    before = live.rss()
    # One array of 16 MiB of empty maps: a decoder without bounds builds 16 million dicts.
    body = b"\xdd" + (BODY - 5).to_bytes(4, "big") + b"\x80" * (BODY - 5)
    answer: list[httpx.Response] = []

    def push() -> None:
        headers = live.signed("/v1/sync/push", body)
        answer.append(httpx.post(f"{live.url}/v1/sync/push", content=body, headers=headers, timeout=5))

    sender = threading.Thread(target=push)
    sender.start()
    slowest = 0.0
    while sender.is_alive():
        slowest = max(slowest, _healthz_seconds(live.url))
        time.sleep(0.05)
    sender.join()
    assert answer and answer[0].status_code == 413, answer[0].text if answer else "no answer"
    # Bound: 1 s, as above; a decoder on the event loop kept /healthz waiting for seconds.
    assert slowest < 1.0
    grown = live.rss() - before
    # Bound: 64 MiB: the body itself (read once, joined once); its maps would be over 1 GiB.
    assert grown < 64 * MIB, f"the server grew by {grown / MIB:.0f} MiB"


@pytest.mark.parametrize("device", ["dev-nobody", "dev-gone"])
def test_an_unknown_or_revoked_device_is_refused_before_its_body_is_sent(live: Live, device: str) -> None:
    with socket.create_connection(live.address, timeout=3) as s:
        s.sendall(push_head(BODY, live.signed("/v1/sync/push", b"", device)))
        s.sendall(b"\0" * 1024)  # a first taste of the 16 MiB body; the rest never comes
        answer = s.recv(4096)
        while answer.count(b"}") < 2:  # the JSON error body may come in a second segment
            more = s.recv(4096)
            if not more:
                break
            answer += more
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 401"), answer
    assert b"not enrolled" in rest or b"revoked" in rest


def test_a_body_that_trickles_in_past_the_time_bound_is_refused() -> None:
    """`read_body` over a Starlette request whose body arrives one byte at a time."""
    import asyncio

    from starlette.requests import Request

    from server.auth import read_body
    from server.errors import RequestTimeout

    async def trickle() -> dict[str, object]:
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b"x", "more_body": True}

    scope = {"type": "http", "method": "POST", "path": "/v1/sync/push", "headers": []}
    with pytest.raises(RequestTimeout, match=r"did not arrive within 0\.3 seconds"):
        asyncio.run(read_body(Request(scope, trickle), 1024, timeout=0.3))
