"""Serving: uvicorn over the application, HTTPS with a certificate, plain HTTP only on loopback.

A laptop signs every request, but its enrollment code, the staff tokens and the case data
in pull answers must not cross a network in the clear, so without `--cert`/`--key` the
server refuses to listen anywhere but on a loopback address. The TLS private key file
must be private to the server's user, as the data folder and its key files are: one
open to its group or others is refused before anything listens.

Hostile clients are bounded here and in `server.auth`: idle kept-alive connections close
after `KEEP_ALIVE_SECONDS`, at most `CONCURRENCY` connections are served at once (503
beyond), headers are at most `MAX_HEADER_BYTES`, and a body must arrive whole within
`server.auth.BODY_SECONDS`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import uvicorn

from core.errors import ConfigurationError
from core.runtime import tune_for_throughput
from server.app import create_app
from server.context import ServerContext, check_private

KEEP_ALIVE_SECONDS = 5
CONCURRENCY = 500  # field laptops sync now and then: far more than a municipality's peak
MAX_HEADER_BYTES = 16 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(host: str, cert: str, key: str) -> None:
    """ConfigurationError unless the server may listen on `host` as configured."""
    if bool(cert) != bool(key):
        raise ConfigurationError("HTTPS needs both --cert and --key")
    if not cert and not is_loopback(host):
        raise ConfigurationError(
            f"plain HTTP is only served on a loopback address, not on {host}; give --cert and --key to serve HTTPS"
        )


def check_tls_key(key: str) -> None:
    """ConfigurationError when the TLS private key file is missing or open to its group
    or others: whoever reads it can pose as the server to every laptop."""
    if not key:
        return
    if not Path(key).is_file():
        raise ConfigurationError(f"there is no TLS private key file at {key}")
    check_private(Path(key), "TLS private key file")


def serve(ctx: ServerContext, host: str, port: int, cert: str = "", key: str = "") -> None:
    """Run the server until interrupted."""
    check_transport(host, cert, key)
    check_tls_key(key)
    tune_for_throughput()
    config = uvicorn.Config(
        create_app(ctx),
        host=host,
        port=port,
        ssl_certfile=cert or None,
        ssl_keyfile=key or None,
        log_level=ctx.settings.log_level,
        server_header=False,
        lifespan="off",
        # An idle kept-alive connection is closed after a few seconds, so idle sockets
        # cannot pile up; beyond `CONCURRENCY` open connections and tasks a new
        # request is answered 503 at once instead of queueing; a request line or header
        # block larger than `MAX_HEADER_BYTES` is refused by the HTTP parser.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        limit_concurrency=CONCURRENCY,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=10,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        ctx.close()
