"""The laptop's sync loop: push the outbox, then pull the caseload, resumable at any point.

Push sends the outbox in batches, each signed once by the device (`core.signing`), with
the keys of cases opened here wrapped for the server's X25519 key. The server answers
per event; an event leaves the outbox's *pending* state only when the server holds it
(accepted or duplicate), and its entry is deleted when its confirmed copy is pulled
back, so the worker's view never loses it in between. A rejected event stays in the
outbox, marked with the server's reason, for `status` to show.

Pull asks for everything after the cursor within the laptop's caseload, page by page;
each page (events and placeholders, key grants re-wrapped under the passphrase key, what
to forget, drops, new cursor) is applied in one transaction by `LaptopStore.apply_page`.
The first page of a sync names the sequences held only as placeholders, so those the
worker's department may see by now come whole. Push is idempotent on event ids
and the cursor moves only with a stored page, so a sync cut off at either end is simply
run again.

Every request is signed by the device key (headers ``X-Tovholder-Device``, ``-Time``,
``-Nonce``, ``-Signature``: Ed25519 over the canonical form of `sync.signature`, the same
bytes the server verifies). Network failures and server errors 5xx/429 are retried with
exponential backoff (after RFC 8961's advice: back off, cap, give up in bounded time),
with an injectable sleep so tests never wait; a refused device is not retried.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import ipaddress
import json
import os
import platform
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.progress import Progress

from client.errors import (
    AlreadyEnrolled,
    DeviceRefused,
    ServerRejected,
    ServerStorageFailed,
    ServerUnreachable,
)
from client.heads import (
    EVIDENCE,
    KEPT,
    KEY,
    HeadRefused,
    HistoryRewritten,
    check_page,
    evidence,
    head_dict,
    head_of,
    sentence,
)
from client.laptop import Laptop
from client.outbox import push_body
from client.signers import SERVER_KEY, SIGNERS, Refused, Signers, check_signers
from client.store import LaptopStore, store_path
from core import events as ev
from core import vocabularies
from core.console import progress as progress_bar
from core.errors import InvalidInput
from core.keys import CaseKey, DeviceKeys, accept_grant
from core.sealing import to_micros
from core.treehead import TreeHead, head_from_json
from sync.pageproof import PageProof
from sync.protocol import (
    DEFAULT_PAGE,
    PullRequest,
    PullResponse,
    decode_pull_response,
    decode_push_response,
    encode_pull,
)
from sync.signature import DEVICE_HEADER, NONCE_HEADER, SIGNATURE_HEADER, TIME_HEADER, signed_message

MSGPACK = "application/msgpack"
IN_FLIGHT = 2  # pushed batches on the way at once; the server judges them in order
MIN_PASSPHRASE = 12  # characters: the store's passphrase key is all that guards a lost laptop
Sleep = Callable[[float], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine: localhost, 127.0.0.0/8 or ::1."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_server_url(server_url: str) -> None:
    """InvalidInput unless the laptop may talk to `server_url`: https://, or plain http://
    only to this machine (the enrollment code and the case data in pull answers must not
    cross a network in the clear)."""
    url = urlsplit(server_url)
    if url.scheme == "https" and url.hostname:
        return
    if url.scheme == "http" and url.hostname and is_loopback(url.hostname):
        return
    if url.scheme == "http":
        raise InvalidInput(
            f"the server URL {server_url} is plain HTTP to another machine; use https:// "
            "(plain http:// is allowed only to this machine: localhost, 127.0.0.1 or ::1)"
        )
    raise InvalidInput(f"the server URL {server_url} must start with https:// (or http:// to this machine)")


def check_new_passphrase(passphrase: str) -> None:
    """InvalidInput when a new laptop store's passphrase is shorter than MIN_PASSPHRASE."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(
            f"a laptop store's passphrase must have at least {MIN_PASSPHRASE} characters; "
            "choose a longer one (nothing was created)"
        )


def auth_headers(
    signing: Ed25519PrivateKey,
    device_id: str,
    method: str,
    path: str,
    body: bytes,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request as coming from this device."""
    stamp = str(int(now if now is not None else time.time()))
    nonce = nonce or base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    message = signed_message(method, path, stamp, nonce, body)
    return {
        DEVICE_HEADER: device_id,
        TIME_HEADER: stamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: base64.b64encode(signing.sign(message)).decode(),
    }


def tls_verify(server_url: str, ca_pem: str | None) -> ssl.SSLContext:
    """Verify https against the CA given at enrollment (else the system's CAs).

    The contexts are built once per process: loading a CA bundle costs about 30 ms,
    more than the whole sync of one event, and httpx would load it for every client.
    """
    if server_url.startswith("https://") and ca_pem:
        return _pinned_trust(ca_pem)
    return _default_trust()


@functools.cache
def _pinned_trust(ca_pem: str) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca_pem)


@functools.cache
def _default_trust() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def _error_of(response: httpx.Response) -> dict[str, Any]:
    """The error object of an answer's JSON body, whatever its shape ({} when none)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def error_sentence(response: httpx.Response) -> str:
    """The server's own sentence from an error body, whatever its JSON shape."""
    body = _error_of(response)
    for key in ("error", "detail", "message"):
        value = body.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("detail")
        if isinstance(value, str) and value:
            return value
    return f"the server answered {response.status_code}"


def storage_sentence(response: httpx.Response) -> str | None:
    """The server's sentence when it answered that its own storage cannot be written
    (``"cause": "storage"``); None for any other answer."""
    error = _error_of(response).get("error")
    if isinstance(error, dict) and error.get("cause") == "storage":
        return error_sentence(response)
    return None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: base * 2**attempt seconds, capped, for a bounded number of tries."""

    attempts: int = 6
    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.base * 2.0**attempt)


async def post(
    client: httpx.AsyncClient,
    path: str,
    body: bytes,
    *,
    headers: Callable[[bytes], dict[str, str]] | None = None,
    content_type: str = MSGPACK,
    backoff: Backoff = Backoff(),
    sleep: Sleep = asyncio.sleep,
    sent: asyncio.Event | None = None,
) -> bytes:
    """POST with retries; the body of a 2xx answer, or the error a person can act on.

    `sent`, when given, is set once the request body has been written to the connection.
    """

    async def trace(name: str, info: dict[str, Any]) -> None:
        if sent is not None and name == "http11.send_request_body.complete":
            sent.set()

    last = "no answer"
    storage: str | None = None
    for attempt in range(backoff.attempts):
        if attempt:
            await sleep(backoff.delay(attempt - 1))
        extra = headers(body) if headers else {}
        try:
            response = await client.post(
                path,
                content=body,
                headers={"Content-Type": content_type, "Accept": content_type, **extra},
                extensions={"trace": trace} if sent is not None else None,
            )
        except httpx.TransportError as exc:
            last = type(exc).__name__
            continue
        if response.status_code < 300:
            return response.content
        if response.status_code in (401, 403):
            raise DeviceRefused(f"the server refused this device: {error_sentence(response)}")
        if response.status_code == 429 or response.status_code >= 500:
            last = f"status {response.status_code}"
            storage = storage_sentence(response)
            continue
        raise ServerRejected(error_sentence(response), response.status_code)
    if storage is not None:
        raise ServerStorageFailed(
            f"the server's storage is failing, not this laptop ({backoff.attempts} tries): {storage}. "
            "Nothing was lost: the outbox keeps every event; tell IT and sync again later"
        )
    raise ServerUnreachable(
        f"the server at {client.base_url} did not answer after {backoff.attempts} tries "
        f"({last}); nothing was lost, sync again later"
    )


@dataclass
class SyncReport:
    """What one sync did, for the worker and for `--json`."""

    pushed: int = 0
    duplicates: int = 0
    rejected: dict[str, str] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    pulled: int = 0
    pages: int = 0
    dropped: list[str] = field(default_factory=list)
    forgotten: int = 0
    granted: list[str] = field(default_factory=list)
    cursor: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "pushed": self.pushed,
            "duplicates": self.duplicates,
            "rejected": [{"event": e, "reason": r} for e, r in self.rejected.items()],
            "conflicts": self.conflicts,
            "pulled": self.pulled,
            "pages": self.pages,
            "dropped": self.dropped,
            "forgotten": self.forgotten,
            "granted": self.granted,
            "cursor": self.cursor,
        }


async def _until_sent(request: asyncio.Task[bytes], sent: asyncio.Event) -> None:
    """Wait until a request just started has written its body (or is already answered),
    so the server works on it while this task signs and encodes the next batch."""
    waiting = asyncio.ensure_future(sent.wait())
    try:
        await asyncio.wait({request, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()


class Syncer:
    """Drives push and pull for one unlocked laptop over an httpx client."""

    def __init__(
        self,
        laptop: Laptop,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        backoff: Backoff = Backoff(),
        batch_size: int = 500,
        page_size: int = DEFAULT_PAGE,
        progress: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.laptop = laptop
        self.store = laptop.store
        self.server_url: str = self.store.meta("server_url")
        self.transport = transport
        self.sleep = sleep
        self.backoff = backoff
        self.batch_size = batch_size
        self.page_size = page_size
        self.show_progress = progress
        self.clock = clock

    def _client(self) -> httpx.AsyncClient:
        # Checked on every sync, not only at enrollment: a store made before the rule, or
        # its server URL edited, must not send case data in the clear.
        check_server_url(self.server_url)
        return httpx.AsyncClient(
            base_url=self.server_url,
            transport=self.transport,
            verify=tls_verify(self.server_url, self.store.meta("ca_cert")),
            timeout=httpx.Timeout(60.0, connect=10.0),
        )

    async def _post(
        self, client: httpx.AsyncClient, path: str, body: bytes, sent: asyncio.Event | None = None
    ) -> bytes:
        signing = self.store.device_keys.signing
        device_id = self.laptop.device_id
        return await post(
            client,
            path,
            body,
            headers=lambda b: auth_headers(signing, device_id, "POST", path, b, self.clock()),
            backoff=self.backoff,
            sleep=self.sleep,
            sent=sent,
        )

    async def sync(self) -> SyncReport:
        report = SyncReport()
        async with self._client() as client:
            await self.push(client, report)
            await self.pull(client, report)
        return report

    # -- push -------------------------------------------------------------------------
    async def push(self, client: httpx.AsyncClient, report: SyncReport) -> None:
        """Push the outbox in signed batches, `IN_FLIGHT` of them on the way at once.

        Each batch names the batch before it (``after``), so the server judges them in
        the laptop's order while the next one is already on its way. The next batch is
        signed and encoded, and each answer written to the outbox, while the server works.
        """
        pending = self.store.outbox(statuses=("pending",))
        if not pending:
            return
        server_public = bytes(self.store.meta("server_agreement_key"))
        unpushed = {k.case_id: k for k in self.store.unpushed_keys()}
        with self._progress() as bar:
            task = bar.add_task("push", total=len(pending))
            in_flight: deque[tuple[asyncio.Task[bytes], int]] = deque()

            async def land_oldest() -> None:
                request, size = in_flight[0]
                answer = await request
                in_flight.popleft()
                self._landed(answer, unpushed, report)
                bar.advance(task, size)

            try:
                previous: str | None = None
                for start in range(0, len(pending), self.batch_size):
                    batch = pending[start : start + self.batch_size]
                    body, previous = push_body(self.laptop, batch, unpushed, server_public, previous)
                    if len(in_flight) == IN_FLIGHT:
                        await land_oldest()
                    sent = asyncio.Event()
                    request = asyncio.ensure_future(self._post(client, "/v1/sync/push", body, sent))
                    in_flight.append((request, len(batch)))
                    await _until_sent(request, sent)
                while in_flight:
                    await land_oldest()
            finally:
                # On a failure, stop what is still on the way; a later failure of its own
                # is retrieved here, so the first one is what the worker is told.
                for request, _ in in_flight:
                    if not request.done():
                        request.cancel()
                    elif not request.cancelled():
                        request.exception()

    def _landed(self, answer: bytes, unpushed: dict[str, CaseKey], report: SyncReport) -> None:
        """Record the server's per-event answers in the outbox and the report."""
        response = decode_push_response(answer)
        held, rejected, landed_cases = [], {}, set()
        for r in response.results:
            if r.status in ("accepted", "duplicate"):
                held.append(r.event_id)
                landed_cases.add(r.case_id)
                report.pushed += r.status == "accepted"
                report.duplicates += r.status == "duplicate"
            elif r.status == "rejected":
                rejected[r.event_id] = r.reason or "rejected by the server"
        self.store.mark_sent(held)
        self.store.mark_rejected(rejected)
        self.store.mark_keys_pushed(landed_cases & set(unpushed))
        for c in landed_cases:
            unpushed.pop(c, None)
        report.rejected.update(rejected)
        report.conflicts.extend(c.conflict_id for c in response.conflicts)

    # -- pull -------------------------------------------------------------------------
    async def pull(self, client: httpx.AsyncClient, report: SyncReport) -> None:
        cursor = int(self.store.meta("cursor", 0))
        start = cursor
        device = self.store.device_keys
        with self._progress() as bar:
            task = bar.add_task("pull", total=None)
            # The first page names what is held only as placeholders, so what the
            # department may see by now comes whole.
            veiled = self.store.veiled()
            mark = None  # where the server cut the last answer's `forget` list
            kept = head_of(self.store.meta(KEPT))
            server_key = self.store.meta(SERVER_KEY)
            signers = Signers.of(self.store.meta(SIGNERS), bytes(server_key or b""))
            while True:
                held = tuple(self.store.held_cases())
                size = None if kept is None else kept.size
                request = PullRequest(cursor, self.page_size, held, veiled, mark, size, signers.seq)
                veiled = ()
                page = decode_pull_response(await self._pulled(client, request, kept))
                if server_key is None:  # enrolled before the key was handed out: the first answer's
                    server_key = page.server_key
                    signers = Signers.of(self.store.meta(SIGNERS), server_key)
                served = kept
                kept, head_key = self._checked(page, kept)
                signers = self._signed(page, served, signers)
                keys = [
                    accept_grant(device.agreement, self.laptop.device_id, g.case_id, g.key_id, g.grant)
                    for g in page.grants
                ]
                next_cursor = max(cursor, page.next)
                if page.departments:
                    self.laptop.learn_directory(list(page.departments))
                if page.vocabularies:
                    self.laptop.learn_vocabularies(page.vocabularies)
                applied = self.store.apply_page(
                    page.events,
                    keys,
                    page.drop,
                    next_cursor,
                    to_micros(ev.utcnow()),
                    page.forget,
                    {KEPT: head_dict(kept), KEY: head_key, SIGNERS: signers.as_dict(), SERVER_KEY: server_key},
                )
                report.pulled += applied.new
                report.forgotten += applied.forgotten
                report.pages += 1
                report.granted.extend(c for c in applied.granted if c not in report.granted)
                report.dropped.extend(page.drop)
                bar.update(task, total=max(page.head - start, 1), completed=next_cursor - start)
                stalled = (
                    next_cursor == cursor and not page.events and not page.admin and page.forget_next in (None, mark)
                )
                cursor, mark = next_cursor, page.forget_next
                if not page.more or stalled:
                    break
        report.cursor = cursor

    async def _pulled(self, client: httpx.AsyncClient, request: PullRequest, kept: TreeHead | None) -> bytes:
        """The answer to a pull. A log that ends before the cursor (409) is checked against
        the kept head first: a log cut back since is HistoryRewritten, not a stale store."""
        try:
            return await self._post(client, "/v1/sync/pull", encode_pull(request))
        except ServerRejected as exc:
            if exc.status == 409 and kept is not None:
                await self._head_only(client, kept)
            raise

    async def _head_only(self, client: httpx.AsyncClient, kept: TreeHead) -> None:
        """Check the server's current head against the kept one with a consistency proof
        of their own (`GET /v1/log/head`, `/v1/log/proof`); HistoryRewritten when it fails."""
        head = await self._get_json(client, "/v1/log/head")
        served = head_from_json(head)
        proof: list[bytes] = []
        if kept.size <= served.size:
            found = await self._get_json(client, f"/v1/log/proof?from={kept.size}&to={served.size}")
            proof = [bytes.fromhex(h) for h in found["proof"]]
        tree = PageProof(served, bytes.fromhex(head["public_key"]), kept.size, tuple(proof), (), ())
        self._checked(PullResponse(events=(), proof=tree), kept)

    async def _get_json(self, client: httpx.AsyncClient, path: str) -> dict[str, Any]:
        signing, device_id = self.store.device_keys.signing, self.laptop.device_id
        response = await client.get(path, headers=auth_headers(signing, device_id, "GET", path, b"", self.clock()))
        if response.status_code >= 300:
            raise ServerRejected(error_sentence(response), response.status_code)
        found: dict[str, Any] = response.json()
        return found

    def _checked(self, page: PullResponse, kept: TreeHead | None) -> tuple[TreeHead, bytes]:
        """The answer's head and head key once they vouch for the page (`client.heads`);
        else the evidence is kept and HistoryRewritten stops the sync."""
        known = self.store.meta(KEY)
        try:
            return check_page(page, kept, None if known is None else bytes(known))
        except HeadRefused as exc:
            raise self._refused(str(exc), page, kept) from None

    def _signed(self, page: PullResponse, kept: TreeHead | None, signers: Signers) -> Signers:
        """The laptop's replay of the administrative log moved on by the answer, once a
        device it allows signed every event of it (`client.signers`); else the evidence
        is kept and HistoryRewritten stops the sync."""
        try:
            return check_signers(page, signers)
        except Refused as exc:
            raise self._refused(str(exc), page, kept) from None

    def _refused(self, why: str, page: PullResponse, kept: TreeHead | None) -> HistoryRewritten:
        """The evidence of a refused answer kept in the store, and the error that stops the sync."""
        self.store.keep_evidence(EVIDENCE, evidence(why, kept, page, to_micros(ev.utcnow())))
        served = page.proof.head if page.proof is not None else None
        return HistoryRewritten(sentence(why, kept, served))

    def _progress(self) -> Progress:
        return progress_bar(self.show_progress)


async def enroll(
    server_url: str,
    payload: dict[str, Any],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    ca_pem: str | None = None,
    backoff: Backoff = Backoff(attempts=3),
    sleep: Sleep = asyncio.sleep,
) -> dict[str, Any]:
    """POST the enrollment (one-time code and public keys); the server's JSON answer."""
    async with httpx.AsyncClient(
        base_url=server_url,
        transport=transport,
        verify=tls_verify(server_url, ca_pem),
        timeout=httpx.Timeout(30.0, connect=10.0),
    ) as client:
        raw = await post(
            client,
            "/v1/enroll",
            json.dumps(payload).encode(),
            content_type="application/json",
            backoff=backoff,
            sleep=sleep,
        )
    try:
        answer = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ServerRejected("the server's enrollment answer is not JSON") from exc
    if not isinstance(answer, dict):
        raise ServerRejected("the server's enrollment answer is not a JSON object")
    return answer


async def enroll_laptop(
    folder: Path,
    server_url: str,
    code: str,
    passphrase: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    ca_pem: str | None = None,
    scrypt_n: int | None = None,
) -> dict[str, Any]:
    """Make the device's keys, enroll them with the code, and create the laptop's store.

    The store is created only after the server accepted the enrollment, so a failed
    enrollment leaves nothing behind. Before anything is sent, InvalidInput for a plain
    http:// URL to another machine (`check_server_url`) or a passphrase shorter than
    MIN_PASSPHRASE. Returns the facts kept in the store.
    """
    if store_path(folder).exists():
        raise AlreadyEnrolled(f"{folder} already holds a laptop store; use another folder")
    check_server_url(server_url)
    check_new_passphrase(passphrase)
    keys = DeviceKeys.generate()
    b64 = base64.b64encode
    answer = await enroll(
        server_url,
        {
            "code": code,
            "signing_key": b64(keys.signing_public).decode(),
            "agreement_key": b64(keys.agreement_public).decode(),
            "name": platform.node(),
        },
        transport=transport,
        ca_pem=ca_pem,
    )
    try:
        meta = {
            "device_id": str(answer.get("device") or answer["device_id"]),
            "worker": str(answer["worker"]),
            "department": str(answer["department"]),
            "role": str(answer["role"]),
            "server_url": server_url,
            "server_agreement_key": base64.b64decode(answer["server_agreement_key"]),
            "ca_cert": answer.get("ca_cert") or ca_pem,
            "departments": answer.get("departments") or [],
        }
        if answer.get("head_key"):
            meta[KEY] = base64.b64decode(answer["head_key"])
        if answer.get("server_signing_key"):
            meta[SERVER_KEY] = base64.b64decode(answer["server_signing_key"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ServerRejected("the server's enrollment answer lacks the device's identity") from exc
    if answer.get("vocabularies"):  # older servers send none: the laptop learns them at its first pull
        try:
            meta["vocabularies"] = vocabularies.from_json(answer["vocabularies"]).as_json()
        except InvalidInput as exc:
            raise ServerRejected(f"the server's enrollment answer has word lists a laptop cannot use: {exc}") from exc
    LaptopStore.create(folder, passphrase, keys, meta, scrypt_n=scrypt_n).close()
    return meta
