"""Keys: one data key per case, and the ways a case key is kept wrapped.

- A *case key* (AES-256-GCM) seals every payload of one case. It has a short random id
  that is bound into every ciphertext, so a rotated or foreign key can never be mistaken.
- On the server a case key is stored wrapped under the *key-encryption key* (KEK), which
  lives outside the database (a key file beside the config, or an environment variable).
- On a laptop it is stored wrapped under a key derived from the worker's passphrase
  (scrypt, RFC 7914).
- Between a laptop and the server it travels wrapped for the receiver's X25519 key
  (ephemeral-static ECDH, HKDF-SHA256, AES-GCM): a sealed box. The same box
  (`seal_for`, `open_sealed`) seals an erasure archive for the archive authority.

Every wrap binds the case id and key id as associated data, so a wrapped key cannot be
moved to another case. CPR look-ups use a keyed hash (HMAC-SHA256) so the plain number
is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from core.errors import DecryptionError, InvalidInput, WrongPassphrase
from core.records import Record

NONCE = 12
KEY_BYTES = 32


class CaseKey(Record, kw_only=False):
    """The data key of one case. `aead` is built once and reused on the hot path."""

    case_id: str
    key_id: str
    secret: bytes

    @classmethod
    def generate(cls, case_id: str) -> CaseKey:
        return cls(case_id, os.urandom(4).hex(), AESGCM.generate_key(bit_length=256))

    @property
    def aead(self) -> AESGCM:
        cached = self.__dict__.get("_aead")
        if cached is None:
            cached = AESGCM(self.secret)
            object.__setattr__(self, "_aead", cached)
        return cached

    def _aad(self, context: bytes) -> bytes:
        return b"tovholder/case-key\x00" + self.case_id.encode() + b"\x00" + self.key_id.encode() + context


def _wrap(kek: bytes, key: CaseKey, context: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(kek).encrypt(nonce, key.secret, key._aad(context))


def _seal_secret(key: bytes, label: bytes, secret: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(key).encrypt(nonce, secret, b"tovholder/secret\x00" + label)


def _open_secret(key: bytes, label: bytes, sealed: bytes) -> bytes:
    """The secret; InvalidTag or ValueError when it was not sealed under `key` with `label`."""
    return AESGCM(key).decrypt(sealed[:NONCE], sealed[NONCE:], b"tovholder/secret\x00" + label)


def _unwrap(kek: bytes, case_id: str, key_id: str, wrapped: bytes, context: bytes) -> CaseKey:
    probe = CaseKey(case_id, key_id, b"")
    try:
        secret = AESGCM(kek).decrypt(wrapped[:NONCE], wrapped[NONCE:], probe._aad(context))
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError(f"the key of case {case_id} does not unwrap under this key") from exc
    return CaseKey(case_id, key_id, secret)


class KeyEncryptionKey:
    """The server's key-encryption key: wraps case keys at rest, derives the CPR index key."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != KEY_BYTES:
            raise InvalidInput("a key-encryption key is 32 bytes")
        self._secret = secret

    @classmethod
    def generate(cls) -> KeyEncryptionKey:
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def from_text(cls, text: str) -> KeyEncryptionKey:
        try:
            return cls(bytes.fromhex(text.strip()))
        except ValueError:
            raise InvalidInput("the key-encryption key must be 64 hexadecimal digits") from None

    def to_text(self) -> str:
        return self._secret.hex()

    def wrap(self, key: CaseKey) -> bytes:
        return _wrap(self._secret, key, b"kek")

    def unwrap(self, case_id: str, key_id: str, wrapped: bytes) -> CaseKey:
        return _unwrap(self._secret, case_id, key_id, wrapped, b"kek")

    def cpr_index(self) -> CprIndex:
        return CprIndex(_hkdf(self._secret, b"tovholder/cpr-index"))

    def seal_secret(self, label: bytes, secret: bytes) -> bytes:
        """Encrypt a server secret (a staff device's private keys) under the KEK, bound to `label`."""
        return _seal_secret(self._secret, b"kek\x00" + label, secret)

    def open_secret(self, label: bytes, sealed: bytes) -> bytes:
        try:
            return _open_secret(self._secret, b"kek\x00" + label, sealed)
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("a server secret does not open under this key-encryption key") from exc


class PassphraseKey:
    """A laptop's store key, derived from the worker's passphrase with scrypt (RFC 7914).

    N = 2^17 with r = 8 (128 MiB, about 0.5 s of CPU on a 2-core laptop of 2026) makes
    each guess at a stolen laptop's passphrase cost that much; a store keeps the N it was
    made with, so stores made with a smaller one still unlock."""

    N = 2**17

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def derive(cls, passphrase: str, salt: bytes, n: int | None = None) -> PassphraseKey:
        if not passphrase:
            raise InvalidInput("the passphrase must not be empty")
        kdf = Scrypt(salt=salt, length=KEY_BYTES, n=n or cls.N, r=8, p=1)
        return cls(kdf.derive(passphrase.encode()))

    def wrap(self, key: CaseKey) -> bytes:
        return _wrap(self._secret, key, b"passphrase")

    def unwrap(self, case_id: str, key_id: str, wrapped: bytes) -> CaseKey:
        try:
            return _unwrap(self._secret, case_id, key_id, wrapped, b"passphrase")
        except DecryptionError as exc:
            raise WrongPassphrase("the passphrase does not open this laptop's store") from exc

    def seal_secret(self, label: bytes, secret: bytes) -> bytes:
        """Encrypt a device secret (its private keys) under the passphrase key."""
        return _seal_secret(self._secret, label, secret)

    def open_secret(self, label: bytes, sealed: bytes) -> bytes:
        try:
            return _open_secret(self._secret, label, sealed)
        except (InvalidTag, ValueError) as exc:
            raise WrongPassphrase("the passphrase does not open this laptop's store") from exc


def _hkdf(secret: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(secret)


# --- device identities and key grants ---------------------------------------------------


class DeviceKeys(Record, kw_only=False):
    """A device's two key pairs: Ed25519 to sign batches, X25519 to receive case keys."""

    signing: Ed25519PrivateKey
    agreement: X25519PrivateKey

    @classmethod
    def generate(cls) -> DeviceKeys:
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    def private_bytes(self) -> bytes:
        return self.signing.private_bytes_raw() + self.agreement.private_bytes_raw()

    @classmethod
    def from_private_bytes(cls, data: bytes) -> DeviceKeys:
        if len(data) != 64:
            raise InvalidInput("device keys are 64 bytes")
        return cls(
            Ed25519PrivateKey.from_private_bytes(data[:32]),
            X25519PrivateKey.from_private_bytes(data[32:]),
        )

    @property
    def signing_public(self) -> bytes:
        return public_bytes(self.signing.public_key())

    @property
    def agreement_public(self) -> bytes:
        return public_bytes(self.agreement.public_key())


def public_bytes(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    # The raw forms, not `serialization`: that module loads the SSH key formats, a tenth
    # of a field command's start-up.
    return key.public_bytes_raw()


def grant_key(key: CaseKey, recipient_public: bytes, recipient_id: str) -> bytes:
    """Wrap a case key for a recipient's X25519 public key (a sealed box)."""
    ephemeral = X25519PrivateKey.generate()
    try:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    except ValueError as exc:
        raise InvalidInput("the recipient's key-agreement key is not a valid X25519 key") from exc
    eph_pub = public_bytes(ephemeral.public_key())
    kek = _hkdf(shared, b"tovholder/grant\x00" + recipient_id.encode(), salt=eph_pub + recipient_public)
    return eph_pub + _wrap(kek, key, b"grant\x00" + recipient_id.encode())


def accept_grant(agreement: X25519PrivateKey, recipient_id: str, case_id: str, key_id: str, grant: bytes) -> CaseKey:
    """Unwrap a case key granted to us; DecryptionError when it was not for this key."""
    if len(grant) < 32 + NONCE + 16:
        raise DecryptionError(f"the key grant for case {case_id} is truncated")
    eph_pub = grant[:32]
    try:
        shared = agreement.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError as exc:
        raise DecryptionError(f"the key grant for case {case_id} is malformed") from exc
    own_pub = public_bytes(agreement.public_key())
    kek = _hkdf(shared, b"tovholder/grant\x00" + recipient_id.encode(), salt=eph_pub + own_pub)
    return _unwrap(kek, case_id, key_id, grant[32:], b"grant\x00" + recipient_id.encode())


def seal_for(recipient_public: bytes, label: bytes, plaintext: bytes) -> bytes:
    """Encrypt bytes for the holder of an X25519 private key: the sealed box of a key grant
    (ephemeral-static ECDH, HKDF-SHA256, AES-256-GCM) for any payload. `label` names what
    is sealed and is bound into the key and the associated data, so a box made for one
    purpose never opens as another. InvalidInput when the public key is not X25519."""
    ephemeral = X25519PrivateKey.generate()
    try:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    except ValueError as exc:
        raise InvalidInput("the recipient's key is not a valid X25519 public key") from exc
    eph_pub = public_bytes(ephemeral.public_key())
    context = b"tovholder/sealed\x00" + label
    key = _hkdf(shared, context, salt=eph_pub + recipient_public)
    nonce = os.urandom(NONCE)
    return eph_pub + nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def open_sealed(private: X25519PrivateKey, label: bytes, sealed: bytes) -> bytes:
    """Open a box made by `seal_for` for this private key; DecryptionError when it was
    sealed for another key, for another purpose, or was changed."""
    if len(sealed) < 32 + NONCE + 16:
        raise DecryptionError("the sealed box is truncated")
    eph_pub = sealed[:32]
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError as exc:
        raise DecryptionError("the sealed box is malformed") from exc
    context = b"tovholder/sealed\x00" + label
    key = _hkdf(shared, context, salt=eph_pub + public_bytes(private.public_key()))
    body = sealed[32:]
    try:
        return AESGCM(key).decrypt(body[:NONCE], body[NONCE:], context)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("the sealed box does not open with this private key") from exc


# --- CPR numbers ------------------------------------------------------------------------

_CPR = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d{4})$")


def normalise_cpr(cpr: str) -> str:
    """DDMMYY-SSSS as ten digits; InvalidInput (never echoing the number) when malformed."""
    m = _CPR.match(cpr.strip()) if isinstance(cpr, str) else None
    if not m:
        raise InvalidInput("a CPR number is ten digits, DDMMYY-SSSS")
    dd, mm, yy, serial = m.groups()
    try:
        date(2000 + int(yy), int(mm), int(dd)) if not (dd == "29" and mm == "02") else None
    except ValueError:
        raise InvalidInput("a CPR number starts with a valid date of birth, DDMMYY") from None
    return dd + mm + yy + serial


class CprIndex:
    """Keyed hash of CPR numbers, so a look-up never stores or compares the plain number."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, cpr: str) -> str:
        return hmac.new(self._key, normalise_cpr(cpr).encode(), hashlib.sha256).hexdigest()
