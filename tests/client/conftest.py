"""Laptops for unit tests: real stores in a temporary folder, enrolled by hand (no server)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from client.laptop import Laptop
from client.store import LaptopStore
from client.sync import enroll_laptop
from core.keys import DeviceKeys
from server.app import create_app
from server.context import ServerContext, init_data_dir

PASSPHRASE = "correct horse battery staple"
FAST_SCRYPT = 2**10  # the real cost (2**15) only slows the tests down


@pytest.fixture
def make_laptop(tmp_path: Path) -> Iterator[Callable[..., Laptop]]:
    """Create (or reopen) a laptop store for a worker; all are closed at the end."""
    opened: list[Laptop] = []
    server = DeviceKeys.generate()

    def factory(
        name: str = "laptop",
        *,
        worker: str = "w-anna",
        department: str = "jobcenter",
        role: str = "caseworker",
    ) -> Laptop:
        folder = tmp_path / name
        if (folder / "laptop.db").exists():
            store = LaptopStore.open(folder, PASSPHRASE)
        else:
            store = LaptopStore.create(
                folder,
                PASSPHRASE,
                DeviceKeys.generate(),
                {
                    "device_id": f"dev-{name}",
                    "worker": worker,
                    "department": department,
                    "role": role,
                    "server_url": "http://127.0.0.1:9",
                    "ca_cert": None,
                    "server_agreement_key": server.agreement_public,
                    "departments": [],
                },
                scrypt_n=FAST_SCRYPT,
            )
        laptop = Laptop(store)
        opened.append(laptop)
        return laptop

    yield factory
    for laptop in opened:
        laptop.close()


# --- the real server app, in-process over httpx.ASGITransport ----------------------------


class Flaky(httpx.AsyncBaseTransport):
    """Passes requests to the app, but drops the connection on chosen request numbers."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.fail_on: set[int] = set()
        self.count = 0
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        self.paths.append(request.url.path)
        if self.count in self.fail_on:
            raise httpx.ConnectError("the line dropped", request=request)
        return await self.inner.handle_async_request(request)


class Server:
    def __init__(self, folder: Path) -> None:
        path, _ = init_data_dir(folder)
        self.ctx = ServerContext.open(path)
        self.transport = Flaky(httpx.ASGITransport(app=create_app(self.ctx)))

    def worker(self, worker_id: str, department: str, role: str = "caseworker") -> str:
        self.ctx.store.add_worker(worker_id, department, role)
        code, _ = self.ctx.store.enrollment_code(worker_id, 3600)
        return code


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path / "server")
    yield s
    s.ctx.close()


@pytest.fixture
def enrolled(server: Server, tmp_path: Path) -> Iterator[Callable[..., Laptop]]:
    laptops: list[Laptop] = []

    def factory(name: str, department: str, role: str = "caseworker") -> Laptop:
        code = server.worker(f"w-{name}", department, role)
        asyncio.run(
            enroll_laptop(
                tmp_path / name,
                "https://tovholder.test",  # in-process: the transport carries no TLS
                code,
                PASSPHRASE,
                transport=server.transport,
                scrypt_n=FAST_SCRYPT,
            )
        )
        laptop = Laptop(LaptopStore.open(tmp_path / name, PASSPHRASE))
        laptops.append(laptop)
        return laptop

    yield factory
    for laptop in laptops:
        laptop.close()
