"""The pages' words: one catalogue for Danish and English, times as Danes write them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from client.ui import forms
from core import events as ev
from core import words
from core.pages import FRAME
from server import pages

TEMPLATES = Path(pages.__file__).parent / "templates"
CALLS = re.compile(r"""\bt\(\s*(["'])(.+?)(?<!\\)\1\s*\)""")


@pytest.fixture
def english() -> Iterator[None]:
    token = words.language.set("en")
    try:
        yield
    finally:
        words.language.reset(token)


def test_every_text_of_every_page_has_its_danish_words() -> None:
    used = {m.group(2).replace('\\"', '"') for f in TEMPLATES.glob("*.html") for m in CALLS.finditer(f.read_text())}
    assert used, "no t(...) found in the templates"
    assert sorted(used - set(words.DANISH)) == []


def test_every_kind_of_event_has_words_in_both_languages() -> None:
    assert sorted({cls.TOPIC for cls in ev.all_event_classes()} - set(words.EVENT_KINDS)) == []


def test_a_time_is_shown_in_copenhagen_with_its_zone_as_danes_write_it() -> None:
    assert words.when(datetime(2026, 12, 2, 13, 5, tzinfo=UTC)) == "2. december 2026 kl. 14.05 CET"
    assert words.when("2026-06-30T22:30:00+00:00") == "1. juli 2026 kl. 00.30 CEST"  # the next day, in summer
    assert words.day("2026-03-02") == "2. marts 2026"


def test_in_english_the_same_moment_reads_in_english(english: None) -> None:
    assert words.when(datetime(2026, 12, 2, 13, 5, tzinfo=UTC)) == "2 December 2026 at 14:05 CET"
    assert words.t("Sign in") == "Sign in" and words.event_kind("consent.withdrawn") == "Consent withdrawn"


def test_a_language_nobody_offers_is_answered_in_danish() -> None:
    assert [words.chosen(x) for x in ("en", "da", "de", "", None, "EN")] == ["en", "da", "da", "da", "da", "da"]
    assert words.t("Sign in") == "Log ind"


def test_a_timeline_entry_tells_its_text_and_persons_and_never_a_cpr_number_or_a_key() -> None:
    said = words.told({"person_id": "p1", "role": "parent", "name": "Mette Hansen", "cpr": "0101881234"}, {})
    assert said == "Mette Hansen · forælder"
    said = words.told({"consent_id": "c1", "subject": "p1", "purpose": "a shared plan"}, {"p1": "Mette Hansen"})
    assert said == "Mette Hansen · a shared plan"


def test_the_language_switch_leads_back_to_these_pages_only_never_to_another_site() -> None:
    app = Starlette(routes=[Route("/ui/language", pages.choose_language)])

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tovholder.test") as c:
            for back, lands in (
                ("/ui/cases?q=hansen", "/ui/cases?q=hansen"),
                ("https://evil.example/ui/cases", "/ui/cases"),
                ("//evil.example/ui/cases", "/ui/cases"),
                ("/\\evil.example/ui", "/ui/cases"),
                ("/uievil", "/ui/cases"),
                ("/v1/admin/workers", "/ui/cases"),
            ):
                r = await c.get("/ui/language", params={"lang": "en", "next": back})
                assert (r.status_code, r.headers["location"]) == (303, lands)
                assert "tovholder_lang=en" in r.headers["set-cookie"]
            r = await c.get("/ui/language", params={"lang": "<script>", "next": "/ui"})
            assert "tovholder_lang=da" in r.headers["set-cookie"]

    asyncio.run(go())


def test_every_text_of_the_field_app_and_the_shared_frame_has_its_danish_words() -> None:
    ui = Path(forms.__file__).parent
    pages_of_both = [*(ui / "templates").glob("*.html"), *FRAME.glob("*.html")]
    used = {m.group(2) for f in pages_of_both for m in CALLS.finditer(f.read_text())}
    used |= {m.group(2) for f in ui.glob("*.py") for m in CALLS.finditer(f.read_text())}
    used |= {form.title for form in forms.FORMS.values()}
    used |= {text for form in forms.FORMS.values() for f in form.fields for text in (f.label, f.hint) if text}
    missing = sorted(text for text in used if text not in words.DANISH)
    assert not missing, f"no Danish words for {missing}"


def test_a_broken_rule_is_told_in_danish_with_its_own_particulars() -> None:
    told = words.rule("consent for health information must expire within one year of 2026-03-01")
    assert told == "samtykke til oplysninger om helbred skal udløbe inden for et år fra 2026-03-01"
    assert words.rule("only the case's coordinator resolves a flagged conflict") == (
        "kun sagens tovholder løser en markeret konflikt"
    )
    assert words.rule("a rule with no Danish words yet") == "a rule with no Danish words yet"  # never lost


def test_in_english_a_broken_rule_is_its_own_message(english: None) -> None:
    message = "consent for health information must expire within one year of 2026-03-01"
    assert words.rule(message) == message
