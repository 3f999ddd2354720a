"""Laptops for unit tests: real stores in a temporary folder, enrolled by hand (no server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from client.laptop import Laptop
from client.store import LaptopStore
from core.keys import DeviceKeys

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
