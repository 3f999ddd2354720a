"""Staff devices: the identity the server records a staff member's page actions under.

A coordinator who resolves a conflict or records a meeting on the case page records as
themselves, on a device of their own, exactly as from a laptop: the event is sealed with
the case key, and the batch is signed with that device's Ed25519 key and judged by the
push service (`server.syncing.push`). The device is made on a worker's first action: its
keys are generated here, kept in the data folder sealed under the server's key-encryption
key (`staff-devices/<worker>.key`, mode 0600; a copy of the folder without the KEK opens
nothing), and the device is enrolled through the administrative log like a laptop's, so
`audit verify` accounts for every batch it signed. Its id is `office-<worker>-<random>`:
two server processes that make one at the same moment each keep the one whose file was
written first, and a folder whose file was lost makes a new device, never a second key
under an id the log already knows.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from pathlib import Path

from core.errors import ConfigurationError, DecryptionError
from core.files import private_files
from core.keys import DeviceKeys, KeyEncryptionKey
from core.log import CaseLog

FOLDER = "staff-devices"
PREFIX = "office-"


class StaffDevice:
    """One worker's office device: its id and its keys."""

    def __init__(self, device_id: str, keys: DeviceKeys) -> None:
        self.device_id = device_id
        self.keys = keys


class StaffDevices:
    """The office devices of the staff of one data folder, made on first use."""

    def __init__(self, folder: Path, kek: KeyEncryptionKey, log: CaseLog) -> None:
        self.folder = folder
        self.kek = kek
        self.log = log
        self._known: dict[str, StaffDevice] = {}
        self._lock = threading.Lock()

    def of(self, worker: str) -> StaffDevice:
        """The worker's office device, enrolled in the log; made and enrolled when new."""
        with self._lock:
            found = self._known.get(worker)
            if found is None:
                found = self._known[worker] = self._load_or_make(worker)
            if self.log.device(found.device_id) is None:  # made, but the enrollment was lost
                self.log.register_device(
                    found.device_id, worker, found.keys.signing_public, found.keys.agreement_public
                )
            return found

    def _file(self, worker: str) -> Path:
        return self.folder / FOLDER / f"{worker}.key"

    def _load_or_make(self, worker: str) -> StaffDevice:
        path = self._file(worker)
        if not path.exists():
            device_id = f"{PREFIX}{worker}-{secrets.token_hex(4)}"
            sealed = self.kek.seal_secret(_label(device_id, worker), DeviceKeys.generate().private_bytes())
            with private_files():
                path.parent.mkdir(mode=0o700, exist_ok=True)
                draft = path.with_name(f".{device_id}.draft")
                fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(f"{device_id}\n{sealed.hex()}\n")
                    f.flush()
                    os.fsync(f.fileno())
                try:  # whole or not at all; another process that made one first keeps theirs
                    with contextlib.suppress(FileExistsError):
                        os.link(draft, path)
                finally:
                    draft.unlink()
        return self._read(worker, path)

    def _read(self, worker: str, path: Path) -> StaffDevice:
        try:
            device_id, sealed = path.read_text().split()
            keys = DeviceKeys.from_private_bytes(self.kek.open_secret(_label(device_id, worker), bytes.fromhex(sealed)))
        except (OSError, ValueError, DecryptionError) as exc:
            raise ConfigurationError(
                f"the office device file of worker {worker} ({path}) cannot be read under this key-encryption key"
            ) from exc
        return StaffDevice(device_id, keys)


def _label(device_id: str, worker: str) -> bytes:
    return f"staff-device\x00{device_id}\x00{worker}".encode()
