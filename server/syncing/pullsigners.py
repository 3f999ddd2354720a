"""What a laptop needs to check who signed a pull answer (`client.signers`).

The tree's proofs show that what came is in the log; they do not show that a device the
municipality enrolled signed it, since an insider who inserts a device row in the
database can append a batch "signed" by it. So a pull answer also carries, for a laptop
that names the last administrative event it replayed (`admin_after`):

- the administrative events after it (`core.adminlog`), whole and in sequence order,
  at most `MAX_ADMIN` an answer: a laptop far behind gets them alone first, with its
  cursor left where it was, so it never judges a batch before it knows its device;
- the erasure tombstone of every case the answer drops because it was erased: the
  laptop checks who signed it before it drops the case;
- the signed manifest of every batch that a whole event, an administrative event or a
  tombstone of the answer came in.

All of them are leaves of the tree, placed like the page's events (`envelopes`), so one
inclusion proof covers them too. Administrative events hold ids, departments, roles and
public keys; a tombstone is a header without payload; a manifest is hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from core.adminlog import ADMIN_STREAM
from core.log import CaseLog, LoggedEvent
from sync.protocol import MAX_PAGE, PullRequest, PullResponse
from sync.pulled import PulledEvent

MAX_ADMIN = MAX_PAGE
"""Administrative events one answer carries at most."""

Envelopes = dict[int, tuple[int, str]]
"""Time received and batch id of each delivered event, by position (`sync.pageproof`)."""


def admin_events(log: CaseLog, after: int) -> list[LoggedEvent]:
    """The administrative events after sequence `after`, one more than an answer carries
    at most (so the caller knows whether there are more)."""
    return log.case_events(ADMIN_STREAM, after=after, upto=after + MAX_ADMIN + 1)


def admin_only(log: CaseLog, request: PullRequest, admin: Sequence[LoggedEvent]) -> tuple[PullResponse, Envelopes]:
    """The answer to a laptop that has more administrative events to replay than one
    answer carries: the first of them, nothing else, and the cursor where it was."""
    response = PullResponse(events=(), next=request.after, more=True, head=log.max_position())
    return with_signers(log, response, {}, admin[:MAX_ADMIN], ())


def with_signers(
    log: CaseLog, response: PullResponse, envelopes: Envelopes, admin: Sequence[LoggedEvent], erased: Iterable[str]
) -> tuple[PullResponse, Envelopes]:
    """The answer with its administrative events, the tombstones of the `erased` cases it
    drops and every batch manifest its whole events need, and the envelopes of all."""
    envelopes = dict(envelopes)
    tombstones = [(t, case_id) for case_id in erased if (t := _tombstone(log, case_id)) is not None]
    extra = [le for le, _ in tombstones] + list(admin[:MAX_ADMIN])
    for le in extra:
        envelopes[le.position] = (le.received, le.batch_id)
    signed = {envelopes[e.position][1] for e in response.events if not e.placeholder and e.position in envelopes}
    signed.update(le.batch_id for le in extra)
    batches = tuple(log.batches(sorted(signed)).values())
    answer = replace(
        response,
        admin=tuple(_pulled(le, ADMIN_STREAM) for le in admin[:MAX_ADMIN]),
        erased=tuple(_pulled(le, case_id) for le, case_id in tombstones),
        batches=batches,
    )
    return answer, envelopes


def _tombstone(log: CaseLog, case_id: str) -> LoggedEvent | None:
    """The erasure tombstone that ends an erased case; None for a case not erased."""
    last = log.recorder.last_seqs([case_id]).get(case_id)
    if last is None:
        return None
    found = log.case_events(case_id, after=last - 1)
    return found[-1] if found and found[-1].sealed.topic == "case.erased" else None


def _pulled(le: LoggedEvent, case_id: str) -> PulledEvent:
    return PulledEvent(le.position, le.seq, case_id, le.sealed.raw, le.received, le.link)
