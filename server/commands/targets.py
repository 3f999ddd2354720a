"""Where a server-side command acts: on a running server over HTTP, or on a data folder.

Most `admin`, `audit` and `search` commands take ``--dir DIR`` (act directly on a server
data folder, for scripts and the demo) or ``--server URL`` (``TOVHOLDER_SERVER`` by
default; talk HTTPS to a running server, verified against ``TOVHOLDER_CA`` when set).
The token comes from ``TOVHOLDER_TOKEN`` or a prompt, never from the command line. Both
ways give the same JSON answer as the HTTP API.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import ssl
import sys
from collections.abc import Callable
from typing import Any

import httpx

from core.console import fail
from server.context import ServerContext


def token_from_env() -> str:
    """The staff or admin token: TOVHOLDER_TOKEN, else a prompt (never argv)."""
    token = os.environ.get("TOVHOLDER_TOKEN", "").strip()
    if token:
        return token
    if sys.stdin.isatty():
        token = getpass.getpass("Token: ").strip()
    if not token:
        fail("set TOVHOLDER_TOKEN to your token (it is never taken from the command line)")
    return token


def trust(ca_file: str | None) -> ssl.SSLContext | bool:
    """Verify HTTPS against the municipality's CA (TOVHOLDER_CA), else the system's CAs."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


def server_url(args: argparse.Namespace) -> str:
    """The server to ask: --server, else TOVHOLDER_SERVER; a one-line error without either."""
    url = getattr(args, "server", None) or os.environ.get("TOVHOLDER_SERVER", "")
    if not url:
        fail("say which server: --server URL or TOVHOLDER_SERVER, or act on a data folder with --dir")
    return str(url).rstrip("/")


def answer_of(response: httpx.Response) -> Any:
    """The JSON body of a server's answer; a one-line error for a refusal or a body that
    is not JSON."""
    try:
        body = response.json()
    except ValueError:
        fail(f"the server answered {response.status_code} without a JSON body")
    if response.status_code >= 400:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
        fail(f"the server refused ({response.status_code}): {message or 'no reason given'}")
    return body


async def _request(url: str, method: str, path: str, json: Any, ca: str | None, timeout: float) -> Any:
    async with httpx.AsyncClient(base_url=url, timeout=timeout, verify=trust(ca)) as client:
        try:
            response = await client.request(
                method, path, json=json, headers={"Authorization": f"Bearer {token_from_env()}"}
            )
        except httpx.HTTPError as exc:
            fail(f"cannot reach the server at {url}: {type(exc).__name__}")
    return answer_of(response)


def remote(args: argparse.Namespace, method: str, path: str, json: Any = None, timeout: float = 30.0) -> Any:
    """Ask the server named by `args` (the token from the environment); its JSON answer."""
    url = server_url(args)
    return asyncio.run(_request(url, method, path, json, os.environ.get("TOVHOLDER_CA"), timeout))


def local(args: argparse.Namespace, action: Callable[[ServerContext], Any]) -> Any:
    """Run `action` on the data folder of ``--dir``, opened for it and closed after."""
    ctx = ServerContext.open(args.dir)
    try:
        return action(ctx)
    finally:
        ctx.close()


def perform(
    args: argparse.Namespace,
    action: Callable[[ServerContext], Any],
    method: str,
    path: str,
    json: Any = None,
) -> Any:
    """One administrator's act, done on the data folder with ``--dir`` (`action`) or asked
    of the running server's route otherwise (`method` `path`, the same JSON answer)."""
    return local(args, action) if args.dir else remote(args, method, path, json)


def target_options() -> argparse.ArgumentParser:
    """--dir / --server / --json, shared by the commands that act on either."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument("--dir", help="act directly on this server data folder")
    where.add_argument("--server", help="server URL (default: TOVHOLDER_SERVER); token from TOVHOLDER_TOKEN")
    common.add_argument("--json", action="store_true", help="print one JSON document")
    return common
