"""`idflow keys ...` and `idflow retention run`: housekeeping of the stored personal data."""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from processing.cli import EXIT_OK, EXIT_USAGE
from webapp.config import from_environment, settings
from webapp.crypto import (
    ENV_VARIABLE,
    EncryptionError,
    add_file_key,
    load_keyring,
    new_key,
)

MakeApp = Callable[[], Flask]


def _print_usage(counts: dict[str, int], current: str) -> None:
    for kid, count in sorted(counts.items()):
        marker = " (current)" if kid == current else ""
        print(f"  {kid}{marker}: {count} stored value(s) and file(s)")


def _rotate(make_app: MakeApp, _args: argparse.Namespace) -> int:
    from webapp.keys import rotate

    config = from_environment()
    try:
        if config["ENCRYPTION_KEYS"]:
            print(f"keys come from {ENV_VARIABLE}: re-encrypting with its first key")
        else:
            data_dir = Path(config["DATA_DIR"])
            load_keyring("", data_dir)  # makes the key file on a first run
            added = add_file_key(data_dir)
            print(f"added key {added.kid} to the key file as the current key")
        app = make_app()
        done = rotate(app)
    except EncryptionError as exc:
        print(f"idflow: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"re-encrypted {done.values} value(s) and {done.files} file(s) with key {done.key_id}")
    if done.missing_files:
        print(f"{done.missing_files} file(s) listed in the database were not in storage")
    print("stored data by key:")
    _print_usage(dict(done.by_key), done.key_id)
    print(
        "A key no data uses can be removed once every running server uses the current key "
        f"(restart them if keys come from {ENV_VARIABLE})."
    )
    return EXIT_OK


def _status(make_app: MakeApp, _args: argparse.Namespace) -> int:
    from webapp.keys import keyring, usage

    try:
        app = make_app()
        counts = usage(app)
    except EncryptionError as exc:
        print(f"idflow: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ring = keyring(app)
    print(f"current key {ring.current.kid} ({ring.source})")
    _print_usage(dict(counts), ring.current.kid)
    return EXIT_OK


def _new(_make_app: MakeApp, _args: argparse.Namespace) -> int:
    """A line to put first in IDFLOW_ENCRYPTION_KEYS; nothing is stored."""
    key = new_key()
    print(f"{key.kid}:{base64.b64encode(key.secret).decode()}")
    return EXIT_OK


def _retention(make_app: MakeApp, _args: argparse.Namespace) -> int:
    from webapp.retention import run_retention

    app = make_app()
    days = settings(app).retention_days
    if days <= 0:
        print("IDFLOW_RETENTION_DAYS is 0: images are kept")
        return EXIT_OK
    print(f"deleted {run_retention(app)} image(s) older than {days} day(s) after their verdict")
    return EXIT_OK


def add_commands(commands: Any, make_app: MakeApp) -> None:
    """Adds `keys` and `retention` to the `idflow` command's sub-commands."""

    def bind(run: Callable[[MakeApp, argparse.Namespace], int]) -> Callable[..., int]:
        return lambda args: run(make_app, args)

    keys = commands.add_parser("keys", help="encryption keys of the stored data")
    actions = keys.add_subparsers(dest="action", required=True)
    actions.add_parser(
        "rotate", help="make a new current key (key file) and re-encrypt everything with it"
    ).set_defaults(handler=bind(_rotate))
    actions.add_parser("status", help="which keys the stored data uses").set_defaults(
        handler=bind(_status)
    )
    actions.add_parser(
        "new", help=f"print a new key line for {ENV_VARIABLE} (stores nothing)"
    ).set_defaults(handler=bind(_new))
    retention = commands.add_parser("retention", help="delete images past the retention period")
    retention.add_subparsers(dest="action", required=True).add_parser(
        "run", help="delete images of sessions whose verdict is older than IDFLOW_RETENTION_DAYS"
    ).set_defaults(handler=bind(_retention))
