"""The server's state for one data folder: the log, its keys, the admin store, the services.

`init_data_dir` makes a data folder (config, key-encryption key, server device keys,
database, default departments, first admin token); `ServerContext.open` loads one. The
key files are written with mode 0600 and read with the process's own rights only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError
from core.keys import DeviceKeys, KeyEncryptionKey
from core.log import CaseLog
from core.storage import close_recorder, open_recorder
from server.metrics import Metrics
from server.settings import CONFIG_FILE, Settings, load, write_config
from server.store import ADMIN, AdminStore
from server.syncing.caseload import Caseload
from server.syncing.push import PushService
from sync.protocol import SERVER_ID


def _write_secret(path: Path, data: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(data + "\n")


def read_secret(path: Path, what: str) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the {what} at {path}: {exc.strerror}") from exc


@dataclass
class ServerContext:
    """Everything a request handler needs, opened once per process."""

    settings: Settings
    log: CaseLog
    store: AdminStore
    caseload: Caseload
    push: PushService
    server_keys: DeviceKeys
    ca_pem: str | None
    metrics: Metrics = field(default_factory=Metrics)
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, data_dir: Path | str, environ: dict[str, str] | None = None) -> ServerContext:
        """Open a data folder; ConfigurationError when it is incomplete."""
        settings = load(data_dir, environ)
        env = os.environ if environ is None else environ
        kek_text = env.get("TOVHOLDER_KEK") or read_secret(settings.path(settings.kek_file), "key-encryption key")
        kek = KeyEncryptionKey.from_text(kek_text)
        try:
            server_keys = DeviceKeys.from_private_bytes(
                bytes.fromhex(read_secret(settings.path(settings.server_key_file), "server key"))
            )
        except ValueError as exc:
            raise ConfigurationError("the server key file is not 128 hexadecimal digits") from exc
        log = CaseLog(open_recorder(settings.database_url), kek)
        store = AdminStore(log)
        if log.device(SERVER_ID) is None:
            log.register_device(SERVER_ID, SERVER_ID, server_keys.signing_public, server_keys.agreement_public)
        ca_file = settings.ca_cert or settings.cert
        ca_pem = read_secret(settings.path(ca_file), "CA certificate") if ca_file else None
        return cls(
            settings=settings,
            log=log,
            store=store,
            caseload=Caseload(log),
            push=PushService(log, store.directory, server_keys),
            server_keys=server_keys,
            ca_pem=ca_pem,
        )

    def close(self) -> None:
        # Services kept in `extras` (the access log's writer) flush before the database closes.
        for extra in self.extras.values():
            closer = getattr(extra, "close", None)
            if callable(closer):
                closer()
        close_recorder(self.log.recorder)


def init_data_dir(data_dir: Path | str, database_url: str | None = None) -> tuple[Path, str]:
    """Create a server data folder; returns (folder, first admin token)."""
    path = Path(data_dir).resolve()
    if (path / CONFIG_FILE).exists():
        raise ConfigurationError(f"{path} is already a server data folder")
    if path.exists() and any(path.iterdir()):
        raise ConfigurationError(f"{path} exists and is not empty; choose a new folder")
    path.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {"database_url": database_url} if database_url else {}
    write_config(path, values)
    _write_secret(path / "kek.key", KeyEncryptionKey.generate().to_text())
    _write_secret(path / "server.key", DeviceKeys.generate().private_bytes().hex())
    ctx = ServerContext.open(path, {})
    try:
        ctx.store.add_default_departments()
        token = ctx.store.issue_token(ADMIN)
    finally:
        ctx.close()
    return path, token
