"""A clash and its `conflict flagged` event are stored in one transaction.

The database itself is made to refuse the flag (a trigger, as a full disk or a crash
would), and then neither the clashing event nor its flag may be in the log; once the
database accepts writes again the retried push stores both, exactly once.
"""

from __future__ import annotations

from typing import Any

import pytest

from core import events as ev
from core.log import CaseLog
from core.verify import verify
from tests.sync.conftest import World
from tests.sync.test_push import _open_with_goal


def raw(log: CaseLog) -> Any:
    """The recorder past the storage seam, to plant a trigger as a database administrator could."""
    return log.recorder


def _refuse_conflict_flags(world: World) -> None:
    log = world.log
    if log.tables.p == "?":
        log.recorder.run(
            "CREATE TRIGGER refuse_flags BEFORE INSERT ON stored_events "
            "WHEN NEW.topic = 'conflict.flagged' BEGIN SELECT RAISE(ABORT, 'refused'); END",
            commit=True,
        )
    else:
        schema = raw(log).datastore.schema
        log.recorder.run(
            f'CREATE FUNCTION "{schema}".refuse_flags() RETURNS trigger LANGUAGE plpgsql AS '
            "$$ BEGIN IF NEW.topic = 'conflict.flagged' THEN RAISE EXCEPTION 'refused'; END IF; "
            "RETURN NEW; END $$",
            commit=True,
        )
        log.recorder.run(
            f'CREATE TRIGGER refuse_flags BEFORE INSERT ON "{schema}".{raw(log).events_table_name} '
            f'FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse_flags()',
            commit=True,
        )


def _accept_again(world: World) -> None:
    log = world.log
    if log.tables.p == "?":
        log.recorder.run("DROP TRIGGER refuse_flags", commit=True)
    else:
        schema = raw(log).datastore.schema
        log.recorder.run(f'DROP TRIGGER refuse_flags ON "{schema}".{raw(log).events_table_name}', commit=True)


def test_a_clash_is_never_stored_without_its_flag(world: World) -> None:
    office = world.laptop("w1")
    case_id, goal = _open_with_goal(world, office)
    field = world.laptop("w2")
    world.hand(field, case_id)
    r1 = office.record(case_id, ev.GoalRevised, goal_id=goal, text="work 10 h", base_revision=1)
    r2 = field.record(case_id, ev.GoalRevised, goal_id=goal, text="treatment first", base_revision=1)
    assert world.service.push(office.batch([r1]), office.device_id, office.worker).results[0].status == "accepted"
    before = [e.sealed.event_id for e in world.log.case_events(case_id)]

    _refuse_conflict_flags(world)
    request = field.batch([r2])
    with pytest.raises(Exception, match=r"refused|try again"):
        world.service.push(request, field.device_id, field.worker)
    assert [e.sealed.event_id for e in world.log.case_events(case_id)] == before

    _accept_again(world)
    resp = world.service.push(request, field.device_id, field.worker)
    assert resp.results[0].status == "accepted"
    assert len(resp.conflicts) == 1
    topics = [e.sealed.topic for e in world.log.case_events(case_id)]
    assert topics[len(before) :] == ["goal.revised", "conflict.flagged"]
    assert verify(world.log).ok
