"""The proxy itself, in front of a real `tovholder server run`: it passes what it should,
and each fault does to the laptop what a bad network would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from bench.faults.proxy import Faults, Proxy
from bench.faults.servers import ServerProcess
from server.context import init_data_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder, _ = init_data_dir(tmp_path_factory.mktemp("proxied") / "server")
    s = ServerProcess(folder)
    s.start()
    yield s
    s.kill()


def through(server: ServerProcess, faults: Faults, times: int = 3) -> tuple[list[int | str], Proxy]:
    """Ask /healthz `times` times through a proxy with `faults`; each status or error name."""

    async def go() -> tuple[list[int | str], Proxy]:
        proxy = Proxy([server.port], seed=1, faults=faults)
        await proxy.start()
        answers: list[int | str] = []
        try:
            async with httpx.AsyncClient(base_url=proxy.url, timeout=5) as http:
                for _ in range(times):
                    try:
                        answers.append((await http.get("/healthz")).status_code)
                    except httpx.TransportError as exc:
                        answers.append(type(exc).__name__)
        finally:
            await proxy.close()
        return answers, proxy

    return asyncio.run(go())


def test_a_proxy_without_faults_passes_every_request_on_one_connection(server: ServerProcess) -> None:
    answers, proxy = through(server, Faults.none())
    assert answers == [200, 200, 200] and not proxy.counts


def test_a_dropped_or_truncated_message_reaches_the_client_as_a_broken_connection(server: ServerProcess) -> None:
    for faults in (Faults(1.0, 0, 0, 0, 0), Faults(0, 0, 0, 1.0, 0)):
        answers, proxy = through(server, faults, times=2)
        assert all(isinstance(a, str) for a in answers), answers
        assert sum(proxy.counts.values()) >= 2


def test_delayed_and_reordered_requests_still_get_their_answer(server: ServerProcess) -> None:
    answers, proxy = through(server, Faults(0, 0.5, 0, 0, 0.5, max_delay=0.05))
    assert answers == [200, 200, 200] and sum(proxy.counts.values()) > 0


def test_a_duplicated_response_never_arrives(server: ServerProcess) -> None:
    """Every request goes to the server twice, and every answer is "duplicated", which on
    one connection can only mean lost (a copy would answer the next request)."""
    answers, proxy = through(server, Faults(0, 0, 1.0, 0, 0), times=2)
    assert proxy.counts["duplicate"] == 4
    assert all(isinstance(a, str) for a in answers), answers
