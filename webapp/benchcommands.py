"""`idflow bench`, `bench-verify`, `bench-web`, `bench-webhooks` and `bench-scale`: the
benchmarks, on demand.

The benchmarks live in the top-level `bench` package, installed with the `bench` extra together
with PassportEye; the product (the Docker image) goes without both. So the commands are always
listed, but a benchmark's code is imported only when it runs, and a missing extra is one line
on stderr with the command that installs it, not a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from processing.cli import EXIT_OK, EXIT_USAGE, existing_dir, positive
from processing.errors import IdflowError

_EXTRA_MODULES = ("bench", "passporteye")
EXIT_LOST = 1  # bench-scale: a verification lost on the way


class BenchUnavailable(IdflowError):
    """The `bench` extra is not installed here; `processing.cli.run` prints the reason."""

    code = "bench_unavailable"


@contextmanager
def _bench_extra() -> Iterator[None]:
    """Turn a missing benchmark module (or PassportEye) into `BenchUnavailable`."""
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in _EXTRA_MODULES:
            raise
        raise BenchUnavailable(
            f"the benchmarks need the bench extra ({exc.name} is not installed): "
            "pip install -e '.[bench]' from a source checkout"
        ) from exc


def _bench_read(args: argparse.Namespace) -> int:
    with _bench_extra():
        from bench.read import benchmark, format_report, summaries_to_json

        if args.compare:  # it runs in a child process: fail here, in one line, not there
            importlib.import_module(args.compare)
    summaries = benchmark(args.folder, compare=args.compare, limit=args.limit)
    if not summaries[0].documents:
        print(f"no images with an MRZ in {args.folder}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(summaries_to_json(summaries), indent=2))
    else:
        print(f"{args.folder}:")
        print(format_report(summaries))
    return EXIT_OK


def _bench_verify(args: argparse.Namespace) -> int:
    with _bench_extra():
        from bench.verify import (
            default_detector_model,
            default_faces_dir,
            format_report,
            run_bench,
        )
    faces = args.faces or default_faces_dir()
    if faces is None:
        print(
            "idflow: no faces folder: pass --faces DIR (one folder of photos per person) or set "
            "IDFLOW_SHARED_DIR to a folder holding samples/faces",
            file=sys.stderr,
        )
        return EXIT_USAGE
    report = run_bench(faces, args.count, detector_model=default_detector_model(faces))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_report(report))
    return EXIT_OK


def _bench_web(args: argparse.Namespace) -> int:
    with _bench_extra():
        from bench.verify import default_faces_dir
        from bench.web import BenchError, print_figures, run_bench
    try:
        figures = run_bench(
            clients=args.clients,
            seconds=args.seconds,
            upload_mb=args.upload_mb,
            uploads=args.uploads,
            workers=args.workers,
            threads=args.threads,
            flows=args.flows,
            faces=args.faces or default_faces_dir(),
            think=args.think,
            baseline=args.baseline,
            selfie_think=args.selfie_think,
        )
    except BenchError as exc:
        print(f"idflow: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_figures(figures)
    return EXIT_OK


def _bench_webhooks(args: argparse.Namespace) -> int:
    with _bench_extra():
        from bench.webhooks import BenchError, figures_dict, print_figures, run_bench
    try:
        figures = run_bench(verdicts=args.verdicts, events=args.events, workers=args.workers)
    except BenchError as exc:
        print(f"idflow: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(figures_dict(figures), indent=2))
    else:
        print_figures(figures)
    return EXIT_OK


def _bench_scale(args: argparse.Namespace) -> int:
    """Exits 1 when a verification was lost (never verdicted, or its webhook never came)."""
    with _bench_extra():
        from bench.scale import Backing, BenchError, figures_dict, print_figures, run_bench
    given = Backing(args.database_url, args.queue_url, args.storage_url, args.s3_endpoint_url)
    try:
        figures = run_bench(
            web=args.web,
            workers=args.workers,
            sessions=args.sessions,
            clients=args.clients,
            kill=args.kill,
            given=given,
        )
    except BenchError as exc:
        print(f"idflow: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(figures_dict(figures), indent=2))
    else:
        print_figures(figures)
    return EXIT_LOST if figures.lost else EXIT_OK


def add_commands(commands: Any) -> None:
    """Adds the five benchmarks to the `idflow` command's sub-commands."""
    bench = commands.add_parser("bench", help="measure read rate and speed on a folder")
    bench.add_argument("folder", type=existing_dir)
    bench.add_argument("--compare", choices=("passporteye",), help="also run this reader")
    bench.add_argument("--limit", type=positive, help="only the first N images")
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=_bench_read)

    bench_verify = commands.add_parser(
        "bench-verify", help="time verify and measure the face match's error rates"
    )
    bench_verify.add_argument(
        "--faces", type=existing_dir, help="face photos, one folder per person"
    )
    bench_verify.add_argument(
        "--count", type=positive, default=8, help="documents per kind (default 8)"
    )
    bench_verify.add_argument("--json", action="store_true")
    bench_verify.set_defaults(handler=_bench_verify)

    bench_web = commands.add_parser("bench-web", help="hosted pages under load, upload memory")
    bench_web.add_argument("--clients", type=int, default=50)
    bench_web.add_argument("--seconds", type=float, default=15.0)
    bench_web.add_argument("--upload-mb", type=float, default=10.0)
    bench_web.add_argument("--uploads", type=int, default=5)
    bench_web.add_argument("--workers", type=int, default=2)
    bench_web.add_argument("--threads", type=int, default=8)
    bench_web.add_argument(
        "--flows", type=int, default=5, help="timed hosted flows per document kind (0: none)"
    )
    bench_web.add_argument(
        "--faces", type=existing_dir, help="face photos for the flows, one folder per person"
    )
    bench_web.add_argument(
        "--think", type=float, default=0.0, help="seconds on the review page before Submit"
    )
    bench_web.add_argument(
        "--selfie-think",
        type=float,
        default=0.0,
        help="seconds between the document's last photo and the selfie",
    )
    bench_web.add_argument(
        "--baseline", type=existing_dir, help="another checkout to time the same flows against"
    )
    bench_web.add_argument("--json", action="store_true")
    bench_web.set_defaults(handler=_bench_web)

    bench_hooks = commands.add_parser(
        "bench-webhooks", help="webhook delay after a verdict and deliveries per second"
    )
    bench_hooks.add_argument("--verdicts", type=int, default=50)
    bench_hooks.add_argument("--events", type=int, default=500)
    bench_hooks.add_argument("--workers", type=int, default=2, help="job runner threads")
    bench_hooks.add_argument("--json", action="store_true")
    bench_hooks.set_defaults(handler=_bench_webhooks)

    scale = commands.add_parser(
        "bench-scale",
        help="verifications per minute with N web servers and M workers as processes",
    )
    scale.add_argument("--web", type=positive, default=1, help="web servers (default 1)")
    scale.add_argument("--workers", type=positive, default=1, help="job workers (default 1)")
    scale.add_argument("--sessions", type=positive, default=20, help="verifications (default 20)")
    scale.add_argument(
        "--clients", type=positive, default=4, help="people verifying at once (default 4)"
    )
    scale.add_argument(
        "--kill", action="store_true", help="SIGKILL a worker and a web server mid-run"
    )
    scale.add_argument("--database-url", default="", help="else a throwaway PostgreSQL")
    scale.add_argument("--queue-url", default="", help="else a throwaway Redis")
    scale.add_argument("--storage-url", default="", help="s3://BUCKET/PREFIX, else moto's S3")
    scale.add_argument("--s3-endpoint-url", default="", help="with --storage-url")
    scale.add_argument("--json", action="store_true")
    scale.set_defaults(handler=_bench_scale)
