"""The field app's desk, guards and search, without a browser (the browser tests are in
tests/browser/test_field_app.py)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from client.commands.cases import person_added
from client.commands.plan import goal_added
from client.laptop import Laptop
from client.ui.caseload import caseload_row, matches
from client.ui.desk import Desk
from client.ui.fields import FieldError, a_moment
from client.ui.guards import FormTokens, refusal
from core.errors import WrongPassphrase

from .conftest import PASSPHRASE


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_wrong_passphrase_unlocks_nothing_and_locking_drops_the_laptop(
    make_laptop: Callable[..., Laptop], tmp_path: Path
) -> None:
    make_laptop("a").close()
    clock = Clock()
    desk = Desk(tmp_path / "a", lock_after=60, clock=clock)
    with pytest.raises(WrongPassphrase):
        desk.unlock("not the passphrase")
    assert not desk.unlocked and desk.laptop_for("") is None

    session = desk.unlock(PASSPHRASE)
    laptop = desk.laptop_for(session)
    assert laptop is not None and desk.laptop_for("another browser's cookie") is None
    case = laptop.open_case("citizen", "jobcenter").case_id
    assert desk.view(laptop, case).state.kind == "citizen"

    kept = weakref.ref(laptop), weakref.ref(laptop.store), weakref.ref(desk.view(laptop, case))
    clock.now += 59
    assert desk.laptop_for(session) is laptop  # activity: the clock starts again
    clock.now += 61
    assert desk.laptop_for(session) is None  # idle too long: locked
    assert desk.held() is None and not desk._views
    with pytest.raises(Exception, match="closed"):
        laptop.store.held_cases()  # the store it held is closed
    del laptop
    assert [ref() for ref in kept] == [None, None, None]  # laptop, store with its key, views: gone
    assert desk.laptop_for(desk.unlock(PASSPHRASE)) is not None
    assert desk.laptop_for(session) is None  # a new unlock is a new session


@pytest.mark.parametrize("typed", ["", " "])
def test_an_empty_passphrase_never_falls_back_on_the_environment(
    make_laptop: Callable[..., Laptop], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    make_laptop("a").close()
    monkeypatch.setenv("TOVHOLDER_PASSPHRASE", PASSPHRASE)  # as the terminal that started the app may have it
    desk = Desk(tmp_path / "a", lock_after=60)
    with pytest.raises(WrongPassphrase):
        desk.unlock(typed)
    assert not desk.unlocked


def test_an_idle_desk_waits_for_a_sync_under_way_before_it_locks(
    make_laptop: Callable[..., Laptop], tmp_path: Path
) -> None:
    make_laptop("a").close()
    clock = Clock()
    desk = Desk(tmp_path / "a", lock_after=1, clock=clock)
    desk.unlock(PASSPHRASE)

    async def idle_during_sync() -> bool:
        async with desk.busy:
            clock.now += 5
            desk.lock_if_idle()
            return desk.unlocked

    assert asyncio.run(idle_during_sync())
    desk.lock_if_idle()
    assert not desk.unlocked


def test_a_search_finds_a_person_by_name_cpr_or_date_of_birth(make_laptop: Callable[..., Laptop]) -> None:
    laptop = make_laptop("a")
    case = laptop.open_case("citizen", "jobcenter").case_id
    laptop.record(case, person_added("citizen", "Mette Hansen", "010188-1234"))
    view = laptop.view(case)
    for query in ("mette", "HANSEN", "0101881234", "010188-1234", "01-01-1988", "1.1.1988", "1988-01-01", ""):
        assert matches(view, query), query
    for query in ("Emil", "0101881235", "02-01-1988"):
        assert not matches(view, query), query


def test_a_caseload_row_names_the_next_statutory_meeting_before_a_later_due_date(
    make_laptop: Callable[..., Laptop],
) -> None:
    laptop = make_laptop("a", department="children-family")
    case = laptop.open_case("family", "children-family").case_id
    today = laptop.clock().date()
    soon = today + timedelta(days=30)
    sixteen = soon.replace(day=min(soon.day, 28))  # a birthday every year has
    added = person_added("child", "Emil Hansen", birth_date=sixteen.replace(year=sixteen.year - 16))
    laptop.record(case, added)
    later = sixteen + timedelta(days=60)
    laptop.record(case, goal_added(added.fields["person_id"], "School every day", "children-family", due=later))
    row = caseload_row(laptop.view(case), 0, today)
    assert row["names"] == ["Emil Hansen"] and row["pending"] == 3
    assert row["next_due"] == (sixteen, "møde ved 16 år")


def scope(host: str = "127.0.0.1:8000", client: str = "127.0.0.1", **headers: str) -> dict[str, object]:
    pairs = [(b"host", host.encode())] + [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "client": (client, 50000), "headers": pairs}


@pytest.mark.parametrize(
    ("request_scope", "why"),
    [
        (scope(), None),
        (scope(host="localhost:8000", origin="http://localhost:8000"), None),
        (scope(sec_fetch_site="none"), None),
        (scope(client="192.168.1.20"), "not from this computer"),
        (scope(host="127.0.0.1:8001"), "another host"),
        (scope(host="attacker.example:8000"), "another host"),
        (scope(origin="http://attacker.example"), "another origin"),
        (scope(origin="null"), "another origin"),
        (scope(origin="http://127.0.0.1:8001"), "another origin"),
        (scope(sec_fetch_site="cross-site"), "another site"),
        (scope(sec_fetch_site="same-site"), "another site"),
    ],
)
def test_only_the_app_s_own_pages_on_this_computer_are_answered(
    request_scope: dict[str, object], why: str | None
) -> None:
    assert refusal(request_scope, 8000) == why


def test_a_form_token_holds_for_its_own_cookie_and_purpose_only() -> None:
    tokens = FormTokens()
    token = tokens.token("form", "cookie-a")
    assert tokens.holds("form", "cookie-a", token)
    assert not tokens.holds("form", "cookie-b", token)
    assert not tokens.holds("unlock", "cookie-a", token)
    assert not tokens.holds("form", "", tokens.token("form", ""))  # no cookie, no token
    assert not FormTokens().holds("form", "cookie-a", token)  # another start of the app


def test_happened_at_is_read_in_danish_time_and_never_in_the_future() -> None:
    now = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    assert a_moment({"at": ["2026-12-02T09:30"]}, "at", now) == datetime(2026, 12, 2, 8, 30, tzinfo=UTC)  # CET
    assert a_moment({"at": ["2026-07-01T09:30"]}, "at", now) == datetime(2026, 7, 1, 7, 30, tzinfo=UTC)  # CEST
    assert a_moment({"at": [""]}, "at", now) is None  # empty: now
    for wrong, message in (("2026-12-02T15:00", "fremtiden"), ("yesterday", "Skriv dato og tid")):
        with pytest.raises(FieldError, match=message) as raised:
            a_moment({"at": [wrong]}, "at", now)
        assert raised.value.field == "at"
