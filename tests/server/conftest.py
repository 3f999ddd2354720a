"""A server data folder on each backend, its app in-process, and enrolled laptops that sign."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.keys import DeviceKeys
from core.recording import Author
from server.app import create_app
from server.context import ServerContext, init_data_dir
from sync.signature import signed_message
from tests.sync.conftest import Laptop


@dataclass
class Api:
    """The app in-process, with the admin token of its data folder."""

    ctx: ServerContext
    admin_token: str

    def __post_init__(self) -> None:
        self.app = create_app(self.ctx)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tovholder.test") as client:
                return await client.request(method, path, **kw)

        return asyncio.run(go())

    def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.request(method, path, headers={"Authorization": f"Bearer {self.admin_token}"}, **kw)

    def enroll(self, worker: str, department: str = "jobcenter", role: str = "caseworker") -> SignedLaptop:
        token = self.ctx.store.add_worker(worker, department, role)
        code, _ = self.ctx.store.enrollment_code(worker, 600)
        keys = DeviceKeys.generate()
        b64 = base64.b64encode
        r = self.request(
            "POST",
            "/v1/enroll",
            json={
                "code": code,
                "signing_key": b64(keys.signing_public).decode(),
                "agreement_key": b64(keys.agreement_public).decode(),
            },
        )
        assert r.status_code == 201, r.text
        answer = r.json()
        server_public = base64.b64decode(answer["server_agreement_key"])
        laptop = Laptop(
            answer["device"],
            keys,
            Author(worker, role, department, answer["device"]),
            server_public,
        )
        return SignedLaptop(self, laptop, token)


@dataclass
class SignedLaptop:
    api: Api
    laptop: Laptop
    staff_token: str

    def headers(
        self, method: str, path: str, body: bytes, *, now: float | None = None, nonce: str = ""
    ) -> dict[str, str]:
        import time

        stamp = str(int(time.time() if now is None else now))
        nonce = nonce or uuid.uuid4().hex
        signature = self.laptop.keys.signing.sign(signed_message(method, path, stamp, nonce, body))
        return {
            "X-Tovholder-Device": self.laptop.device_id,
            "X-Tovholder-Time": stamp,
            "X-Tovholder-Nonce": nonce,
            "X-Tovholder-Signature": base64.b64encode(signature).decode(),
            "Content-Type": "application/msgpack",
        }

    def post(self, path: str, body: bytes, **kw: Any) -> httpx.Response:
        return self.api.request("POST", path, content=body, headers=self.headers("POST", path, body, **kw))


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    url = None if database_url.startswith("sqlite") else database_url
    path, token = init_data_dir(tmp_path / "server", url)
    ctx = ServerContext.open(path, {})
    yield Api(ctx, token)
    ctx.close()
