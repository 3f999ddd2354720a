"""Signed requests: the exact bytes a device signs for one request, for both ends.

Every sync request carries four headers: the device id, the request time (whole seconds
since the Unix epoch), a fresh nonce, and an Ed25519 signature over

    METHOD \\n PATH \\n TIME \\n NONCE \\n hex SHA-256 of the body

The laptop signs these bytes (`client.sync`) and the server verifies them
(`server.auth`); both build them here, so the two ends can never disagree on the form.
"""

from __future__ import annotations

import hashlib

DEVICE_HEADER = "X-Tovholder-Device"
TIME_HEADER = "X-Tovholder-Time"
NONCE_HEADER = "X-Tovholder-Nonce"
SIGNATURE_HEADER = "X-Tovholder-Signature"
MAX_NONCE = 64  # characters


def signed_message(method: str, path: str, stamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes a device signs for one request (method, path, time, nonce, body digest)."""
    return f"{method.upper()}\n{path}\n{stamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}".encode()
