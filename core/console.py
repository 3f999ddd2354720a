"""Printing results: tables for people, one JSON document for scripts (``--json``).

Every command that prints data goes through `emit`; every error a person can act on
goes through `fail`, to stderr, with a non-zero exit status and no traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, NoReturn

from rich.console import Console
from rich.table import Table

err = Console(stderr=True, highlight=False, soft_wrap=True)  # one sentence, one line
out = Console(highlight=False)


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
        cols = list(columns or data[0].keys())
        table = Table(title=title, show_lines=False)
        for c in cols:
            table.add_column(c)
        for row in data:
            table.add_row(*[_cell(row.get(c)) for c in cols])
        out.print(table)
    elif isinstance(data, Mapping):
        if title:
            out.print(f"[bold]{title}[/bold]")
        for k, v in data.items():
            out.print(f"{k}: {_cell(v)}")
    else:
        out.print(str(data))


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
    err.print(f"[red]error:[/red] {message}")
    raise SystemExit(code)
