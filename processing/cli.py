"""Command-line tools of the processing library; `webapp.cli` mounts them under `idflow`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


def register_commands(commands: Any) -> None:
    """Add `read`, `samples` and `bench` to an argparse subparsers object."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m processing")
    register_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
