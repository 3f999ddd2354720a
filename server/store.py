"""The administration store: departments, workers, tokens, enrollment codes and nonces.

It lives in the log's database (tables prefixed ``admin_``) so a server instance needs
one connection string. Tokens and enrollment codes are stored only as SHA-256 digests of
random values: a copy of the database lets no one act as a worker. Devices themselves
are the log's (`CaseLog.register_device`), since `audit verify` needs their keys. Every
change of departments and workers is committed with its event in the administrative log
(`CaseLog.record_admin`, `core.adminlog`), which `audit verify` holds the rows against.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from core.adminlog import change
from core.departments import DEFAULT_DEPARTMENTS, Department, Directory, check_department_id, check_legal_areas
from core.errors import InvalidInput
from core.events import ROLES
from core.generations import ACCOUNTS, DEPARTMENTS
from core.log import CaseLog
from server.errors import Conflict, NotFound

WORKER_ROLES = tuple(r for r in ROLES if r != "server")
ADMIN = "admin"


@dataclass(frozen=True)
class WorkerRecord:
    id: str
    department: str
    role: str


@dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for: a worker, or the first administrator."""

    subject: str
    department: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def new_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def check_worker_id(worker_id: str) -> str:
    if (
        not isinstance(worker_id, str)
        or not (1 <= len(worker_id) <= 64)
        or not all(c.isalnum() or c in "-_." for c in worker_id)
    ):
        raise InvalidInput("a worker id is 1 to 64 letters, digits, '-', '_' or '.'")
    return worker_id


DIRECTORY_TTL = 5.0  # seconds the departments are trusted without asking the database


class AdminStore:
    """Reads and writes the administration tables."""

    def __init__(self, log: CaseLog, token_lifetime: int = 12 * 3600) -> None:
        self.log = log
        self.token_lifetime = token_lifetime  # seconds a staff or admin token is valid
        self.wallclock: Callable[[], float] = time.time
        q, self.p = log.tables.q, log.tables.p
        self.t_departments = f"{q}admin_departments"
        self.t_workers = f"{q}admin_workers"
        self.t_tokens = f"{q}admin_tokens"
        self.t_codes = f"{q}admin_enrollment_codes"
        self.t_nonces = f"{q}admin_request_nonces"
        self.t_disabled = f"{q}admin_disabled_workers"
        self._lock = threading.Lock()
        self._directory: tuple[float, Directory] | None = None  # (when loaded, directory)
        self.clock: Callable[[], float] = time.monotonic
        self._purged = 0.0
        for statement in (
            f"CREATE TABLE IF NOT EXISTS {self.t_departments} "
            "(id TEXT PRIMARY KEY, name TEXT NOT NULL, authority INTEGER NOT NULL, "
            "legal_areas TEXT NOT NULL, disability_model INTEGER NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.t_workers} "
            "(id TEXT PRIMARY KEY, department TEXT NOT NULL, role TEXT NOT NULL, "
            "created_at BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.t_tokens} (token_hash TEXT PRIMARY KEY, "
            "subject TEXT NOT NULL, created_at BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.t_codes} "
            "(code_hash TEXT PRIMARY KEY, worker TEXT NOT NULL, expires_at BIGINT NOT NULL, "
            "used_at BIGINT)",
            # Replaced by the table below, which keeps each nonce's signature as well.
            f"DROP TABLE IF EXISTS {q}admin_nonces",
            f"CREATE TABLE IF NOT EXISTS {self.t_nonces} "
            "(device_id TEXT NOT NULL, nonce TEXT NOT NULL, signature TEXT NOT NULL, seen_at BIGINT NOT NULL, "
            "PRIMARY KEY (device_id, nonce))",
            f"CREATE TABLE IF NOT EXISTS {self.t_disabled} (id TEXT PRIMARY KEY, disabled_at BIGINT NOT NULL)",
        ):
            self._run(statement, commit=True)

    def _run(
        self, sql: str, params: tuple[object, ...] | list[object] = (), *, commit: bool = False
    ) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self.log.recorder.run(sql, params, commit=commit)
        return rows

    # -- departments -----------------------------------------------------------------------
    def add_department(self, dept: Department) -> None:
        """Add a department, with its part of the delegation plan (its legal areas)."""
        check_department_id(dept.id)
        if not dept.name.strip():
            raise InvalidInput("a department needs a name")
        dept = dept.replace(legal_areas=check_legal_areas(dept.legal_areas))
        p = self.p
        with self._lock:
            if self._run(f"SELECT 1 FROM {self.t_departments} WHERE id={p}", (dept.id,)):
                raise Conflict(f"department {dept.id} already exists")
            self.directory(fresh=True).with_department(dept)
            row = (
                dept.id,
                dept.name,
                int(dept.authority),
                json.dumps(list(dept.legal_areas)),
                int(dept.disability_model),
            )
            self.log.record_admin(
                change("department.added", department=dept.id, authority=dept.authority),
                [
                    (f"INSERT INTO {self.t_departments} VALUES ({p},{p},{p},{p},{p})", row),
                    (self.log.tables.bump(), (DEPARTMENTS,)),
                ],
            )
            self._directory = None

    def set_plan(self, department_id: str, legal_areas: tuple[str, ...], disability_model: bool | None) -> Department:
        """Change a department's part of the delegation plan: the legal areas it decides
        in and, when given, whether it works in the disability model. An administrative
        event (`plan.changed`), committed with the row and, as adding a department, the
        departments' generation that every process and every laptop's next pull follows.
        NotFound for an unknown department; InvalidInput when an area is another's."""
        areas = check_legal_areas(legal_areas)
        p = self.p
        with self._lock:
            current = self.directory(fresh=True).departments.get(department_id)
            if current is None:
                raise NotFound(f"no department {department_id}")
            model = current.disability_model if disability_model is None else disability_model
            changed = current.replace(legal_areas=areas, disability_model=model)
            self.directory(fresh=True).with_department(changed)
            self.log.record_admin(
                change("plan.changed", department=department_id, legal_areas=list(areas), disability_model=model),
                [
                    (
                        f"UPDATE {self.t_departments} SET legal_areas={p}, disability_model={p} WHERE id={p}",
                        (json.dumps(list(areas)), int(model), department_id),
                    ),
                    (self.log.tables.bump(), (DEPARTMENTS,)),
                ],
            )
            self._directory = None
        return changed

    def forget_directory(self) -> None:
        """Drop the directory from memory: the next look-up reads the departments afresh."""
        self._directory = None

    def add_default_departments(self, departments: Iterable[Department] = DEFAULT_DEPARTMENTS) -> None:
        """Add the departments of a delegation plan (the default one unless told) not yet here."""
        for dept in departments:
            if dept.id not in self.directory():
                self.add_department(dept)

    def departments(self) -> list[Department]:
        rows = self._run(
            f"SELECT id, name, authority, legal_areas, disability_model FROM {self.t_departments} ORDER BY id"
        )
        return [Department(r[0], r[1], bool(r[2]), tuple(json.loads(r[3])), bool(r[4])) for r in rows]

    def loaded_directory(self) -> Directory | None:
        """The directory when it is in memory and fresh; None when `directory` would query."""
        loaded = self._directory
        if loaded is None or self.clock() - loaded[0] >= DIRECTORY_TTL:
            return None
        return loaded[1]

    def directory(self, *, fresh: bool = False) -> Directory:
        """The municipality's departments as the rules consult them.

        Kept in memory for `DIRECTORY_TTL` seconds: a department added through this
        process is known at once, one added by another process (an administrator's
        command on the data folder, another server instance) within that time, and at
        once where it is named by an administrator (``fresh=True``).
        """
        found = None if fresh else self.loaded_directory()
        if found is None:
            found = Directory.of(self.departments())
            self._directory = (self.clock(), found)
        return found

    # -- workers and tokens ------------------------------------------------------------------
    def add_worker(self, worker_id: str, department: str, role: str) -> str:
        """Create a worker; returns their staff token (shown once, stored hashed)."""
        check_worker_id(worker_id)
        if role not in WORKER_ROLES:
            raise InvalidInput(f"a worker's role is one of {', '.join(WORKER_ROLES)}")
        if department not in self.directory(fresh=True):
            raise InvalidInput(f"unknown department {department!r}; add it first")
        p = self.p
        with self._lock:
            if worker_id == ADMIN or self._run(f"SELECT 1 FROM {self.t_workers} WHERE id={p}", (worker_id,)):
                raise Conflict(f"worker {worker_id} already exists")
            self.log.record_admin(
                change("worker.added", worker=worker_id, department=department, role=role),
                [
                    (
                        f"INSERT INTO {self.t_workers} VALUES ({p},{p},{p},{p})",
                        (worker_id, department, role, int(time.time())),
                    )
                ],
            )
        return self.issue_token(worker_id)

    def change_worker(self, worker_id: str, *, department: str | None = None, role: str | None = None) -> WorkerRecord:
        """Move a worker to another department or give them another role, in every server
        process before its next request; NotFound for an unknown worker, InvalidInput for
        an unknown role or department."""
        record = self.worker(worker_id)
        if record is None:
            raise NotFound(f"no worker {worker_id}")
        changed = WorkerRecord(worker_id, department or record.department, role or record.role)
        if changed.role not in WORKER_ROLES:
            raise InvalidInput(f"a worker's role is one of {', '.join(WORKER_ROLES)}")
        if changed.department not in self.directory(fresh=True):
            raise InvalidInput(f"unknown department {changed.department!r}; add it first")
        p = self.p
        self.log.record_admin(
            change("worker.changed", worker=worker_id, department=changed.department, role=changed.role),
            [
                (
                    f"UPDATE {self.t_workers} SET department={p}, role={p} WHERE id={p}",
                    (changed.department, changed.role, worker_id),
                ),
                (self.log.tables.bump(), (ACCOUNTS,)),
            ],
        )
        return changed

    def worker(self, worker_id: str) -> WorkerRecord | None:
        rows = self._run(f"SELECT id, department, role FROM {self.t_workers} WHERE id={self.p}", (worker_id,))
        return WorkerRecord(*rows[0]) if rows else None

    def disabled_workers(self) -> set[str]:
        """The ids of every disabled worker."""
        return {r[0] for r in self._run(f"SELECT id FROM {self.t_disabled}")}

    def workers(self) -> list[WorkerRecord]:
        return [WorkerRecord(*r) for r in self._run(f"SELECT id, department, role FROM {self.t_workers} ORDER BY id")]

    def issue_token(self, subject: str) -> str:
        """A fresh token of a worker (or of ``admin``), valid for `token_lifetime` seconds;
        shown once, stored hashed."""
        token = new_token()
        self._run(
            f"INSERT INTO {self.t_tokens} VALUES ({self.p},{self.p},{self.p})",
            (digest(token), subject, int(self.wallclock())),
            commit=True,
        )
        return token

    def principal(self, token: str) -> Principal | None:
        """Who a bearer token belongs to; None when it is unknown, revoked, older than
        `token_lifetime` seconds, or its worker was disabled."""
        held = self.holder(digest(token))
        return None if held is None else held[0]

    def holder(self, token_hash: str) -> tuple[Principal, float] | None:
        """Who holds the token of this SHA-256 digest and when it expires (Unix seconds);
        None when it is unknown, revoked, expired, or its worker was disabled."""
        rows = self._run(f"SELECT subject, created_at FROM {self.t_tokens} WHERE token_hash={self.p}", (token_hash,))
        if not rows:
            return None
        subject, created_at = rows[0]
        expires = float(int(created_at) + self.token_lifetime)
        if expires <= self.wallclock():
            return None
        if subject == ADMIN:
            return Principal(ADMIN, "", ADMIN), expires
        w = self.worker(subject)
        return (Principal(w.id, w.department, w.role), expires) if w and not self.disabled(w.id) else None

    def revoke_tokens(self, subject: str) -> int:
        """Revoke every token of a worker (or of ``admin``), in every server process before
        its next request; how many there were. NotFound for an unknown worker."""
        if subject != ADMIN and self.worker(subject) is None:
            raise NotFound(f"no worker {subject}")
        p = self.p
        count = len(self._run(f"SELECT 1 FROM {self.t_tokens} WHERE subject={p}", (subject,)))
        self.log.recorder.commit_writes(
            [
                (f"DELETE FROM {self.t_tokens} WHERE subject={p}", (subject,)),
                (self.log.tables.bump(), (ACCOUNTS,)),
            ]
        )
        return count

    def disable_worker(self, worker_id: str) -> bool:
        """Disable a worker who left: their tokens are revoked and their laptops refused,
        in every server process before its next request. False when already disabled;
        NotFound for an unknown worker."""
        if self.worker(worker_id) is None:
            raise NotFound(f"no worker {worker_id}")
        if self.disabled(worker_id):
            return False
        p = self.p
        self.log.record_admin(
            change("worker.disabled", worker=worker_id),
            [
                (
                    f"INSERT INTO {self.t_disabled} VALUES ({p},{p}) ON CONFLICT (id) DO NOTHING",
                    (worker_id, int(self.wallclock())),
                ),
                (f"DELETE FROM {self.t_tokens} WHERE subject={p}", (worker_id,)),
                (self.log.tables.bump(), (ACCOUNTS,)),
            ],
        )
        return True

    def active_department(self, worker_id: str) -> str | None:
        """The department of a worker who may hold cases; None for an unknown or disabled one."""
        record = self.worker(worker_id)
        return None if record is None or self.disabled(worker_id) else record.department

    def disabled(self, worker_id: str) -> bool:
        """Whether the worker was disabled."""
        return bool(self._run(f"SELECT 1 FROM {self.t_disabled} WHERE id={self.p}", (worker_id,)))

    # -- enrollment codes --------------------------------------------------------------------
    def enrollment_code(self, worker_id: str, ttl_seconds: int) -> tuple[str, int]:
        """A one-time code for enrolling a laptop of `worker_id`; (code, expiry in unix s)."""
        if self.worker(worker_id) is None:
            raise NotFound(f"worker {worker_id} does not exist")
        code = new_code()
        expires = int(time.time()) + ttl_seconds
        p = self.p
        self._run(
            f"INSERT INTO {self.t_codes} VALUES ({p},{p},{p},NULL)",
            (digest(code), worker_id, expires),
            commit=True,
        )
        return code, expires

    def redeem(self, code: str) -> WorkerRecord | None:
        """Use a code once; the worker it was made for, or None when unknown, used or expired.

        One conditional UPDATE marks the code used and names its worker: the database
        lets exactly one of any number of redemptions at once, by any server processes,
        find the code unused.
        """
        p = self.p
        now = int(time.time())
        h = digest(code.strip().upper())
        rows = self._run(
            f"UPDATE {self.t_codes} SET used_at={p} WHERE code_hash={p} AND used_at IS NULL "
            f"AND expires_at>={p} RETURNING worker",
            (now, h, now),
            commit=True,
        )
        return self.worker(rows[0][0]) if rows else None

    # -- replay protection -------------------------------------------------------------------
    def use_nonce(self, device_id: str, nonce: str, signature: bytes, now: int, keep_seconds: int) -> bool:
        """Remember a request's nonce with its signature; False when this device used the
        nonce before for another request.

        A copy of the same request (the same signature, so the same method, path, time,
        nonce and body), as a network that delivers a request twice makes, passes: it is
        answered again (`server.auth.verify_device`). The first use's row never changes,
        so processes racing on one nonce all compare against the same signature.
        """
        p = self.p
        with self._lock:
            if now - self._purged > 60:
                self._run(f"DELETE FROM {self.t_nonces} WHERE seen_at<{p}", (now - keep_seconds,), commit=True)
                self._purged = now
        signed = hashlib.sha256(signature).hexdigest()
        self._run(
            f"INSERT INTO {self.t_nonces} VALUES ({p},{p},{p},{p}) ON CONFLICT (device_id, nonce) DO NOTHING",
            (device_id, nonce, signed, now),
            commit=True,
        )
        rows = self._run(f"SELECT signature FROM {self.t_nonces} WHERE device_id={p} AND nonce={p}", (device_id, nonce))
        return not rows or rows[0][0] == signed
