"""WCAG 2.1 AA checked in the browser: axe-core's serious and critical violations, and width.

axe-core is shipped beside the tests (`tests/browser/axe/`), injected into the page as it
is, and run with the WCAG 2.0/2.1 A and AA rules. A violation is reported with its rule,
its help text and the first elements it names, so a failing test says what to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE = Path(__file__).with_name("axe") / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = frozenset({"serious", "critical"})


def serious_violations(page: Page) -> list[str]:
    """The page's serious and critical axe-core violations, one line each (empty when none)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated by the browser's own protocol, not as a page script: the pages' CSP
        # (rightly) forbids inline scripts, and the test must not weaken it
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations",
        RULES,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in found
        if v.get("impact") in SERIOUS
    ]


def overflow_width(page: Page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when it is not)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))
