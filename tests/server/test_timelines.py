"""A case page's timeline is rendered once while the judged view holds, and again after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.timelines import Timelines

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_timeline_is_kept_until_its_view_can_change_and_per_sequence_and_language() -> None:
    made: list[str] = []

    def render(text: str) -> str:
        made.append(text)
        return text

    kept = Timelines(kept=2)
    midnight = NOW + timedelta(hours=15)
    assert kept.get(("case", "jobcenter", 7, "da"), NOW, midnight, lambda: render("a")) == "a"
    assert kept.get(("case", "jobcenter", 7, "da"), NOW + timedelta(hours=1), midnight, lambda: render("b")) == "a"
    assert kept.get(("case", "jobcenter", 7, "da"), midnight, midnight, lambda: render("c")) == "c"  # after midnight
    assert kept.get(("case", "jobcenter", 8, "da"), NOW, midnight, lambda: render("d")) == "d"  # a new event
    assert kept.get(("case", "jobcenter", 8, "en"), NOW, midnight, lambda: render("e")) == "e"  # another language
    assert kept.get(("case", "jobcenter", 7, "da"), NOW, midnight, lambda: render("f")) == "f"  # dropped: 2 kept
    assert made == ["a", "c", "d", "e", "f"]
