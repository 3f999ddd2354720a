"""`tovholder`: one command line for the server, the field laptop, auditors and the demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.errors import TovholderError


def build_parser() -> argparse.ArgumentParser:
    from client import cli as client_cli
    from server import commands
    from tovholder import demo

    parser = argparse.ArgumentParser(
        prog="tovholder",
        description="One shared, encrypted, immutable history per social-work case.",
    )
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    commands.register(groups)
    client_cli.register(groups)
    demo.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from core.console import fail

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except TovholderError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
