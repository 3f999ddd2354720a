"""The server's signed tree heads: signed every few seconds while the log grows, and on demand.

A background thread signs a head of the log's Merkle tree (`core.tree`) whenever the
tree grew since the last head, at most `head_interval_seconds` apart; a request for the
head signs one first when the tree grew meanwhile, so the answer is never behind the log
by more than the events appended during the request. Every head is kept in the log's
database (`tree_heads`), so an auditor can export them all, and appended to the witness
file when the server runs with `--witness` (`server.witness`).
"""

from __future__ import annotations

import logging
import threading

from core.events import utcnow
from core.sealing import to_micros
from core.tree import LogTree
from core.treehead import TreeHead
from server.context import ServerContext
from server.witness import Witness

log = logging.getLogger("tovholder.treeheads")


class HeadSigner:
    """Signs the log's tree heads for one server process."""

    def __init__(self, ctx: ServerContext) -> None:
        self.tree = LogTree(ctx.log.recorder)
        self.key = ctx.head_key
        self.interval = float(ctx.settings.head_interval_seconds)
        witness = ctx.extras.get("witness")
        self.witness = witness if isinstance(witness, Witness) else None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sign_now(self) -> TreeHead:
        """The newest head, signing one of the current tree first when it grew (and
        handing it to the witness, `server.witness`, when the server runs with one)."""
        with self._lock:
            head = self.tree.sign_if_grown(self.key, to_micros(utcnow()))
        if self.witness is not None:
            self.witness.saw(head)
        return head

    def start(self) -> None:
        """Sign in the background until `close`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tree-heads", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sign_now()
            except Exception as exc:  # a busy or restarting database: try again next time
                log.warning("signing a tree head failed: %s", type(exc).__name__)

    def close(self) -> None:
        """Stop signing (before the database closes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def head_signer(ctx: ServerContext) -> HeadSigner:
    """This process's signer, made and started on first use."""
    signer = ctx.extras.get("tree_heads")
    if not isinstance(signer, HeadSigner):
        signer = HeadSigner(ctx)
        ctx.extras["tree_heads"] = signer
        signer.start()
    return signer
