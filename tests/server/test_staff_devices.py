"""Office devices: made on first use, kept sealed under the KEK, enrolled in the administrative log."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from core.adminlog import AdminSealer
from core.errors import ConfigurationError
from core.keys import DeviceKeys, KeyEncryptionKey
from core.log import CaseLog
from server.staff_devices import FOLDER, StaffDevices


def test_a_workers_office_device_is_made_once_sealed_and_enrolled(
    make_log: Callable[..., CaseLog], tmp_path: Path
) -> None:
    log = make_log()
    log.admin = AdminSealer(DeviceKeys.generate().signing)
    first = StaffDevices(tmp_path, log.kek, log).of("karen")
    assert first.device_id.startswith("office-karen-")
    enrolled = log.device(first.device_id)
    assert enrolled is not None and enrolled.worker == "karen"
    assert enrolled.signing_key == first.keys.signing_public

    file = tmp_path / FOLDER / "karen.key"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert first.keys.private_bytes().hex() not in file.read_text()  # sealed, never plain

    # Another process on the same folder and database: the same device, not a second one.
    again = StaffDevices(tmp_path, log.kek, make_log()).of("karen")
    assert (again.device_id, again.keys.private_bytes()) == (first.device_id, first.keys.private_bytes())
    assert [d.device_id for d in log.devices() if d.worker == "karen"] == [first.device_id]


def test_a_copied_device_file_opens_nothing_without_the_kek(make_log: Callable[..., CaseLog], tmp_path: Path) -> None:
    log = make_log()
    StaffDevices(tmp_path, log.kek, log).of("karen")
    with pytest.raises(ConfigurationError, match="cannot be read under this key-encryption key"):
        StaffDevices(tmp_path, KeyEncryptionKey.generate(), log).of("karen")
    # Moved to another worker's name, it does not open either: the worker is bound into it.
    (tmp_path / FOLDER / "karen.key").rename(tmp_path / FOLDER / "lars.key")
    with pytest.raises(ConfigurationError):
        StaffDevices(tmp_path, log.kek, log).of("lars")
