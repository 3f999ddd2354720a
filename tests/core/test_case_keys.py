"""Several keys per case: a rotated case opens every event with the key its header names,
verifies, and loses every one of its keys at erasure, also from the raw database files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core import events as ev
from core.case_cache import CaseCache
from core.errors import CaseErased, KeyNotHeld
from core.log import CaseLog
from core.recording import record
from core.verify import verify
from tests.conftest import BACKENDS
from tests.core.conftest import Devices, family, worker

MakeLog = Callable[..., CaseLog]


def rotated_case(log: CaseLog, devices: Devices) -> tuple[str, list[str]]:
    """A case with one event under its first key, then one under a rotated key."""
    b = family({"mother": ("parent", 38)})
    devices.push(log, b.sealed, [b.key])
    rotated = log.rotate_key(b.case_id)
    assert rotated is not None and rotated.key_id != b.key.key_id
    _, sealed = record(
        b.state,
        rotated,
        b.directory,
        ev.ContactRecorded,
        worker("children-family"),
        contact_id=ev.new_id(),
        kind="phone",
        note="after the rotation",
        persons=(),
    )
    devices.push(log, [sealed], [])
    return b.case_id, [b.key.key_id, rotated.key_id]


def test_a_rotated_case_keeps_its_earlier_key_and_opens_each_event_with_its_own(
    make_log: MakeLog, devices: Devices
) -> None:
    log = make_log()
    case_id, key_ids = rotated_case(log, devices)
    assert [k.key_id for k in log.case_keys(case_id)] == key_ids
    assert log.case_key(case_id).key_id == key_ids[-1]
    assert log.recorder.key_ids([case_id]) == {case_id: key_ids}
    logged = log.case_events(case_id)
    assert {le.sealed.header.key_id for le in logged} == set(key_ids)
    opened = [log.open(le) for le in logged]
    assert isinstance(opened[-1], ev.ContactRecorded) and opened[-1].note == "after the rotation"
    assert CaseCache(log).get(case_id).seq == len(logged)
    assert verify(log).ok
    with pytest.raises(KeyNotHeld):
        log.case_key_by_id(case_id, "00000000")


def test_another_process_opens_events_under_a_key_rotated_after_it_started(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    b = family({"mother": ("parent", 38)})
    devices.push(log, b.sealed, [b.key])
    other = make_log()
    assert other.case_key(b.case_id).key_id == b.key.key_id  # remembered there
    rotated = log.rotate_key(b.case_id)
    assert rotated is not None
    assert other.case_key(b.case_id).key_id == rotated.key_id
    assert other.case_key_by_id(b.case_id, rotated.key_id).secret == rotated.secret


def test_erasure_destroys_every_key_of_a_case(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    case_id, key_ids = rotated_case(log, devices)
    log.destroy_key(case_id)
    assert log.recorder.earlier_keys(case_id) == []
    assert log.recorder.key_ids([case_id]) == {}
    for key_id in key_ids:
        with pytest.raises(CaseErased):
            log.case_key_by_id(case_id, key_id)
    assert log.rotate_key(case_id) is None


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "sqlite"], indirect=True)
def test_an_erased_cases_earlier_key_is_in_neither_the_database_nor_its_wal(
    database_url: str, make_log: MakeLog, devices: Devices
) -> None:
    log = make_log()
    case_id, _ = rotated_case(log, devices)
    ((_, earlier),) = log.recorder.earlier_keys(case_id)
    path = Path(database_url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")

    def raw() -> bytes:
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    assert earlier in raw()
    log.destroy_key(case_id)
    assert earlier not in raw()


def test_grants_are_recorded_per_device_and_key_id(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    case_id, key_ids = rotated_case(log, devices)
    log.recorder.add_grants("dev-a", [(case_id, key_ids[0])], 1, 7)
    log.recorder.add_grants("dev-a", [(case_id, key_ids[0])], 2, 9)  # given again: the first is kept
    log.recorder.add_grants("dev-b", [(case_id, k) for k in key_ids], 3, 8)
    assert log.recorder.grant_rows("dev-a", [case_id]) == [(case_id, key_ids[0], 7)]
    assert log.recorder.granted_devices(case_id, key_ids[1]) == ["dev-b"]
    assert log.recorder.granted_cases(["dev-a", "dev-b"]) == [case_id]
