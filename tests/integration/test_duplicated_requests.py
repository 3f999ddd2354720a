"""A network that delivers every request twice never stops a laptop's sync.

A small loopback proxy between a laptop and a real server sends each request on to the
server twice, one copy after the other, and gives the laptop the answer to the copy,
as a network that duplicated the request and lost the first answer would. The laptop
must finish every sync, end with the server's copy of the case, and nothing may be
stored twice.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path
from types import TracebackType

import httpx
import pytest

from core import events as ev

from .conftest import Server, add_worker, admin, free_port, in_process, laptop_copy, laptop_of, server_copy, sync

pytestmark = pytest.mark.slow
DROPPED = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "content-encoding"}


class DoublingProxy:
    """Forwards each HTTP/1.1 request to `upstream` twice and answers with the copy's answer."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.url = f"http://127.0.0.1:{free_port()}"
        self.delivered: Counter[str] = Counter()  # path -> requests the server received
        self.copies: Counter[int] = Counter()  # status -> copies answered so
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> DoublingProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _start(self) -> None:
        self._client = httpx.AsyncClient(base_url=self.upstream, timeout=60)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", int(self.url.rsplit(":", 1)[1]))

    async def _stop(self) -> None:
        self._server.close()
        await self._client.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, path, _ = head[0].split(" ", 2)
                headers = dict(line.split(": ", 1) for line in head[1:] if line)
                length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
                body = await reader.readexactly(length)
                sent = {k: v for k, v in headers.items() if k.lower() not in DROPPED}
                for _ in range(2):
                    answer = await self._client.request(method, path, content=body, headers=sent)
                    self.delivered[path] += 1
                self.copies[answer.status_code] += 1
                kept = [(k, v) for k, v in answer.headers.items() if k.lower() not in DROPPED]
                lines = [f"HTTP/1.1 {answer.status_code} {answer.reason_phrase}"]
                lines += [f"{k}: {v}" for k, v in kept] + [f"content-length: {len(answer.content)}", "", ""]
                writer.write("\r\n".join(lines).encode("latin-1") + answer.content)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def test_a_laptop_whose_every_request_arrives_twice_finishes_its_syncs(live: Server, tmp_path: Path) -> None:
    for worker in ("w-anna", "w-bo"):
        add_worker(live, worker, "jobcenter")
    with (
        laptop_of(live, tmp_path / "anna", "w-anna") as anna,
        laptop_of(live, tmp_path / "bo", "w-bo") as bo,
        DoublingProxy(live.url) as proxy,
    ):
        anna.store.set_meta(server_url=proxy.url)
        case_id = anna.open_case("citizen", "jobcenter").case_id
        for i in range(3):
            anna.record(case_id, ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", note=f"call {i}")
        sync(anna)
        admin(live, "case", "assign", case_id, "--worker", "w-bo")
        sync(bo, "pull")  # straight to the server
        bo.record(case_id, ev.ContactRecorded, contact_id=ev.new_id(), kind="home-visit", note="home visit")
        sync(bo)
        anna.record(case_id, ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", note="call back")
        sync(anna)

        assert proxy.delivered["/v1/sync/push"] >= 4 and proxy.delivered["/v1/sync/pull"] >= 4
        assert set(proxy.copies) == {200}, f"copies were answered {dict(proxy.copies)}"
        assert not anna.view(case_id).pending
    expected = server_copy(live, case_id)
    assert [seq for seq, _, _ in expected] == [1, 2, 3, 4, 5, 6], "every event stored once"
    assert laptop_copy(tmp_path / "anna", case_id) == expected
    assert in_process("audit", "verify", "--dir", str(live.folder), "--json")["ok"] is True
