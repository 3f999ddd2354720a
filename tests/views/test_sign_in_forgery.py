"""Signing in and out cannot be forged from another site (login CSRF), through the app.

The victim's browser is an httpx client with its cookie jar; the attacker's page is a
POST that carries the victim's cookies (as a browser ignoring SameSite would) but not a
form token of the victim's: without it, with a token of another pre-session, or from a
foreign Origin, the POST is refused with 403 and the victim's session stays as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.context import ServerContext, init_data_dir
from server.pages import COOKIE
from server.reading.service import Reading

SITE = "http://tovholder.test"
Scenario = Callable[[httpx.AsyncClient, httpx.AsyncClient], Awaitable[None]]


@dataclass
class Site:
    ctx: ServerContext
    victim: str  # a jobcenter caseworker's staff token
    attacker: str  # the attacker's own staff token, of another department

    def run(self, scenario: Scenario) -> None:
        """Run `scenario(victim's browser, attacker's client)` against one app."""
        app = create_app(self.ctx)

        async def go() -> None:
            transport = httpx.ASGITransport(app=app)
            async with (
                httpx.AsyncClient(transport=transport, base_url=SITE) as victim,
                httpx.AsyncClient(transport=transport, base_url=SITE) as attacker,
            ):
                await scenario(victim, attacker)

        asyncio.run(go())


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    path, _ = init_data_dir(tmp_path / "server")
    ctx = ServerContext.open(path, {})
    victim = ctx.store.add_worker("anna", "jobcenter", "caseworker")
    attacker = ctx.store.add_worker("mallory", "health", "caseworker")
    yield Site(ctx, victim, attacker)
    Reading.of(ctx).close()
    ctx.close()


def token_in(html: str) -> str:
    """The form token in a page ("" when it has none)."""
    _, marker, rest = html.partition('name="csrf" value="')
    return rest.split('"', 1)[0] if marker else ""


async def sign_in(browser: httpx.AsyncClient, staff_token: str) -> None:
    """Sign in as a person does: open the form, submit it."""
    form = await browser.get("/ui/sign-in")
    r = await browser.post("/ui/sign-in", data={"token": staff_token, "csrf": token_in(form.text)})
    assert r.status_code == 303


async def forge(
    attacker: httpx.AsyncClient,
    path: str,
    form: dict[str, str],
    victim: httpx.AsyncClient,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The attacker's page POSTing `form` from the victim's browser: the victim's cookies
    go along (an explicit Cookie header, so the attacker's own jar is left out)."""
    cookie = "; ".join(f"{name}={value}" for name, value in victim.cookies.items())
    return await attacker.post(path, data=form, headers={**(headers or {}), "Cookie": cookie})


async def whose_caseload(browser: httpx.AsyncClient) -> str:
    r = await browser.get("/ui/cases")
    assert r.status_code == 200, r.status_code
    return "jobcenter" if "Sager i Jobcenter" in r.text else "health" if "Sager i Sundhed" in r.text else "?"


def test_a_forged_sign_in_cannot_replace_the_victims_session(site: Site) -> None:
    async def scenario(victim: httpx.AsyncClient, attacker: httpx.AsyncClient) -> None:
        await sign_in(victim, site.victim)
        session = victim.cookies.get(COOKIE)
        # The attacker's own pre-session: a token that is valid, but bound to its cookie.
        own_token = token_in((await attacker.get("/ui/sign-in")).text)
        forged = [
            {"token": site.attacker},
            {"token": site.attacker, "csrf": "0" * 64},
            {"token": site.attacker, "csrf": own_token},
        ]
        for form in forged:
            r = await forge(attacker, "/ui/sign-in", form, victim)
            assert r.status_code == 403 and COOKIE not in r.headers.get("set-cookie", "")
        # The victim's own token, sent from another site's page.
        victim_token = token_in((await victim.get("/ui/sign-in")).text)
        for header in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            r = await victim.post("/ui/sign-in", data={"token": site.attacker, "csrf": victim_token}, headers=header)
            assert r.status_code == 403 and COOKIE not in r.headers.get("set-cookie", "")
        assert victim.cookies.get(COOKIE) == session
        assert await whose_caseload(victim) == "jobcenter"
        # The legitimate form still signs in (and then as another worker, too).
        await sign_in(victim, site.attacker)
        assert await whose_caseload(victim) == "health"

    site.run(scenario)


def test_a_forged_sign_out_cannot_end_the_victims_session(site: Site) -> None:
    async def scenario(victim: httpx.AsyncClient, attacker: httpx.AsyncClient) -> None:
        await sign_in(victim, site.victim)
        page = await victim.get("/ui/cases")
        sign_out_token = token_in(page.text.split('action="/ui/sign-out"', 1)[1])
        await sign_in(attacker, site.attacker)
        attackers_token = token_in((await attacker.get("/ui/cases")).text.split('action="/ui/sign-out"', 1)[1])
        for form, headers in (
            ({}, {}),
            ({"csrf": attackers_token}, {}),
            ({"csrf": sign_out_token}, {"Origin": "https://evil.example"}),
        ):
            r = await forge(attacker, "/ui/sign-out", form, victim, headers)
            assert r.status_code == 403
            assert await whose_caseload(victim) == "jobcenter"
        r = await victim.post("/ui/sign-out", data={"csrf": sign_out_token}, headers={"Origin": SITE})
        assert r.status_code == 303 and r.headers["location"] == "/ui/sign-in"
        assert (await victim.get("/ui/cases")).status_code == 303  # signed out

    site.run(scenario)
