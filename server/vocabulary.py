"""The municipality's word lists as one server process keeps them (`core.vocabularies`).

The lists live in the data folder's `vocabularies.json`. A process reads the file once
and keeps what it read, with the file's size and modification time: a pull (and the
monitoring) asks only for that stat, and reads the file again when another process, or
an administrator of this one, has replaced it. An administrator's change replaces the
file in one step and is an administrative event (`vocabulary.set`, `vocabulary.removed`),
so the tree records who changed the lists and when; when the event cannot be recorded the
old file is put back and the change is refused.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from core import vocabularies
from core.adminlog import Change, change
from core.log import CaseLog
from core.vocabularies import FILE, Vocabularies


class VocabularyFile:
    """The lists of one data folder: read when the file changed, changed by administrators."""

    def __init__(self, folder: Path, log: CaseLog) -> None:
        self.folder = folder
        self.log = log
        self._lock = threading.Lock()
        self._read: tuple[tuple[int, int, int] | None, Vocabularies] | None = None

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = (self.folder / FILE).stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def current(self) -> Vocabularies:
        """The lists as the file holds them now (read again only when it was replaced)."""
        stamp = self._stamp()
        read = self._read
        if read is not None and read[0] == stamp:
            return read[1]
        with self._lock:
            words = vocabularies.load(self.folder)
            self._read = (stamp, words)
        return words

    def set(self, which: str, name: str, da: str, en: str) -> Vocabularies:
        """Label `name` in list `which` (adding a challenge category); InvalidInput for a
        name, label or list the lists refuse (`core.vocabularies.with_name`)."""
        with self._lock:
            words = vocabularies.with_name(vocabularies.load(self.folder), which, name, da, en)
            labels = words.lists[which][name]
            self._replace(words, change("vocabulary.set", list=which, name=name, da=labels[0], en=labels[1]))
        return words

    def remove(self, which: str, name: str) -> Vocabularies:
        """Remove `name` from list `which`; UnknownReference when it is not there."""
        with self._lock:
            words = vocabularies.without_name(vocabularies.load(self.folder), which, name)
            self._replace(words, change("vocabulary.removed", list=which, name=name))
        return words

    def _replace(self, words: Vocabularies, what: Change) -> None:
        before = vocabularies.load(self.folder)
        vocabularies.save(self.folder, words)
        try:
            self.log.record_admin(what)
        except BaseException:
            vocabularies.save(self.folder, before)
            raise
        self._read = None


def vocabulary_file(folder: Path, log: CaseLog, extras: dict[str, Any]) -> VocabularyFile:
    """The process's one `VocabularyFile` of the data folder (kept in the context's extras)."""
    found = extras.get("vocabularies")
    if not isinstance(found, VocabularyFile):
        found = extras["vocabularies"] = VocabularyFile(folder, log)
    return found
