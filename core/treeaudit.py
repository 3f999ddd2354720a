"""The auditor's check of signed tree heads against the log as it is now.

An auditor keeps the heads the server signed (`audit heads export`) somewhere the
server's administrators cannot reach. Later, the log must still extend every one of
them. This check trusts nothing the database says about the tree: it rebuilds every
leaf from the stored events themselves (`core.tree.event_records`), checks each head's
signature with the head key, and compares the rebuilt root at each head's size. The
first head the log no longer extends is reported with the first position that differs:
from the leaves the auditor kept with the heads (`core.treeleaves`), which name it even
when the insider rebuilt the stored tree; from an older export without them, read from
the stored leaves (the range of leaves when those were rewritten too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from core.errors import SignatureInvalid
from core.logstore import LogStore
from core.merkle import Frontier
from core.tree import event_records
from core.treehead import TreeHead
from core.treeleaves import KeptLeaf, first_difference, root_of


@dataclass
class HeadsReport:
    """What the check found: how many heads and events, and the first head that fails."""

    heads: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)
    position: int | None = None  # the first position where the log no longer matches a head

    @property
    def ok(self) -> bool:
        return not self.problems


def check_heads(
    store: LogStore, heads: Sequence[TreeHead], public_key: bytes, kept: Sequence[KeptLeaf] = ()
) -> HeadsReport:
    """Whether the stored log extends every signed head; the first failure named, at the
    exact position when the auditor kept the leaves (`core.treeleaves`)."""
    report = HeadsReport(heads=len(heads))
    for head in heads:
        try:
            head.verify(public_key)
        except SignatureInvalid as exc:
            report.problems.append(str(exc))
            return report
    if kept and not _vouched(kept, heads, report):
        return report
    rebuilt = list(event_records(store))
    report.events = len(rebuilt)
    frontier = Frontier()
    good = 0
    for head in sorted(heads, key=lambda h: h.size):
        if head.size > len(rebuilt):
            why = f"the log holds {len(rebuilt)} events, fewer than"
        else:
            frontier.grow([lf.leaf_hash for lf in rebuilt[frontier.size : head.size]], keep_from=64)
            why = "" if frontier.root() == head.root else "the log's events no longer give the root of"
        if why:
            edited = first_difference(kept, rebuilt)
            if edited is None:
                _locate(store, [lf.leaf_hash for lf in rebuilt], good, head, report, why)
            else:
                report.position = edited.position
                report.problems.append(
                    f"{why} the head of size {head.size}: {edited.named()} was changed, removed or moved"
                )
            return report
        good = head.size
    return report


def _vouched(kept: Sequence[KeptLeaf], heads: Sequence[TreeHead], report: HeadsReport) -> bool:
    """Whether the kept leaves are those of the newest kept head (its root, its size)."""
    newest = max(heads, key=lambda h: h.size, default=None)
    if newest is None or len(kept) != newest.size or root_of(kept) != newest.root:
        report.problems.append("the kept leaves do not give the newest kept head: the file was changed")
        return False
    return True


def _locate(store: LogStore, rebuilt: list[bytes], good: int, head: TreeHead, report: HeadsReport, why: str) -> None:
    """Name the first leaf after the last matching head whose stored hash differs from the
    rebuilt one (or that is missing), by the position the stored tree gives it."""
    stored = store.tree_leaves(good, head.size - good)
    for leaf, position, h in stored:
        if leaf >= len(rebuilt) or rebuilt[leaf] != h:
            report.position = position
            report.problems.append(
                f"{why} the head of size {head.size}: the event at position {position} "
                f"(leaf {leaf}) was changed, removed or moved"
            )
            return
    report.problems.append(
        f"{why} the head of size {head.size}: an event among leaves {good} to {head.size - 1} "
        "was changed, removed or moved (the stored tree was rewritten too)"
    )
