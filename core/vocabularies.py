"""The municipality's word lists: contact kinds, challenge categories and information
categories, each name with a Danish and an English label.

What is stored is always the name (`finances`); a worker may type the name or either
label (`økonomi`, `Finances`), in any case, and gets the name. Anything else is refused
with the list of names, so free text never becomes a category. The contact kinds and the
information categories are the event catalogue's (the rules judge them), so only their
labels are configured; the challenge categories are the municipality's own. The lists are
configuration: the server writes the defaults below to `vocabularies.json` at init, an
administrator changes a name's labels or adds or removes a challenge category
(`with_name`, `without_name`, `save`), and the server ships the lists to laptops on every
pull, as it does the directory.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from core.errors import InvalidInput, UnknownReference
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
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # a name of a list, as events store it
MAX_LABEL = 80
#: Not a challenge category: the monitoring's bucket for a name its list does not know.
RESERVED = "other"


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


def _which(which: str) -> str:
    if which not in DEFAULTS:
        raise InvalidInput(f"a list is one of {', '.join(DEFAULTS)}")
    return which


def with_name(words: Vocabularies, which: str, name: str, da: str, en: str) -> Vocabularies:
    """The lists with `name` in list `which` labelled `da` and `en` (a new challenge
    category, or new labels of any name); InvalidInput when the name is not a name, a
    label is empty, too long or already another name's, or the list is a fixed one and
    the name not in it."""
    _which(which)
    if not NAME.fullmatch(name) or (which == CHALLENGES and name == RESERVED):
        raise InvalidInput("a name is lower case letters, digits and hyphens (up to 40), and not 'other'")
    labels = tuple(" ".join(x.split()) for x in (da, en))
    if not all(0 < len(x) <= MAX_LABEL for x in labels):
        raise InvalidInput(f"a Danish and an English label of 1 to {MAX_LABEL} characters")
    for other, theirs in words.lists.get(which, {}).items():
        taken = {other.casefold(), *(x.casefold() for x in theirs)}
        if other != name and taken & {name.casefold(), *(x.casefold() for x in labels)}:
            raise InvalidInput(f"a label or name of {which} {other!r} already; each word means one name")
    lists = {w: dict(items) for w, items in words.lists.items()}
    lists.setdefault(which, {})[name] = (labels[0], labels[1])
    return from_json(Vocabularies(lists).as_json())


def without_name(words: Vocabularies, which: str, name: str) -> Vocabularies:
    """The lists without `name` in list `which`; UnknownReference when it is not there,
    InvalidInput when the list is a fixed one or would be empty. Events that name it keep
    it; the monitoring counts them as `other` from then on."""
    if name not in words.lists.get(_which(which), {}):
        raise UnknownReference(f"{name!r} is not in the list {which}")
    lists = {w: dict(items) for w, items in words.lists.items()}
    del lists[which][name]
    return from_json(Vocabularies(lists).as_json())


def save(folder: Path, words: Vocabularies) -> None:
    """Write the lists to `folder` in one step (a new file renamed over the old), so a
    reader sees the old lists or the new, never half a file."""
    path = folder / FILE
    fresh = path.with_name(f".{FILE}.{os.getpid()}")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(words.as_json(), ensure_ascii=False, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(fresh, path)


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
