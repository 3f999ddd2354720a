"""The server's state for one data folder: the log, its keys, the admin store, the services.

`init_data_dir` makes a data folder (config, key-encryption key, server device keys, tree
head key, database, default departments, first admin token); `ServerContext.open` loads
one. The folder is made mode 0700 and every file in it 0600 (the database's `-wal` and `-shm`
files too); opening refuses a folder or key file that its group or others may use.
`kek_beside_database` says when the key-encryption key is read from a file next to the
database it protects, where a copy of the folder opens every case.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import vocabularies
from core.adminlog import AdminSealer
from core.departments import DEFAULT_DEPARTMENTS, PLAN_FILE, plan_from_text, plan_text
from core.embedded import SQLITE_PREFIX, private_files
from core.errors import ConfigurationError
from core.keys import DeviceKeys, KeyEncryptionKey
from core.log import CaseLog
from core.storage import close_recorder, open_recorder, schema_lock
from server.accounts import adopt
from server.metrics import Metrics
from server.settings import CONFIG_FILE, Settings, load, write_config
from server.store import ADMIN, AdminStore
from server.syncing.caseload import Caseload
from server.syncing.push import PushService
from server.syncing.rotation import KeyRotation
from sync.protocol import SERVER_ID


def _write_secret(path: Path, data: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(data + "\n")


def check_private(path: Path, what: str) -> None:
    """ConfigurationError when `path` (the data folder or a key file) is open to its group
    or others; a missing file is left for the reader to report."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigurationError(f"cannot read the {what} at {path}: {exc.strerror}") from exc
    if mode & 0o077:
        private = "700" if path.is_dir() else "600"
        raise ConfigurationError(
            f"the {what} {path} is open to its group or others (mode {mode:04o}); "
            f"make it private with `chmod {private} {path}`"
        )


def _head_key(path: Path) -> Ed25519PrivateKey:
    """The key that signs tree heads, made (mode 0600) when the folder has none yet: a
    data folder from before signed heads gains one on its first start."""
    if not path.exists():
        with private_files(), contextlib.suppress(FileExistsError):  # another process made it first
            _write_secret(path, Ed25519PrivateKey.generate().private_bytes_raw().hex())
    check_private(path, "tree head key file")
    try:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(read_secret(path, "tree head key")))
    except ValueError as exc:
        raise ConfigurationError("the tree head key file is not 64 hexadecimal digits") from exc


def kek_beside_database(settings: Settings, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the key-encryption key is read from a file in the folder of the SQLite
    database it protects: whoever copies that folder can then read every case."""
    env = os.environ if environ is None else environ
    if env.get("TOVHOLDER_KEK") or not settings.database_url.startswith(SQLITE_PREFIX):
        return False
    database = Path(unquote(settings.database_url[len(SQLITE_PREFIX) :])).resolve()
    return settings.path(settings.kek_file).resolve().parent == database.parent


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
    rotation: KeyRotation
    server_keys: DeviceKeys
    ca_pem: str | None
    head_key: Ed25519PrivateKey
    metrics: Metrics = field(default_factory=Metrics)
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, data_dir: Path | str, environ: dict[str, str] | None = None) -> ServerContext:
        """Open a data folder; ConfigurationError when it is incomplete, or when the folder
        or a key file read from disk is open to its group or others."""
        settings = load(data_dir, environ)
        env = os.environ if environ is None else environ
        check_private(settings.data_dir, "data folder")
        kek_text = env.get("TOVHOLDER_KEK")
        if not kek_text:
            check_private(settings.path(settings.kek_file), "key-encryption key file")
            kek_text = read_secret(settings.path(settings.kek_file), "key-encryption key")
        kek = KeyEncryptionKey.from_text(kek_text)
        server_key_file = settings.path(settings.server_key_file)
        check_private(server_key_file, "server key file")
        try:
            server_keys = DeviceKeys.from_private_bytes(bytes.fromhex(read_secret(server_key_file, "server key")))
        except ValueError as exc:
            raise ConfigurationError("the server key file is not 128 hexadecimal digits") from exc
        head_key = _head_key(settings.path(settings.head_key_file))
        # Processes starting at once on one fresh PostgreSQL take turns creating the tables.
        with schema_lock(settings.database_url):
            log = CaseLog(open_recorder(settings.database_url), kek)
            # A log from before the Merkle tree gains it here, in one pass; afterwards a no-op.
            log.recorder.grow_tree_from_log()
            store = AdminStore(log, settings.token_lifetime_seconds)
            log.admin = AdminSealer(server_keys.signing)
            adopt(log, store)  # a folder from before the administrative log: its rows as found
            if log.device(SERVER_ID) is None:
                log.register_device(SERVER_ID, SERVER_ID, server_keys.signing_public, server_keys.agreement_public)
        ca_file = settings.ca_cert or settings.cert
        ca_pem = read_secret(settings.path(ca_file), "CA certificate") if ca_file else None
        caseload = Caseload(log, settings.cache_bytes("caseload"))
        rotation = KeyRotation(log, caseload, store.active_department)
        return cls(
            settings=settings,
            log=log,
            store=store,
            caseload=caseload,
            push=PushService(
                log,
                store.directory,
                server_keys,
                cache_bytes=settings.cache_bytes("push"),
                caseload=caseload,
                rotation=rotation,
            ),
            rotation=rotation,
            server_keys=server_keys,
            ca_pem=ca_pem,
            head_key=head_key,
        )

    def close(self) -> None:
        # Services kept in `extras` (the access log's writer) flush before the database closes.
        for extra in self.extras.values():
            closer = getattr(extra, "close", None)
            if callable(closer):
                closer()
        close_recorder(self.log.recorder)


def init_data_dir(data_dir: Path | str, database_url: str | None = None, plan: Path | None = None) -> tuple[Path, str]:
    """Create a server data folder with the delegation plan it starts from (`plan`, a
    file in the format of `core.departments.plan_text`, or the default) written into it
    as `delegation-plan.json`; returns (folder, first admin token)."""
    departments = plan_from_text(plan.read_text(encoding="utf-8")) if plan else DEFAULT_DEPARTMENTS
    path = Path(data_dir).resolve()
    if (path / CONFIG_FILE).exists():
        raise ConfigurationError(f"{path} is already a server data folder")
    if path.exists() and any(path.iterdir()):
        raise ConfigurationError(f"{path} exists and is not empty; choose a new folder")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    values: dict[str, Any] = {"database_url": database_url} if database_url else {}
    with private_files():
        write_config(path, values)
        (path / PLAN_FILE).write_text(plan_text(departments), encoding="utf-8")
        vocabularies.write_default(path)
        _write_secret(path / "kek.key", KeyEncryptionKey.generate().to_text())
        _write_secret(path / "server.key", DeviceKeys.generate().private_bytes().hex())
        _write_secret(path / "head.key", Ed25519PrivateKey.generate().private_bytes_raw().hex())
        ctx = ServerContext.open(path, {})
        try:
            ctx.store.add_default_departments(departments)
            token = ctx.store.issue_token(ADMIN)
        finally:
            ctx.close()
    # Whatever was made here (the database, its -wal and -shm while they exist) is private.
    for file in path.iterdir():
        if file.is_file():
            os.chmod(file, 0o600)
    return path, token
