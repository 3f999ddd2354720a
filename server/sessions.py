"""The staff pages' sessions: a session lives no longer than the token it was opened with.

A worker signs in to the pages with a staff token; the session that answers (`Sessions`)
keeps the token's SHA-256 digest and its expiry, never the token. A session ends at
whichever comes first: `SESSION_SECONDS` after sign-in, sign-out, the very second its
token expires, or its token revoked or its worker disabled anywhere. The last is heard
through the accounts generation (`core.generations`): every revocation or disabling bumps
it, in whichever process or command it was made, and before this process answers its next
request `server.freshness` calls `end_revoked`, which drops each session whose token no
longer holds. A page request itself asks the database nothing about its session.

Sessions live in process memory only and are lost on restart. The key of the forms'
tokens (sign-in and sign-out, against login CSRF) lives here too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from server.context import ServerContext
from server.store import Principal

SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in worker, the digest of the token they signed in with, and the two ends:
    the session's own (monotonic seconds) and the token's expiry (Unix seconds)."""

    who: Principal
    token_hash: str
    ends: float
    token_expires: float


class Sessions:
    """Browser sessions in memory, by session id, and the key of the forms' tokens."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._form_key = secrets.token_bytes(32)
        self.clock = clock

    def form_token(self, purpose: str, binding: str) -> str:
        """The token a form for `purpose` (sign-in, sign-out) carries, bound to `binding`
        (the pre-session cookie, or the session id); "" when there is nothing to bind to."""
        if not binding:
            return ""
        mac = hmac.new(self._form_key, f"{purpose}\x00{binding}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def form_token_holds(self, purpose: str, binding: str, token: str) -> bool:
        """Whether `token` is the form token of `purpose` for `binding`."""
        expected = self.form_token(purpose, binding)
        return bool(expected) and hmac.compare_digest(expected, token)

    def start(self, who: Principal, token_hash: str, token_expires: float) -> str:
        """A new session id for `who`, signed in with the token of `token_hash`."""
        sid = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            self._sessions = {k: v for k, v in self._sessions.items() if v.ends > now}
            self._sessions[sid] = Session(who, token_hash, now + SESSION_SECONDS, token_expires)
        return sid

    def principal(self, sid: str, now: float) -> Principal | None:
        """The worker of a live session; None when there is none, or it or its token
        ended by `now` (Unix seconds)."""
        with self._lock:
            found = self._sessions.get(sid)
            if found is not None and (found.ends <= self.clock() or found.token_expires <= now):
                del self._sessions[sid]
                found = None
        return None if found is None else found.who

    def end(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def end_where(self, gone: Callable[[str], bool]) -> int:
        """End every session whose token `gone` says no longer holds; how many ended.
        `gone` may ask the database, so it runs outside the lock."""
        with self._lock:
            hashes = {s.token_hash for s in self._sessions.values()}
        dead = {h for h in hashes if gone(h)}
        with self._lock:
            ended = [sid for sid, s in self._sessions.items() if s.token_hash in dead]
            for sid in ended:
                del self._sessions[sid]
        return len(ended)


def sessions(ctx: ServerContext) -> Sessions:
    """The process's page sessions, made on first use."""
    found = ctx.extras.get("sessions")
    if not isinstance(found, Sessions):
        found = ctx.extras["sessions"] = Sessions()
    return found


def end_revoked(ctx: ServerContext) -> None:
    """End every page session whose token was revoked, expired, or whose worker was
    disabled: called when the accounts generation moved."""
    sessions(ctx).end_where(lambda token_hash: ctx.store.holder(token_hash) is None)
