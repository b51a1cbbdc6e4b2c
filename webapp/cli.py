"""The `idflow` command: document tools from `processing` plus the web server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from processing.cli import register_commands, run


def _serve(args: argparse.Namespace) -> int:
    """Serve with gunicorn, never Flask's debug server: this is what production runs."""
    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = [
        "gunicorn",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "--access-logfile",
        "-",
        "webapp.wsgi:app",
    ]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idflow", description="Self-hosted identity verification."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    register_commands(commands)
    serve = commands.add_parser("serve", help="serve the web app with gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2)
    serve.set_defaults(handler=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
