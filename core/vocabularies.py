"""The municipality's word lists: contact kinds, challenge categories and information
categories, each name with a Danish and an English label.

What is stored is always the name (`finances`); a worker may type the name or either
label (`økonomi`, `Finances`), in any case, and gets the name. Anything else is refused
with the list of names, so free text never becomes a category. The contact kinds and the
information categories are the event catalogue's (the rules judge them), so only their
labels are configured; the challenge categories are the municipality's own. The lists are
configuration: the server writes the defaults below to `vocabularies.json` at init and
ships the file to laptops on every pull, as it does the directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from core.errors import InvalidInput
from core.records import Record

CONTACT_KINDS = "contact-kinds"
CHALLENGES = "challenges"
CATEGORIES = "categories"

#: name -> (Danish label, English label), per list.
DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    CONTACT_KINDS: {
        "home-visit": ("hjemmebesøg", "home visit"),
        "drop-in": ("værested", "drop-in"),
        "street-outreach": ("gadeplan", "street outreach"),
        "phone": ("telefon", "phone"),
        "meeting": ("møde", "meeting"),
        "digital": ("digital", "digital"),
    },
    CHALLENGES: {
        "finances": ("økonomi", "finances"),
        "social-advice": ("anden social rådgivning", "other social advice"),
        "housing": ("bolig", "housing"),
        "mental-health": ("psykisk sundhed", "mental health"),
        "health": ("helbred", "health"),
        "job": ("job", "job"),
        "alcohol": ("alkohol", "alcohol"),
        "drugs": ("stoffer", "drugs"),
        "dental": ("tandpleje", "dental"),
    },
    CATEGORIES: {
        "identity": ("identitet", "identity"),
        "contact": ("kontakt", "contact"),
        "plan": ("plan", "plan"),
        "health": ("helbred", "health"),
        "addiction": ("misbrug", "addiction"),
        "finances": ("økonomi", "finances"),
        "employment": ("beskæftigelse", "employment"),
        "education": ("uddannelse", "education"),
        "family": ("familieforhold", "family"),
        "decision": ("afgørelse", "decision"),
    },
}
WHAT = {CONTACT_KINDS: "contact kind", CHALLENGES: "challenge category", CATEGORIES: "information category"}
FILE = "vocabularies.json"


class Vocabularies(Record, kw_only=False):
    """The configured lists: list -> name -> (Danish label, English label)."""

    lists: Mapping[str, Mapping[str, tuple[str, str]]]

    def names(self, which: str) -> tuple[str, ...]:
        return tuple(self.lists.get(which, {}))

    def name_of(self, which: str, word: str) -> str:
        """The name `word` stands for in list `which` (the name itself or a label, any
        case); InvalidInput listing the names when it is none of them. The word itself
        is not echoed: it may be free text about a person."""
        wanted = " ".join(word.split()).casefold()
        for name, labels in self.lists.get(which, {}).items():
            if wanted in (name.casefold(), *(label.casefold() for label in labels)):
                return name
        raise InvalidInput(f"not a {WHAT.get(which, which)}; use one of {', '.join(self.names(which))}")

    def names_of(self, which: str, words: Iterable[str]) -> tuple[str, ...]:
        """Each word's name, in order, each once."""
        return tuple(dict.fromkeys(self.name_of(which, w) for w in words))

    def as_json(self) -> dict[str, Any]:
        return {
            which: {name: {"da": da, "en": en} for name, (da, en) in items.items()}
            for which, items in self.lists.items()
        }


DEFAULT = Vocabularies(DEFAULTS)


def from_json(doc: Any) -> Vocabularies:
    """The lists of a `vocabularies.json` document (as `Vocabularies.as_json` writes it);
    InvalidInput when it is not of that shape or drops a list or an information category
    the code relies on."""
    if not isinstance(doc, dict):
        raise InvalidInput("a vocabularies file is a JSON object of lists")
    lists: dict[str, dict[str, tuple[str, str]]] = {}
    for which in DEFAULTS:
        items = doc.get(which)
        if not isinstance(items, dict) or not items:
            raise InvalidInput(f"the vocabularies file needs the list {which!r}")
        lists[which] = {}
        for name, labels in items.items():
            if not isinstance(labels, dict) or not all(isinstance(labels.get(k), str) for k in ("da", "en")):
                raise InvalidInput(f"{which} {name!r} needs a Danish (da) and an English (en) label")
            lists[which][name] = (labels["da"], labels["en"])
    for fixed in (CATEGORIES, CONTACT_KINDS):
        if set(lists[fixed]) != set(DEFAULTS[fixed]):
            raise InvalidInput(f"the {fixed} are those of the event catalogue; only their labels change")
    return Vocabularies(lists)


def write_default(folder: Path) -> Path:
    """Write the default lists to `folder`, unless a file is there already."""
    path = folder / FILE
    if not path.exists():
        path.write_text(json.dumps(DEFAULT.as_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def load(folder: Path) -> Vocabularies:
    """The lists configured in `folder`, or the defaults when it has none."""
    path = folder / FILE
    if not path.exists():
        return DEFAULT
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InvalidInput(f"{FILE} is not valid JSON") from None
    return from_json(doc)
