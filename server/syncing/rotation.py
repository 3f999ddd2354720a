"""Key rotation: when a device loses a case, the case gets a key that device never receives.

A laptop that lost a case (its assignment ended, its department left the case, the case
left it by any road, the device was revoked or its worker disabled) forgets the case and
its keys at its next pull; but a laptop that never syncs again, or was stolen, still holds
them. So the case's key rotates: a new key with a new key id becomes the case's current
key, the events recorded from then on are sealed under it, and it is granted only to
devices whose worker holds the case in their caseload (`server.syncing.pull`). Earlier
events keep the key they were sealed with.

The record of which device was granted which key id (`LogStore.grant_rows`) tells which
devices hold the current key; a case rotates when one of them may no longer hold the
case. It is settled right after each change that can take a case from a device, by
whichever process made it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from core.errors import CaseErased, KeyNotHeld
from core.log import CaseLog
from server.syncing.caseload import Caseload


class KeyRotation:
    """Rotates the keys of cases that a device granted their current key has lost."""

    def __init__(self, log: CaseLog, caseload: Caseload, department_of: Callable[[str], str | None]) -> None:
        """`department_of` answers a worker's department, None for an unknown or disabled worker."""
        self.log = log
        self.caseload = caseload
        self.department_of = department_of

    def departed(self, case_id: str) -> list[str]:
        """The devices granted the case's current key that may no longer hold the case."""
        try:
            current = self.log.case_key(case_id)
        except (KeyNotHeld, CaseErased):
            return []
        gone: list[str] = []
        for device_id in self.log.recorder.granted_devices(case_id, current.key_id):
            device = self.log.device(device_id)
            if device is None or device.revoked_at is not None:
                gone.append(device_id)
                continue
            department = self.department_of(device.worker)
            if department is None or not self.caseload.among(device.worker, department, (case_id,)):
                gone.append(device_id)
        return gone

    def settle(self, case_ids: Iterable[str]) -> list[str]:
        """Rotate the key of every named case a device granted its current key has lost;
        the cases rotated, sorted."""
        rotated: list[str] = []
        for case_id in sorted(set(case_ids)):
            if self.departed(case_id) and self.log.rotate_key(case_id) is not None:
                rotated.append(case_id)
        return rotated

    def settle_devices(self, device_ids: Iterable[str]) -> list[str]:
        """`settle` every case any key of which was granted to one of the devices (after
        they were revoked, or their worker disabled)."""
        return self.settle(self.log.recorder.granted_cases(sorted(set(device_ids))))
