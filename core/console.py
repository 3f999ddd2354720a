"""Printing results: tables for people, one JSON document for scripts (``--json``).

Every command that prints data goes through `emit`; every error a person can act on
goes through `fail`, to stderr, with a non-zero exit status and no traceback.

Key/value lines and errors are written as plain text (bold and red only on a terminal,
and never when ``NO_COLOR`` is set), so an id is never wrapped or cut and a note that
looks like markup prints as written. `rich` is loaded only to draw a table, which keeps a
recording command's start-up small.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress


def _styled(stream: TextIO, text: str, ansi: str) -> str:
    """`text` in an ANSI style when `stream` is a terminal that accepts colour."""
    if os.environ.get("NO_COLOR") or not stream.isatty():
        return text
    return f"\x1b[{ansi}m{text}\x1b[0m"


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def to_json(data: Any) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False, indent=2)


def emit(data: Any, *, as_json: bool, title: str | None = None, columns: Sequence[str] | None = None) -> None:
    """Print `data`: JSON when asked, else a table (list of rows) or key/value lines."""
    if as_json:
        sys.stdout.write(to_json(data) + "\n")
        return
    if isinstance(data, list) and (columns or (data and isinstance(data[0], Mapping))):
        _table(data, list(columns or data[0].keys()), title)
    elif isinstance(data, Mapping):
        if title:
            sys.stdout.write(_styled(sys.stdout, title, "1") + "\n")
        sys.stdout.write("".join(f"{k}: {_cell(v)}\n" for k, v in data.items()))
    else:
        sys.stdout.write(f"{data}\n")


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str | None) -> None:
    from rich.console import Console  # drawn only for tables: rich costs a command's start-up
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c)
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    Console(highlight=False).print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an actionable error to stderr and exit with `code`."""
    sys.stderr.write(f"{_styled(sys.stderr, 'error:', '31')} {message}\n")
    raise SystemExit(code)


def progress(show: bool) -> Progress:
    """A progress bar on stderr for long work (verify, rebuild, sync), gone when done and
    not drawn at all when `show` is false (``--json``, or no one is watching)."""
    from rich.console import Console  # loaded only by the commands that do long work
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not show,
    )
