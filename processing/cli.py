"""Command-line tools of the processing library; `webapp.cli` mounts them under `idflow`.

Exit codes: 0 success (document read, verified, or photo accepted), 1 unreadable (or requires
input, or photo refused), 2 bad usage.
Expected failures print one sentence on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from processing.errors import IdflowError
from processing.mrz.model import MRZ_FIELDS

EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2
KINDS = ("td3", "td1", "td2", "dl")


def _existing_file(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {value}")
    return path


def existing_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {value}")
    return path


def _non_negative(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of 0 or more, got {value!r}")
    return int(value)


def positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return number


def _print_result(result: Any) -> None:
    data = result.to_dict()
    print(f"status: {data['status']}")
    print(f"document type: {data['document_type'] or 'unknown'}")
    mrz = data["mrz"]
    if mrz:
        print(f"MRZ ({mrz['format']}, {'valid' if mrz['valid'] else 'check digits fail'}):")
        for line in mrz["lines"]:
            print(f"  {line}")
        for name in MRZ_FIELDS:
            print(f"  {name}: {mrz[name]}")
        for check in mrz["check_digits"]:
            mark = "ok" if check["valid"] else f"printed {check['printed']}"
            print(f"  check digit {check['field']}: {check['computed']} {mark}")
    if data["barcode"]:
        print("barcode (AAMVA):")
        for key, value in data["barcode"].items():
            if key != "fields" and value:
                print(f"  {key}: {value}")
    if data["visual"]:
        print("visual zone:")
        for key, value in data["visual"]["fields"].items():
            print(f"  {key}: {value['value']} ({value['confidence']:.2f})")
    for reason in data["reasons"]:
        print(f"{reason['severity']}: {reason['code']}: {reason['message']}")
    print(f"confidence: {data['confidence']:.2f}")
    print("timings: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in data["timings"].items()))


def _read(args: argparse.Namespace) -> int:
    from processing.pipeline import read_document_files
    from processing.trace import Trace

    trace = Trace() if args.trace else None
    result = read_document_files(args.front, args.back, trace=trace)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_result(result)
    if trace is not None:
        written = trace.write(args.trace)
        print(f"wrote {len(written)} step images to {args.trace}", file=sys.stderr)
    return EXIT_OK if result.status == "read" else EXIT_UNREADABLE


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from exc


def _verify(args: argparse.Namespace) -> int:
    from processing.verify import ProvidedDetails, VerifyOptions, verify

    verdict = verify(
        args.front.read_bytes(),
        args.back.read_bytes() if args.back else None,
        args.selfie.read_bytes() if args.selfie else None,
        VerifyOptions(
            require_id_number=args.require_id_number,
            require_matching_selfie=args.require_selfie or args.selfie is not None,
            min_age=args.min_age,
            accept_generated=args.test_mode,
        ),
        # An empty claim is no claim, as on the API.
        ProvidedDetails(
            args.first_name or None, args.last_name or None, args.dob, args.id_number or None
        ),
    )
    data = verdict.to_dict()
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(f"status: {data['status']}")
        if data["last_error"]:
            print(f"error: {data['last_error']['code']}: {data['last_error']['reason']}")
        for name, check in data["report"].items():
            if isinstance(check, dict) and "status" in check:
                error = check.get("error")
                print(f"{name}: {check['status']}" + (f" ({error['code']})" if error else ""))
        # The authenticity signals that fired; --json has every one, quiet ones too.
        for signal in data["report"]["document"]["authenticity"]:
            if signal["fired"]:
                counted = "waived" if signal["waived"] else "fired"
                print(
                    f"  {signal['name']}: {counted} ({signal['score']:g} >= "
                    f"{signal['threshold']:g}): {signal['reason']}"
                )
    return EXIT_OK if verdict.status == "verified" else EXIT_UNREADABLE


def _check_photo(args: argparse.Namespace) -> int:
    from processing.capture import check_capture

    check = check_capture(args.file.read_bytes(), args.step, args.document_type)
    if args.json:
        print(json.dumps(check.to_dict(), indent=2, ensure_ascii=False))
    else:
        print("accepted" if check.accepted else f"refused: {check.code}: {check.message}")
        for finding in check.findings:
            measured = "" if finding.measured is None else f" ({finding.measured:g})"
            print(f"  {finding.severity}: {finding.code}{measured}")
        steps = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in check.timings.items())
        print(f"timings: {steps}; total {check.seconds * 1000:.0f} ms")
    return EXIT_OK if check.accepted else EXIT_UNREADABLE


def _samples(args: argparse.Namespace) -> int:
    from processing.samples import generate_samples

    kinds = [args.kind] if args.kind else list(KINDS)
    written = generate_samples(
        args.outdir,
        count=args.count,
        seed=args.seed,
        kinds=kinds,
        variant=args.variant,
        faces_dir=args.faces,
    )
    print(f"wrote {len(written)} images with ground truth to {args.outdir}")
    return EXIT_OK


def register_commands(commands: Any) -> None:
    """Add `read`, `verify`, `check-photo` and `samples` to an argparse subparsers (`idflow`
    adds the rest)."""
    read = commands.add_parser("read", help="read a document photo and print what was found")
    read.add_argument("front", type=_existing_file, help="photo of the front (or data page)")
    read.add_argument("--back", type=_existing_file, help="photo of the back")
    read.add_argument("--json", action="store_true", help="print the result as JSON")
    read.add_argument(
        "--trace",
        type=Path,
        metavar="DIR",
        help="write each step's image (outline found, crop, MRZ band, portrait) as PNGs to DIR",
    )
    read.set_defaults(handler=_read)

    check = commands.add_parser("verify", help="check a document (and selfie) against claims")
    check.add_argument("front", type=_existing_file)
    check.add_argument("--back", type=_existing_file)
    check.add_argument("--selfie", type=_existing_file)
    check.add_argument("--first-name")
    check.add_argument("--last-name")
    check.add_argument("--dob", type=_iso_date, help="claimed date of birth, YYYY-MM-DD")
    check.add_argument("--id-number")
    check.add_argument("--require-selfie", action="store_true")
    check.add_argument("--require-id-number", action="store_true")
    check.add_argument("--min-age", type=positive)
    check.add_argument(
        "--test-mode",
        action="store_true",
        help="accept documents made by `idflow samples`, as test-mode sessions do",
    )
    check.add_argument("--json", action="store_true", help="status, last_error and report as JSON")
    check.set_defaults(handler=_verify)

    photo = commands.add_parser(
        "check-photo",
        help="judge one upload as the capture flow does, with each step's time",
    )
    photo.add_argument("file", type=_existing_file, help="the photo as a phone would upload it")
    photo.add_argument("--step", choices=("front", "back", "selfie"), required=True)
    photo.add_argument(
        "--document-type", choices=("passport", "id_card", "driving_license"), required=True
    )
    photo.add_argument("--json", action="store_true", help="the verdict, findings and timings")
    photo.set_defaults(handler=_check_photo)

    samples = commands.add_parser("samples", help="generate synthetic specimen documents")
    samples.add_argument("outdir", type=Path)
    samples.add_argument("--count", type=positive, default=10, help="number of documents")
    samples.add_argument("--seed", type=_non_negative, default=0)
    samples.add_argument("--kind", choices=KINDS, help="only this kind (default: all)")
    samples.add_argument("--variant", choices=("clean", "photographed", "both"), default="clean")
    samples.add_argument("--faces", type=existing_dir, help="folder of face photos to print")
    samples.set_defaults(handler=_samples)


def run(args: argparse.Namespace) -> int:
    """Run a parsed command; expected errors become one line on stderr and exit code 2."""
    try:
        code: int = args.handler(args)
    except IdflowError as exc:
        print(f"idflow: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # unreadable input file, unwritable output folder
        print(f"idflow: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m processing")
    register_commands(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
