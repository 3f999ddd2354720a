"""`audit heads export FILE` and `audit verify --heads FILE`: signed tree heads kept by an auditor.

The export holds every head the server signed, the head key's public key and the leaves
of the newest head (`core.treeleaves`), in JSON an auditor can keep elsewhere. The check
proves the current log extends every head in a file: on a data folder (``--dir``) by
rebuilding the tree from the stored events (`core.treeaudit`), naming the exact position
of the first kept leaf that differs, and holding every batch against the device the
administrative log had enrolled then (`core.accounts`); against a running server
(``--server``) by asking a consistency proof from each head to the server's current one.
"""

from __future__ import annotations

import argparse
import json
from contextlib import suppress
from itertools import islice
from pathlib import Path
from typing import Any

from core import merkle
from core.console import emit, fail
from core.errors import SignatureInvalid
from core.tree import LogTree, event_records
from core.treeaudit import check_heads
from core.treehead import TreeHead, head_from_json, head_json
from core.treeleaves import KeptLeaf, pack, root_of, unpack
from server.accounts import verify_accounted
from server.commands.targets import local, remote
from server.context import ServerContext

FORMAT = "tovholder-tree-heads/v1"


def _export(args: argparse.Namespace) -> int:
    def act(ctx: ServerContext) -> dict[str, Any]:
        public = ctx.head_key.public_key().public_bytes_raw()
        heads = LogTree(ctx.log.recorder).heads()
        return {
            "format": FORMAT,
            "public_key": public.hex(),
            "heads": [head_json(h, public) for h in heads],
            "leaves": pack(_leaves_of_newest(ctx, heads)),
        }

    document = local(args, act)
    Path(args.file).write_text(json.dumps(document, indent=1) + "\n")
    emit({"file": args.file, "heads": len(document["heads"])}, as_json=args.json, title="tree heads exported")
    return 0


def _leaves_of_newest(ctx: ServerContext, heads: list[TreeHead]) -> list[KeptLeaf]:
    """The leaves of the newest head, rebuilt from the stored events; exits with a clear
    error when they no longer give its root (nothing to vouch for: audit the log first)."""
    if not heads:
        return []
    newest = heads[-1]
    leaves = list(islice(event_records(ctx.log.recorder), newest.size))
    if len(leaves) != newest.size or root_of(leaves) != newest.root:
        fail(
            f"the stored events no longer give the root of the newest signed head (size {newest.size}): "
            "nothing written; run `tovholder audit verify --dir` with heads kept before"
        )
    return leaves


def read_heads(file: str) -> tuple[bytes, list[TreeHead], list[KeptLeaf]]:
    """The head key, the heads and the kept leaves of an export (none in an export from
    before they were kept, nor in a witness file, `server.witness`, one head a line);
    exits with a clear error when unreadable."""
    try:
        text = Path(file).read_text()
        document = _document(text)
        if document is None:
            return _witnessed(text)
        if document.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        heads = [head_from_json(h) for h in document["heads"]]
        return bytes.fromhex(document["public_key"]), heads, unpack(document.get("leaves", ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        fail(f"cannot read the tree heads in {file}: {exc}")


def _document(text: str) -> dict[str, Any] | None:
    """The export's JSON document; None for a witness file (JSON lines of heads)."""
    try:
        found = json.loads(text)
    except json.JSONDecodeError:
        return None  # more than one line of JSON
    if not isinstance(found, dict):
        raise ValueError(f"not a {FORMAT} file")
    return None if "size" in found else found


def _witnessed(text: str) -> tuple[bytes, list[TreeHead], list[KeptLeaf]]:
    """The head key and heads of a witness file; a last line cut off by a crash while it
    was written is left out, any other line that is not a head is an error."""
    lines = text.split("\n")
    found = [json.loads(line) for line in lines[:-1] if line.strip()]
    if lines[-1].strip():
        with suppress(json.JSONDecodeError):  # cut off while it was written
            found.append(json.loads(lines[-1]))
    keys = {h["public_key"] for h in found}
    if len(keys) != 1:
        raise ValueError("a witness file holds heads signed by one head key")
    return bytes.fromhex(keys.pop()), [head_from_json(h) for h in found], []


def _against_server(args: argparse.Namespace, public_key: bytes, heads: list[TreeHead]) -> dict[str, Any]:
    answer = remote(args, "GET", "/v1/log/head")
    now = head_from_json(answer)
    problems: list[str] = []
    try:
        now.verify(public_key)
        for head in heads:
            head.verify(public_key)
    except SignatureInvalid as exc:
        problems.append(str(exc))
    for head in sorted(heads, key=lambda h: h.size):
        if problems:
            break
        proof = (
            remote(args, "GET", f"/v1/log/proof?from={head.size}&to={now.size}")["proof"]
            if head.size <= now.size
            else []
        )
        if not merkle.verify_consistency(head.size, now.size, head.root, now.root, [bytes.fromhex(p) for p in proof]):
            problems.append(f"the server's head of size {now.size} does not extend the head of size {head.size}")
    return {"ok": not problems, "heads": len(heads), "size": now.size, "position": None, "problems": problems}


def verify_heads(args: argparse.Namespace) -> int:
    """`audit verify --heads FILE`: exit 1 unless the log extends every head in the file."""
    public_key, heads, kept = read_heads(args.heads)
    if args.dir:

        def act(ctx: ServerContext) -> dict[str, Any]:
            report = check_heads(ctx.log.recorder, heads, public_key, kept)
            # The heads vouch for the tree, the administrative log for who signed its batches.
            signed = verify_accounted(ctx.log, ctx.store, ctx.server_keys.signing_public)
            problems = report.problems + [
                f"position {p.position}: {p.problem}" if p.position else p.problem for p in signed.problems
            ]
            first = next((p.position for p in signed.problems if p.position), None)
            return {
                "ok": not problems,
                "heads": report.heads,
                "events": report.events,
                "position": report.position if report.position is not None else first,
                "problems": problems,
            }

        result = local(args, act)
    else:
        result = _against_server(args, public_key, heads)
    emit(result, as_json=args.json, title="signed tree heads")
    return 0 if result["ok"] else 1


def register(actions: Any) -> None:
    """Add `audit heads export` to the audit group."""
    group = actions.add_parser("heads", help="the server's signed tree heads, for auditors to keep")
    heads_actions = group.add_subparsers(dest="heads_action", metavar="ACTION", required=True)
    p = heads_actions.add_parser("export", help="write every signed tree head and the head key to FILE (JSON)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--dir", required=True, help="the server data folder")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_export)
