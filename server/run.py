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

`serve_workers` runs N such processes on one listening socket (uvicorn's supervisor,
which starts a worker again when one dies), each with its own data-folder context and
caches; they share one truth only through a PostgreSQL database, so several processes
on a SQLite log are refused.
"""

from __future__ import annotations

import atexit
import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import uvicorn

from core.errors import ConfigurationError
from core.runtime import tune_for_throughput
from server.app import create_app
from server.context import ServerContext, check_private, read_secret
from server.memory_trace import start_from_environment
from server.witness import watch

KEEP_ALIVE_SECONDS = 5
CONCURRENCY = 500  # field laptops sync now and then: far more than a municipality's peak
MAX_HEADER_BYTES = 16 * 1024
#: How a worker process learns what to serve: the data folder and TLS certificate, as JSON.
WORKER_ENV = "TOVHOLDER_WORKER_OF"


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


def pin_certificate(ctx: ServerContext, cert: str) -> None:
    """Hand laptops the TLS certificate itself at enrollment when the folder names no CA
    (a self-signed certificate): laptops pin what they get then."""
    if cert and ctx.ca_pem is None:
        ctx.ca_pem = read_secret(Path(cert), "TLS certificate")


def uvicorn_options(ctx: ServerContext, cert: str, key: str) -> dict[str, Any]:
    """The uvicorn settings every server process runs with.

    An idle kept-alive connection is closed after a few seconds, so idle sockets cannot
    pile up; beyond `CONCURRENCY` open connections and tasks a new request is answered
    503 at once instead of queueing; a request line or header block larger than
    `MAX_HEADER_BYTES` is refused by the HTTP parser.
    """
    return {
        "ssl_certfile": cert or None,
        "ssl_keyfile": key or None,
        "log_level": ctx.settings.log_level,
        "server_header": False,
        "lifespan": "off",
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "limit_concurrency": CONCURRENCY,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_graceful_shutdown": 10,
    }


def check_serving(ctx: ServerContext, host: str, cert: str, key: str, workers: int = 1) -> None:
    """ConfigurationError unless this folder may be served so."""
    check_transport(host, cert, key)
    check_tls_key(key)
    if workers < 1:
        raise ConfigurationError(f"--workers must be 1 or more, not {workers}")
    if workers > 1 and not ctx.settings.database_url.startswith("postgresql"):
        raise ConfigurationError(
            "several server processes share one truth only through PostgreSQL; "
            "on a SQLite log run one process (--workers 1)"
        )


def serve(ctx: ServerContext, host: str, port: int, cert: str = "", key: str = "") -> None:
    """Run the server in this process until interrupted."""
    check_serving(ctx, host, cert, key)
    tune_for_throughput()
    start_from_environment()
    config = uvicorn.Config(create_app(ctx), host=host, port=port, **uvicorn_options(ctx, cert, key))
    try:
        uvicorn.Server(config).run()
    finally:
        ctx.close()


def serve_workers(
    ctx: ServerContext, host: str, port: int, cert: str, key: str, workers: int, witness: str = ""
) -> None:
    """Run `workers` server processes on one listening socket until interrupted.

    This process checks the folder, binds the socket and supervises; each worker opens
    the folder itself (`worker_app`) and keeps its own caches, which read the log's tail
    on every use, so what one worker stored is in every worker's next answer.
    """
    check_serving(ctx, host, cert, key, workers)
    options = uvicorn_options(ctx, cert, key)
    folder = str(ctx.settings.data_dir)
    ctx.close()
    os.environ[WORKER_ENV] = json.dumps({"folder": folder, "cert": cert, "witness": witness})
    config = uvicorn.Config("server.run:worker_app", factory=True, host=host, port=port, workers=workers, **options)
    from uvicorn.supervisors import Multiprocess  # only the supervising process needs it

    Multiprocess(config, sockets=[config.bind_socket()]).run()


def worker_app() -> Any:
    """The application of one worker process started by `serve_workers` (uvicorn's app
    factory): the data folder named in `WORKER_ENV`, opened afresh in this process."""
    named = json.loads(os.environ[WORKER_ENV])
    ctx = ServerContext.open(named["folder"])
    pin_certificate(ctx, named["cert"])
    if named.get("witness"):
        watch(ctx, named["witness"])
    tune_for_throughput()
    start_from_environment()
    atexit.register(ctx.close)
    return create_app(ctx)
