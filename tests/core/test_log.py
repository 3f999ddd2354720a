"""The server's case log on SQLite and PostgreSQL: signed appends, idempotence, reading back."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import events as ev
from core.adminlog import ADMIN_STREAM, AdminSealer, change, read_change
from core.errors import DecryptionError, KeyNotHeld, SignatureInvalid
from core.keys import DeviceKeys, KeyEncryptionKey
from core.log import CaseLog
from core.signing import sign_batch
from core.verify import verify
from tests.core.conftest import Devices, family

MakeLog = Callable[..., CaseLog]


def test_appended_events_read_back_in_order_with_positions(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    a, b = family(), family()
    ra = devices.push_case(log, a)
    rb = devices.push_case(log, b)
    assert [r.status for r in ra + rb] == ["accepted"] * (len(a.sealed) + len(b.sealed))
    assert [r.seq for r in ra] == list(range(1, len(a.sealed) + 1))
    logged = list(log.iterate())
    assert [le.position for le in logged] == [r.position for r in ra + rb]
    assert [le.sealed.raw for le in logged] == [s.raw for s in a.sealed + b.sealed]
    assert [log.open(le) for le in log.case_events(a.case_id)] == a.events
    assert log.max_position() == logged[-1].position
    assert sorted(log.case_ids()) == sorted([a.case_id, b.case_id])


def test_a_repeated_push_is_a_duplicate_and_stores_nothing_twice(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    a = family()
    first = devices.push_case(log, a)
    again = devices.push_case(log, a)
    assert [r.status for r in again] == ["duplicate"] * len(first)
    assert [(r.seq, r.position) for r in again] == [(r.seq, r.position) for r in first]
    assert len(list(log.iterate())) == len(first)
    assert verify(log).ok


def test_a_new_log_instance_continues_the_chain(make_log: MakeLog, devices: Devices) -> None:
    kek = KeyEncryptionKey.generate()
    a = family()
    devices.push(make_log(kek), a.sealed[:2], [a.key])
    reopened = make_log(kek)
    receipts = devices.push(reopened, a.sealed[2:])
    assert [r.seq for r in receipts] == list(range(3, len(a.sealed) + 1))
    report = verify(reopened)
    assert report.ok, report.problems
    assert report.events == len(a.sealed)


def test_a_batch_signed_by_another_key_is_refused(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    a = family()
    device_id = a.sealed[0].header.device
    devices.enroll(log, device_id)
    forged = sign_batch(DeviceKeys.generate().signing, "b1", device_id, [s.digest for s in a.sealed])
    with pytest.raises(SignatureInvalid, match=f"batch b1 is not signed by device {device_id}"):
        log.append(a.sealed, forged, [a.key])
    assert log.max_position() == 0


def test_a_batch_must_carry_exactly_what_was_signed(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    a = family()
    device_id = a.sealed[0].header.device
    signing = devices.enroll(log, device_id)
    seal = sign_batch(signing, "b2", device_id, [s.digest for s in a.sealed[:-1]])
    with pytest.raises(SignatureInvalid, match="batch b2 does not match the events it carries"):
        log.append(a.sealed, seal, [a.key])
    other = sign_batch(signing, "b3", "someone-else", [s.digest for s in a.sealed])
    with pytest.raises(SignatureInvalid, match="device someone-else is not enrolled"):
        log.append(a.sealed, other, [a.key])
    assert log.max_position() == 0


def test_a_revoked_device_can_no_longer_push(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    a = family()
    devices.push(log, a.sealed[:2], [a.key])
    device_id = a.sealed[0].header.device
    assert log.revoke_device(device_id)
    with pytest.raises(SignatureInvalid, match=f"device {device_id} was revoked"):
        devices.push(log, a.sealed[2:])
    assert log.max_position() == 2
    assert verify(log).ok  # what it pushed before stays attributable


def test_case_keys_are_held_only_wrapped_under_the_kek(make_log: MakeLog, devices: Devices) -> None:
    kek = KeyEncryptionKey.generate()
    a = family()
    devices.push_case(make_log(kek), a)
    stranger = make_log(KeyEncryptionKey.generate())
    with pytest.raises(DecryptionError, match=f"the key of case {a.case_id} does not unwrap"):
        stranger.case_key(a.case_id)
    assert make_log(kek).case_key(a.case_id).secret == a.key.secret
    with pytest.raises(KeyNotHeld, match="no key is held for case"):
        stranger.case_key(ev.new_id())


def test_two_server_processes_changing_the_administration_at_once_both_land_in_the_administrative_log(
    make_log: MakeLog,
) -> None:
    """Both append to the one administrative stream: a lost race on its next sequence is
    tried again, never turned into a refused enrollment or department."""
    server_key = Ed25519PrivateKey.generate()
    processes = [make_log(), make_log()]
    for log in processes:
        log.admin = AdminSealer(server_key)
    names = [f"dept-{i}" for i in range(40)]

    def add(i: int) -> None:
        processes[i % 2].record_admin(change("department.added", department=names[i], authority="kommune"))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(len(names))))
    stream = processes[0].case_events(ADMIN_STREAM)
    assert sorted(read_change(le.sealed)["department"] for le in stream) == sorted(names)
    assert [le.seq for le in stream] == list(range(1, len(names) + 1))
