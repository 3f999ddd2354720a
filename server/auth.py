"""Who is asking: devices sign every sync request, people carry a bearer token.

A device signs each request with its Ed25519 key. The headers are

    X-Tovholder-Device     the device id given at enrollment
    X-Tovholder-Time       the request time, whole seconds since the Unix epoch
    X-Tovholder-Nonce      a fresh random string (at most 64 characters)
    X-Tovholder-Signature  base64 Ed25519 signature over the request's canonical form
                           (`sync.signature.signed_message`, shared with the laptop)

A missing header, a time more than `clock_skew_seconds` away, a nonce too long, an
unknown or revoked device is refused with 401 from the headers alone, before the body is
read (`check_device_headers`); only then is the body read, within its size limit and
`BODY_SECONDS`, and the signature over it verified and the nonce used (`verify_device`):
a signature that does not verify or a nonce the device used before for another request
is refused with 401 too. A copy of a request (the same signature), as a network that
delivers a request twice makes, is answered again, so a duplicate never stops a sync.
Staff and administrators send ``Authorization: Bearer TOKEN``.

A known token's principal is remembered in process memory for `TOKEN_TTL` seconds
(`TokenCache`, keyed by the token's SHA-256), so a department's reads do not each
query the token and worker tables. An unknown token is never remembered, so a new one
works at once; every change made through this process's admin routes empties the cache
(`forget_tokens`), and so does a token revoked or a worker disabled by any other process
on the database, before this process's next request (`server.freshness`). The cache keeps
each token's expiry beside its principal, so a token is refused from the very second its
lifetime ends, remembered or not. A worker disabled has their laptops refused too
(`check_device_headers`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.requests import Request

from core.errors import InvalidInput
from core.log import Device
from server.context import ServerContext
from server.errors import Forbidden, PayloadTooLarge, RequestTimeout, Unauthorized
from server.store import Principal, WorkerRecord, digest
from sync.signature import DEVICE_HEADER, MAX_NONCE, NONCE_HEADER, SIGNATURE_HEADER, TIME_HEADER, signed_message

DEVICE = DEVICE_HEADER.lower()
TIME = TIME_HEADER.lower()
NONCE = NONCE_HEADER.lower()
SIGNATURE = SIGNATURE_HEADER.lower()


@dataclass(frozen=True)
class DeviceClaim:
    """A device request whose headers passed every check that needs no body: the
    device is enrolled and not revoked, its worker exists, the time is within the
    allowed skew and the nonce has a valid form. Only the signature, which covers the
    body's hash, and the nonce's first use remain (`verify_device`)."""

    device: Device
    worker: WorkerRecord
    method: str
    path: str
    stamp: str
    nonce: str
    signature: bytes
    now: int


def check_device_headers(
    ctx: ServerContext,
    method: str,
    path: str,
    headers: Mapping[str, str],
    now: float | None = None,
) -> DeviceClaim:
    """The claim of a signed device request from its headers alone; Unauthorized when the
    headers already fail, so the body of a stranger is never read."""
    device_id = headers.get(DEVICE)
    stamp = headers.get(TIME)
    nonce = headers.get(NONCE)
    signature = headers.get(SIGNATURE)
    if not (device_id and stamp and nonce and signature):
        raise Unauthorized(
            "a sync request is signed by its device: send X-Tovholder-Device, X-Tovholder-Time, "
            "X-Tovholder-Nonce and X-Tovholder-Signature"
        )
    current = int(time.time() if now is None else now)
    try:
        moment = int(stamp)
    except ValueError:
        raise Unauthorized("X-Tovholder-Time must be whole seconds since the Unix epoch") from None
    skew = ctx.settings.clock_skew_seconds
    if abs(current - moment) > skew:
        raise Unauthorized(
            f"the request time is more than {skew} seconds away from the server's clock; check the laptop's clock"
        )
    if len(nonce) > MAX_NONCE:
        raise Unauthorized(f"X-Tovholder-Nonce is at most {MAX_NONCE} characters")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        raise Unauthorized(f"the request signature does not verify for device {device_id}") from None
    device = ctx.log.device(device_id)
    if device is None:
        raise Unauthorized(f"device {device_id} is not enrolled")
    if device.revoked_at is not None:
        raise Unauthorized(f"device {device_id} was revoked; enroll the laptop again")
    worker = ctx.store.worker(device.worker)
    if worker is None:
        raise Unauthorized(f"the worker of device {device_id} no longer exists")
    if ctx.store.disabled(worker.id):
        raise Unauthorized(f"the worker of device {device_id} was disabled")
    return DeviceClaim(device, worker, method, path, stamp, nonce, raw_signature, current)


def verify_device(ctx: ServerContext, claim: DeviceClaim, body: bytes) -> tuple[Device, WorkerRecord]:
    """The device (and its worker) once its signature over `body` verifies and its nonce
    is fresh; Unauthorized otherwise."""
    device_id = claim.device.device_id
    try:
        Ed25519PublicKey.from_public_bytes(claim.device.signing_key).verify(
            claim.signature, signed_message(claim.method, claim.path, claim.stamp, claim.nonce, body)
        )
    except (InvalidSignature, ValueError):
        raise Unauthorized(f"the request signature does not verify for device {device_id}") from None
    # The nonce is remembered only for a valid signature, so no one can burn another's.
    # A copy of a request already answered (a network that delivered it twice) is
    # answered again: a push is idempotent on its batch and event ids, a pull is a read
    # whose answer only the device can open. Only the same nonce with another request
    # is refused; the laptop never reuses one, and signs every retry afresh.
    skew = ctx.settings.clock_skew_seconds
    if not ctx.store.use_nonce(device_id, claim.nonce, claim.signature, claim.now, 2 * skew + 60):
        raise Unauthorized("this nonce was used before for another request; every request needs a fresh nonce")
    return claim.device, claim.worker


def authenticate_device(
    ctx: ServerContext,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
) -> tuple[Device, WorkerRecord]:
    """The enrolled device (and its worker) that signed this request; Unauthorized if none.

    `check_device_headers` then `verify_device`; an endpoint that reads a large body
    calls them apart, the first before reading it."""
    return verify_device(ctx, check_device_headers(ctx, method, path, headers, now), body)


TOKEN_TTL = 5.0  # seconds a known token's principal is trusted without asking the database


class TokenCache:
    """Principals of known bearer tokens, by the token's SHA-256, each for `ttl` seconds
    and never past the token's own expiry."""

    def __init__(self, ttl: float = TOKEN_TTL, size: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._known: OrderedDict[str, tuple[float, Principal, float]] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by `clear`: a look-up that began before a change is not remembered after it.
        self.generation = 0

    def get(self, key: str, now: float) -> Principal | None:
        """The remembered principal, or None when unknown, older than `ttl`, or its token
        expired by `now` (Unix seconds)."""
        with self._lock:
            found = self._known.get(key)
            if found is None:
                return None
            if self.clock() - found[0] >= self.ttl or found[2] <= now:
                del self._known[key]
                return None
            return found[1]

    def put(self, key: str, who: Principal, expires: float, generation: int) -> None:
        """Remember `who` until its token `expires` (Unix seconds), unless the cache was
        cleared since `generation` was read."""
        with self._lock:
            if generation != self.generation:
                return
            self._known[key] = (self.clock(), who, expires)
            self._known.move_to_end(key)
            while len(self._known) > self.size:
                self._known.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._known.clear()


def token_cache(ctx: ServerContext) -> TokenCache:
    """The process's token cache, made on first use."""
    found = ctx.extras.get("tokens")
    if not isinstance(found, TokenCache):
        found = ctx.extras["tokens"] = TokenCache()
    return found


def forget_tokens(ctx: ServerContext) -> None:
    """Forget every remembered token: call after any change to workers or tokens."""
    token_cache(ctx).clear()


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header; None without one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def remembered_principal(ctx: ServerContext, request: Request) -> Principal | None:
    """The principal of a token this process knows from the last `TOKEN_TTL` seconds,
    without asking the database; None otherwise (`principal` then decides)."""
    token = bearer_token(request)
    return None if token is None else token_cache(ctx).get(digest(token), ctx.store.wallclock())


def principal(ctx: ServerContext, request: Request) -> Principal:
    """The worker or administrator behind a bearer token; Unauthorized when there is none."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("send a staff or admin token as 'Authorization: Bearer TOKEN'")
    cache = token_cache(ctx)
    key = digest(token)
    who = cache.get(key, ctx.store.wallclock())
    if who is None:
        generation = cache.generation
        held = ctx.store.holder(key)
        if held is None:
            raise Unauthorized("the token is not valid")
        who, expires = held
        cache.put(key, who, expires, generation)
    return who


def admin(ctx: ServerContext, request: Request) -> Principal:
    """The administrator behind a bearer token; Forbidden for anyone else."""
    who = principal(ctx, request)
    if not who.is_admin:
        raise Forbidden("this needs an administrator's token")
    return who


BODY_SECONDS = 30.0  # a whole request body must arrive within this many seconds


async def read_body(request: Request, limit: int, timeout: float = BODY_SECONDS) -> bytes:
    """The request body, refused with 413 as soon as it grows beyond `limit` bytes and
    with 408 when it has not arrived whole within `timeout` seconds: a sender that
    trickles its body cannot hold the server's memory for long."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        chunks.clear()
        raise RequestTimeout(f"the request body did not arrive within {timeout:g} seconds") from None
    return b"".join(chunks)


def parse_json(body: bytes) -> dict[str, Any]:
    """A JSON object from a request body; InvalidInput (400) otherwise."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("the request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidInput("the request body must be a JSON object")
    return payload
