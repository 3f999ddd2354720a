"""Folding an event of a kind the case state does not read from its header alone
(`core.case.Unopened`) gives the same state, after every event, as folding it opened:
what lets the server's push judge a case without decrypting its contacts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from core import events as ev
from core.case import STATE_TOPICS, CaseState, Unopened
from tests.core.conftest import family
from tests.core.test_replay_property import Command, attempt, commands


def narrowed(e: ev.CaseEvent) -> ev.CaseEvent | Unopened:
    return e if e.header.topic in STATE_TOPICS else Unopened(e.header)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=commands)
def test_a_narrowed_fold_equals_the_full_fold_after_every_event(cmds: list[Command]) -> None:
    b = family({"mother": ("parent", 40), "kid": ("child", 15)})
    b.join("jobcenter", "school")
    for command in cmds:
        attempt(b, command)
    full, narrow = CaseState(b.case_id), CaseState(b.case_id)
    for e in b.events:
        full.apply(e)
        narrow.apply(narrowed(e))
        assert narrow == full
