"""Who is asking: devices sign every sync request, people carry a bearer token.

A device signs each request with its Ed25519 key. The headers are

    X-Tovholder-Device     the device id given at enrollment
    X-Tovholder-Time       the request time, whole seconds since the Unix epoch
    X-Tovholder-Nonce      a fresh random string (at most 64 characters)
    X-Tovholder-Signature  base64 Ed25519 signature over
                           METHOD \\n PATH \\n TIME \\n NONCE \\n hex SHA-256 of the body

A time more than `clock_skew_seconds` away, a nonce the device used before, an unknown
or revoked device or a signature that does not verify is refused with 401 before the
body is looked at. Staff and administrators send ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.requests import Request

from core.log import Device
from server.context import ServerContext
from server.errors import Forbidden, PayloadTooLarge, Unauthorized
from server.store import Principal, WorkerRecord

DEVICE = "x-tovholder-device"
TIME = "x-tovholder-time"
NONCE = "x-tovholder-nonce"
SIGNATURE = "x-tovholder-signature"


def signed_message(method: str, path: str, stamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes a device signs for one request."""
    return (
        f"{method.upper()}\n{path}\n{stamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}".encode()
    )


def authenticate_device(
    ctx: ServerContext,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
) -> tuple[Device, WorkerRecord]:
    """The enrolled device (and its worker) that signed this request; Unauthorized if none."""
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
            f"the request time is more than {skew} seconds away from the server's clock; "
            "check the laptop's clock"
        )
    if len(nonce) > 64:
        raise Unauthorized("X-Tovholder-Nonce is at most 64 characters")
    device = ctx.log.device(device_id)
    if device is None:
        raise Unauthorized(f"device {device_id} is not enrolled")
    if device.revoked_at is not None:
        raise Unauthorized(f"device {device_id} was revoked; enroll the laptop again")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(device.signing_key).verify(
            raw_signature, signed_message(method, path, stamp, nonce, body)
        )
    except (InvalidSignature, ValueError, binascii.Error):
        raise Unauthorized(
            f"the request signature does not verify for device {device_id}"
        ) from None
    worker = ctx.store.worker(device.worker)
    if worker is None:
        raise Unauthorized(f"the worker of device {device_id} no longer exists")
    # The nonce is remembered only for a valid signature, so no one can burn another's.
    if not ctx.store.use_nonce(device_id, nonce, current, 2 * skew + 60):
        raise Unauthorized("this request was already received (its nonce was used before)")
    return device, worker


def principal(ctx: ServerContext, request: Request) -> Principal:
    """The worker or administrator behind a bearer token; Unauthorized when there is none."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send a staff or admin token as 'Authorization: Bearer TOKEN'")
    who = ctx.store.principal(token.strip())
    if who is None:
        raise Unauthorized("the token is not valid")
    return who


def admin(ctx: ServerContext, request: Request) -> Principal:
    """The administrator behind a bearer token; Forbidden for anyone else."""
    who = principal(ctx, request)
    if not who.is_admin:
        raise Forbidden("this needs an administrator's token")
    return who


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it grows beyond `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
