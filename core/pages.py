"""The one frame of every HTML page, the staff pages' and the field app's: words, CSS, skip link.

Both sets of pages are Jinja templates that extend ``frame.html`` (in `core/templates`)
through their own ``base.html``: the frame gives the language, the shared CSS (focus
outlines, narrow screens, scrollable tables), the skip link, the language switch and
the ``main`` landmark; each base fills in its own header. `environment` makes the Jinja
environment both use, with the words and dates of `core.words`.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from core import words

FRAME = Path(__file__).with_name("templates")


def environment(folder: Path, language_url: str) -> Environment:
    """The templates of `folder` over the shared frame; `language_url` is the route that
    switches language (``?lang=da|en&next=...``)."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(folder), FileSystemLoader(FRAME)]),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        t=words.t,
        event_kind=words.event_kind,
        word=words.word,
        told=words.told,
        rule=words.rule,
        language_url=language_url,
    )
    env.filters.update(when=words.when, day=words.day)
    return env
