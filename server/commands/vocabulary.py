"""`admin vocabulary`: the municipality's word lists (contact kinds, challenge categories,
information categories), shown, a name labelled or added, a name removed; on the data
folder (``--dir``) or through the running server, the same JSON answer either way.
Laptops learn a change at their next sync."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from core import vocabularies
from core.console import emit
from server.commands.targets import perform
from server.context import ServerContext
from server.vocabulary import vocabulary_file

PATH = "/v1/admin/vocabularies"


def _file(ctx: ServerContext) -> Any:
    return vocabulary_file(ctx.settings.data_dir, ctx.log, ctx.extras)


def _rows(lists: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"list": which, "name": name, "da": labels["da"], "en": labels["en"]}
        for which, items in lists.items()
        for name, labels in items.items()
    ]


def _show(args: argparse.Namespace) -> int:
    result = perform(args, lambda ctx: {"vocabularies": _file(ctx).current().as_json()}, "GET", PATH)
    shown = result if args.json else _rows(result["vocabularies"])
    emit(shown, as_json=args.json, title="word lists", columns=["list", "name", "da", "en"])
    return 0


def _set(args: argparse.Namespace) -> int:
    result = perform(
        args,
        lambda ctx: {"vocabularies": _file(ctx).set(args.list, args.name, args.da, args.en).as_json()},
        "PUT",
        f"{PATH}/{quote(args.list, safe='')}/{quote(args.name, safe='')}",
        {"da": args.da, "en": args.en},
    )
    emit(result if args.json else _rows(result["vocabularies"]), as_json=args.json, title="word lists changed")
    return 0


def _remove(args: argparse.Namespace) -> int:
    result = perform(
        args,
        lambda ctx: {"vocabularies": _file(ctx).remove(args.list, args.name).as_json()},
        "DELETE",
        f"{PATH}/{quote(args.list, safe='')}/{quote(args.name, safe='')}",
    )
    emit(result if args.json else _rows(result["vocabularies"]), as_json=args.json, title="word lists changed")
    return 0


def register(kinds: Any, common: argparse.ArgumentParser) -> None:
    """Add `admin vocabulary show|set|remove`."""
    group = kinds.add_parser("vocabulary", help="the word lists with their Danish and English labels")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("show", parents=[common], help="every list, name and label").set_defaults(func=_show)
    lists = ", ".join(vocabularies.DEFAULTS)
    p = actions.add_parser(
        "set", parents=[common], help="label a name, or add a challenge category; laptops learn it at their next sync"
    )
    p.add_argument("list", metavar="LIST", help=f"one of {lists}")
    p.add_argument("name", metavar="NAME", help="the name events store: lower case letters, digits, hyphens")
    p.add_argument("--da", required=True, metavar="LABEL", help="the Danish label, e.g. ludomani")
    p.add_argument("--en", required=True, metavar="LABEL", help="the English label, e.g. gambling")
    p.set_defaults(func=_set)
    p = actions.add_parser("remove", parents=[common], help="remove a challenge category from its list")
    p.add_argument("list", metavar="LIST", help=f"one of {lists}")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_remove)
