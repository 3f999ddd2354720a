"""Judged department views as encoded JSON, remembered while they cannot change.

`ViewCache` keeps the judged view of (case, department) as the bytes of its JSON answer,
for as long as judging it again could not give another answer: while the case's last
sequence is the same (any new event, a withdrawal too, moves it) and until
`core.case_view.next_change`, the first moment at which visibility changes by itself
(midnight, when a consent runs out or a young person turns 18; a consent, withdrawal,
membership or share dated in the future). Consent is still judged at the moment of
reading; the cache only remembers the answer that judgement gives for the whole stretch
of time it holds. The body is kept in two parts around the moment of reading
(`JudgedView`: head, moment, tail), which `server.compression` compresses once per view.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.case_cache import CachedCase, CaseCache
from core.case_view import case_json, judge, next_change
from core.departments import Directory
from core.errors import CaseErased, KeyNotHeld


def encode_json(doc: Any) -> bytes:
    """JSON as the HTTP API sends it (UTF-8, compact; Starlette's `JSONResponse` encoding)."""
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class JudgedView:
    """A department's view of a case judged at `judged_at`, the same until `valid_until`
    as long as the case has no event after `seq`. `body` is None when the department may
    see nothing; otherwise the JSON of `case_json` in two parts around the moment of
    reading (``as_of``), which is spliced in per read."""

    seq: int
    authority: bool
    judged_at: datetime
    valid_until: datetime
    head: bytes | None
    tail: bytes

    def holds(self, seq: int, authority: bool, at: datetime) -> bool:
        return (
            seq == self.seq
            and authority == self.authority
            and self.judged_at <= at < self.valid_until
            and at.utcoffset() == self.judged_at.utcoffset()
        )

    def body(self, at: datetime) -> bytes | None:
        if self.head is None:
            return None
        return b"".join((self.head, self.moment(at), self.tail))

    @staticmethod
    def moment(at: datetime) -> bytes:
        """The part of the body between `head` and `tail`: the moment of reading."""
        return encode_json(at.isoformat())

    @property
    def size(self) -> int:
        return len(self.head or b"") + len(self.tail)


_AS_OF = "\x00as_of\x00"  # JSON-encodes to a text no event payload comes before


class ViewCache:
    """Judged department views in memory (least recently used dropped first, within a
    byte budget), never on disk. `body` judges afresh whenever the cached answer might
    be out of date, so using it answers exactly as `department_case` + `case_json`."""

    def __init__(self, cases: CaseCache, budget: int = 64 * 1024 * 1024) -> None:
        self.cases = cases
        self.budget = budget
        self.used = 0
        self.judged = 0  # views judged afresh (not answered from memory); for tests, metrics
        self._views: OrderedDict[tuple[str, str], JudgedView] = OrderedDict()
        self._lock = threading.Lock()

    def body(self, case_id: str, department: str, directory: Directory, at: datetime) -> bytes | None:
        """`case_json` of the case as `department` may see it at `at`, encoded; None when it
        may see nothing (not a party, erased, or no such case)."""
        view = self.view(case_id, department, directory, at)
        return None if view is None else view.body(at)

    def view(self, case_id: str, department: str, directory: Directory, at: datetime) -> JudgedView | None:
        """The case judged for `department` as it holds at `at` (its `body(at)` is None
        when the department may see nothing); None for an unknown or erased case. The
        case's tail is read from the log first, so an event appended anywhere is in the
        very next answer."""
        try:
            case = self.cases.get(case_id)
        except (KeyNotHeld, CaseErased):
            return None
        authority = directory.is_authority(department)
        found = self.holding(case_id, department, case.seq, authority, at)
        if found is not None:
            return found
        judged = self._judge(case, department, directory, authority, at)
        key = (case_id, department)
        with self._lock:
            self.judged += 1
            old = self._views.pop(key, None)
            if old is not None:
                self.used -= old.size
            if judged.size <= self.budget:
                self._views[key] = judged
                self.used += judged.size
            while self.used > self.budget and self._views:
                _, dropped = self._views.popitem(last=False)
                self.used -= dropped.size
        return judged

    def holding(self, case_id: str, department: str, seq: int, authority: bool, at: datetime) -> JudgedView | None:
        """The view judged earlier, from memory alone, when it still holds at `at` for the
        case whose last event is `seq` (read by the caller, e.g. from `core.heads`)."""
        key = (case_id, department)
        with self._lock:
            found = self._views.get(key)
            if found is not None:
                self._views.move_to_end(key)
        return found if found is not None and found.holds(seq, authority, at) else None

    def _judge(
        self, case: CachedCase, department: str, directory: Directory, authority: bool, at: datetime
    ) -> JudgedView:
        until = next_change(case.state, at)
        view = judge(case, department, directory, at)
        if view is None:
            return JudgedView(case.seq, authority, at, until, None, b"")
        doc = case_json(view)
        doc["as_of"] = _AS_OF
        head, marker, tail = encode_json(doc).partition(encode_json(_AS_OF))
        if not marker:  # cannot happen: as_of is a key of case_json; judged per read then
            raise RuntimeError("the case view has no as_of to fill in")
        return JudgedView(case.seq, authority, at, until, head, tail)

    def forget(self, case_id: str) -> None:
        """Drop every department's view of a case (after erasure)."""
        with self._lock:
            for key in [k for k in self._views if k[0] == case_id]:
                self.used -= self._views.pop(key).size
