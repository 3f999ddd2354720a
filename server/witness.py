"""`server run --witness DIR`: every tree head the server signs, also in a file of its own.

The heads the server keeps are in its database, where an insider can rewrite them with
the events. A witness folder outside the data folder (another disk, a mount an
administrator of the database cannot write) gets each newly signed head as one JSON
line (`core.treehead.head_json`: size, root, signing time, signature, head key),
appended with one write and synced to disk, so the file only grows.
`tovholder audit verify --heads DIR/tree-heads.jsonl` proves the log still extends
every head in it. Several server processes append to the same file; a head signed by
one and seen by another may appear twice, which the check does not mind.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from core.errors import ConfigurationError
from core.treehead import TreeHead, head_json
from server.context import ServerContext

FILE = "tree-heads.jsonl"
"""The witness file's name in its folder."""


class Witness:
    """Appends each head newer than the last it wrote to `FILE` in its folder."""

    def __init__(self, folder: Path, public_key: bytes) -> None:
        self.file = folder / FILE
        self.public_key = public_key
        self.size = -1
        self._lock = threading.Lock()

    def saw(self, head: TreeHead) -> None:
        """Append the head unless this witness wrote it, or a larger one, already."""
        with self._lock:
            if head.size <= self.size:
                return
            line = (json.dumps(head_json(head, self.public_key)) + "\n").encode()
            fd = os.open(self.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self.size = head.size


def witness_folder(folder: str, data_dir: Path) -> Path:
    """The witness folder, once it exists, is writable and lies outside the data folder;
    ConfigurationError otherwise (heads kept beside the database vouch for nothing)."""
    path = Path(folder).resolve()
    data = data_dir.resolve()
    if not path.is_dir():
        raise ConfigurationError(f"the witness folder {folder} does not exist")
    if path == data or path.is_relative_to(data):
        raise ConfigurationError(
            f"the witness folder {folder} is inside the data folder {data_dir}: "
            "an insider who rewrites the log rewrites it too; name a folder elsewhere"
        )
    if not os.access(path, os.W_OK):
        raise ConfigurationError(f"the witness folder {folder} is not writable")
    return path


def watch(ctx: ServerContext, folder: str) -> None:
    """Have this process's head signer (`server.treeheads`) append every head it signs to
    the witness folder; ConfigurationError for a folder that cannot be one."""
    public = ctx.head_key.public_key().public_bytes_raw()
    ctx.extras["witness"] = Witness(witness_folder(folder, ctx.settings.data_dir), public)
