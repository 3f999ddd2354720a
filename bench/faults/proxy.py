"""A seeded HTTP/1.1 proxy on loopback that mistreats the traffic between laptops and servers.

Laptops are enrolled with the proxy's URL as their server, so every push, pull and
enrollment crosses it. For each request and each response the proxy draws, from a
`random.Random` seeded by the run, whether to pass it or to do one thing to it:

- drop: a request never reaches a server, or a response never reaches the laptop (the
  server did the work; the laptop sees a closed connection and retries);
- delay: hold the message for up to `Faults.max_delay` seconds;
- duplicate: send a request to a server twice and answer the laptop with one of the two
  answers (as a middlebox that retried, or a network that delivered twice);
- truncate: forward only part of a request (the server sees a body cut short) or of a
  response (the laptop sees an answer cut short);
- reorder: hold a request or a response until another one has overtaken it.

Behind it stand one or more servers, chosen round-robin for every new upstream
connection; a server that refuses the connection (killed, restarting) is skipped to the
next. `Proxy.counts` says how many faults of each kind were injected, and
`Proxy.pushing` is set whenever a push request has reached a server, so a crash loop can
aim its SIGKILL at the middle of a push. The seed makes the choices repeatable; the
interleaving of concurrent laptops is the operating system's.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass

KINDS = ("drop", "delay", "duplicate", "truncate", "reorder")
Message = tuple[bytes, bytes]  # the head (start line and headers, with the blank line) and the body


@dataclass(frozen=True)
class Faults:
    """How often each fault strikes a message, as a probability per message."""

    drop: float = 0.03
    delay: float = 0.05
    duplicate: float = 0.03
    truncate: float = 0.02
    reorder: float = 0.03
    max_delay: float = 0.3

    @classmethod
    def none(cls) -> Faults:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0)


class Closed(Exception):
    """The peer closed the connection before a whole message arrived."""


async def read_message(reader: asyncio.StreamReader) -> Message:
    """One HTTP/1.1 message: its head and its body (Content-Length or chunked)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
        raise Closed from exc
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)
    }
    try:
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            return head, await _chunked(reader)
        return head, await reader.readexactly(int(headers.get(b"content-length", b"0")))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError) as exc:
        raise Closed from exc


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        body += size_line + chunk
        if size == 0:
            return body


def status_of(message: Message) -> int:
    """The status code of a response message."""
    return int(message[0].split(b" ", 2)[1])


class Proxy:
    """The loopback proxy: `await start()`, then laptops talk to `url`; `close()` ends it."""

    def __init__(self, upstreams: list[int], seed: int, faults: Faults = Faults()) -> None:
        self.upstreams = list(upstreams)
        self.random = random.Random(seed)
        self.faults = faults
        self.counts: Counter[str] = Counter()
        self.pushing = asyncio.Event()
        self.port = 0
        self._next = 0
        self._passed = 0
        self._overtaken = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()

    # -- one laptop connection ------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request = await read_message(reader)
                upstream, answer = await self._forward(request, upstream)
                if answer is None or not await self._answer(answer, writer):
                    break
        except (Closed, ConnectionError, OSError, asyncio.CancelledError):
            pass  # the laptop sees its connection closed; cancelled: the proxy is closing
        finally:
            for w in (writer, upstream[1] if upstream else None):
                if w is not None:
                    w.close()
            if task is not None:
                self._tasks.discard(task)

    async def _forward(
        self, request: Message, upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None
    ) -> tuple[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None, Message | None]:
        """Send the request on (or not); the upstream connection to keep and the answer."""
        fault = self._draw()
        if fault == "drop":
            return upstream, None
        await self._hold(fault)
        if upstream is None or upstream[0].at_eof():
            upstream = await self._connect()  # the server closed an idle connection, or none yet
        if fault == "truncate":
            upstream[1].write(request[0] + request[1][: len(request[1]) // 2])
            await upstream[1].drain()
            upstream[1].close()
            return None, None
        answer = await self._exchange(upstream, request)
        if fault == "duplicate":
            copy = await self._exchange(await self._connect(), request, close=True)
            answer = copy if self.random.random() < 0.5 else answer
        return upstream, answer

    async def _answer(self, answer: Message, writer: asyncio.StreamWriter) -> bool:
        """Send the answer back (or not); whether the laptop's connection stays usable."""
        fault = self._draw()
        if fault in ("drop", "duplicate"):
            # A response is not duplicated on one connection (the next request would read
            # the copy as its own answer): a duplicate response is one that never arrives.
            return False
        await self._hold(fault)
        if fault == "truncate":
            writer.write(answer[0] + answer[1][: len(answer[1]) // 2])
            await writer.drain()
            return False
        writer.write(answer[0] + answer[1])
        await writer.drain()
        await self._overtake()
        return b"connection: close" not in answer[0].lower()

    async def _exchange(
        self, upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: Message, close: bool = False
    ) -> Message:
        reader, writer = upstream
        writer.write(request[0] + request[1])
        await writer.drain()
        if request[0].startswith(b"POST /v1/sync/push "):
            self.pushing.set()
        await self._overtake()
        try:
            return await read_message(reader)
        finally:
            if close:
                writer.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the next server that accepts one; Closed when none does."""
        for _ in range(len(self.upstreams)):
            port = self.upstreams[self._next % len(self.upstreams)]
            self._next += 1
            with contextlib.suppress(OSError):
                return await asyncio.open_connection("127.0.0.1", port)
        raise Closed("no server accepts a connection")

    # -- the seeded choices -----------------------------------------------------------------
    def _draw(self) -> str | None:
        roll = self.random.random()
        for kind in KINDS:
            chance: float = getattr(self.faults, kind)
            if roll < chance:
                self.counts[kind] += 1
                return kind
            roll -= chance
        return None

    async def _hold(self, fault: str | None) -> None:
        if fault == "delay":
            await asyncio.sleep(self.random.uniform(0, self.faults.max_delay))
        elif fault == "reorder":
            seen = self._passed
            async with self._overtaken:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._overtaken.wait_for(lambda: self._passed > seen), 1.0)

    async def _overtake(self) -> None:
        async with self._overtaken:
            self._passed += 1
            self._overtaken.notify_all()
