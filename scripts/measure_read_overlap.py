"""`read_document` here against another checkout of idflow, image by image in one run: is every
result the same, how many reads are exact, and how long does each take?

Each checkout reads in its own long-lived child process (`--serve`, run with that checkout on
`PYTHONPATH`), after one untimed warm-up image; the parent sends every image to both in turn,
alternating which goes first, so both meet the same load. A result is compared whole: everything
`DocumentResult.to_dict()` holds except the timings, the unrounded confidences, and a digest of
every side's crop and of the portrait's box, score and pixels. Exact reads: every MRZ field equal
to the generator's ground truth (`<image>.json`), or the MRZ's lines equal to the shared
specimens' `expected.json`. `--passporteye` adds PassportEye as a third reader in the same
rotation (as `idflow bench` runs it: its text parsed by our parser; it gives no MRZ lines, so its
exact reads count on generated sets only).

    git archive BASE | tar -x -C /tmp/base
    .venv/bin/python scripts/measure_read_overlap.py /tmp/base out/bench-samples/clean \\
        out/bench-samples/photographed ../shared/samples/specimens [--passporteye]
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from processing.mrz.model import MRZ_FIELDS

SUFFIXES = {".jpg", ".jpeg", ".png"}


def fingerprint(result: Any) -> dict[str, Any]:
    """Everything a read returns except how long it took."""
    plain = result.to_dict()
    plain.pop("timings")
    plain["confidence_exact"] = repr(result.confidence)
    plain["sides_exact"] = [
        {
            "mrz_confidence": repr(side.mrz_confidence),
            "crop": None if side.crop is None else hashlib.sha1(side.crop.tobytes()).hexdigest(),
            "crop_shape": None if side.crop is None else list(side.crop.shape),
        }
        for side in result.sides
    ]
    portrait = result.portrait
    plain["portrait"] = (
        None
        if portrait is None
        else [
            list(portrait.box),
            repr(portrait.score),
            portrait.method,
            hashlib.sha1(portrait.image.tobytes()).hexdigest(),
        ]
    )
    return plain


def _cpu_seconds() -> float:
    """CPU time of this process's threads and of the child processes it waited for (Tesseract
    programs): the work a read costs, which the machine's other load does not inflate as much."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def serve_passporteye() -> None:
    """Child: PassportEye, read and judged as `idflow bench --compare passporteye` does."""
    from bench.read import READERS

    warmed = False
    for line in sys.stdin:
        path = Path(line.strip())
        if not warmed:
            with contextlib.suppress(Exception):
                READERS["passporteye"](path)
            warmed = True
        start, cpu = time.perf_counter(), _cpu_seconds()
        try:
            fields, valid, _ = READERS["passporteye"](path)
        except Exception:  # third-party code: its crash counts as a miss, as in the bench
            fields, valid = None, False
        answer = {
            "seconds": time.perf_counter() - start,
            "timings": {},
            "fingerprint": None,
            "fields": fields,
            "lines": None,
            "valid": valid,
            "cpu": _cpu_seconds() - cpu,
        }
        print(json.dumps(answer), flush=True)


def serve() -> None:
    """Child: read each path given on stdin, answer one JSON line per image."""
    from processing.pipeline import read_document_files

    warmed = False
    for line in sys.stdin:
        path = Path(line.strip())
        if not warmed:
            read_document_files(path)
            warmed = True
        start, cpu = time.perf_counter(), _cpu_seconds()
        result = read_document_files(path)
        seconds = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu
        mrz = result.mrz
        answer = {
            "seconds": seconds,
            "timings": result.timings,
            "fingerprint": fingerprint(result),
            "fields": None if mrz is None else {name: getattr(mrz, name) for name in MRZ_FIELDS},
            "lines": None if mrz is None else "\n".join(mrz.lines),
            "valid": mrz is not None and mrz.valid,
            "cpu": cpu,
        }
        print(json.dumps(answer), flush=True)


def _images(folder: Path) -> list[tuple[Path, Any]]:
    """(image, truth): generator fields, an expected MRZ text, or None (compared only)."""
    expected_file = folder / "expected.json"
    expected = json.loads(expected_file.read_text()) if expected_file.exists() else {}
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in SUFFIXES or "traineddata" in path.parts:
            continue
        truth_file = path.with_suffix(".json")
        if truth_file.exists():
            truth = json.loads(truth_file.read_text())
            if truth.get("mrz") is None:
                continue
            found.append((path, dict(truth["mrz"]["fields"])))
        else:
            name = str(path.relative_to(folder))
            found.append((path, expected.get(name, {}).get("mrz")))
    return found


def _exact(answer: dict[str, Any], truth: Any) -> bool:
    if isinstance(truth, dict):
        return bool(answer["fields"] == truth)
    return bool(answer["lines"] == truth)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class Reader:
    def __init__(self, label: str, root: Path) -> None:
        self.label = label
        environment = {**os.environ, "PYTHONPATH": str(root)}
        self.process = subprocess.Popen(
            [sys.executable, __file__, f"--serve-{label}"],
            cwd=root,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def read(self, path: Path) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{path.resolve()}\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def measure(readers: list[Reader], folder: Path) -> None:
    images = _images(folder)
    judged = sum(1 for _, truth in images if truth is not None)
    answers: dict[str, list[dict[str, Any]]] = {reader.label: [] for reader in readers}
    differ = []
    loads = [os.getloadavg()[0]]
    for index, (path, _) in enumerate(images):
        order = readers if index % 2 == 0 else readers[::-1]
        got = {reader.label: reader.read(path) for reader in order}
        for label, answer in got.items():
            answers[label].append(answer)
            first, second = (got[reader.label]["fingerprint"] for reader in readers[:2])
        if first != second:
            differ.append(str(path.relative_to(folder)))
        loads.append(os.getloadavg()[0])
    print(f"{folder}: {len(images)} images, {judged} with an expected MRZ")
    print(f"  load average (1 min) during the run: {min(loads):.2f} to {max(loads):.2f}")
    for reader in readers:
        rows = answers[reader.label]
        exact = sum(_exact(a, truth) for a, (_, truth) in zip(rows, images, strict=True) if truth)
        times = [a["seconds"] for a in rows]
        cpu = [a["cpu"] for a in rows]
        steps: dict[str, list[float]] = {}
        for answer in rows:
            for step, seconds in answer["timings"].items():
                steps.setdefault(step, []).append(seconds)
        per_step = ", ".join(
            f"{step} {statistics.median(values):.3f}/{_p95(values):.3f}"
            for step, values in sorted(steps.items())
        )
        valid = sum(bool(a["valid"]) for a in rows)
        print(
            f"  {reader.label:>11}: exact {exact}/{judged}, check digits hold {valid}/{len(rows)},"
            f" median {statistics.median(times):.3f} s, p95 {_p95(times):.3f} s,"
            f" CPU median {statistics.median(cpu):.3f} s, p95 {_p95(cpu):.3f} s"
            + (f"; steps (median/p95 s): {per_step}" if per_step else "")
        )
    for kind in ("seconds", "cpu"):
        taken = {r.label: [a[kind] for a in answers[r.label]] for r in readers}
        for slower in [r.label for r in readers if r.label != "here"]:
            ratios = [b / h for b, h in zip(taken[slower], taken["here"], strict=True)]
            print(
                f"  {slower}/here ({kind}): medians"
                f" {statistics.median(taken[slower]) / statistics.median(taken['here']):.2f}x,"
                f" per image median {statistics.median(ratios):.2f}x"
            )
    print(f"  results that differ: {len(differ)} {differ[:10]}")


def main(arguments: list[str]) -> None:
    if arguments[:1] in (["--serve-baseline"], ["--serve-here"]):
        serve()
        return
    if arguments[:1] == ["--serve-passporteye"]:
        serve_passporteye()
        return
    here = Path(__file__).parents[1]
    with_passporteye = "--passporteye" in arguments
    arguments = [a for a in arguments if a != "--passporteye"]
    baseline, folders = Path(arguments[0]), [Path(a) for a in arguments[1:]]
    readers = [Reader("baseline", baseline), Reader("here", here)]
    if with_passporteye:
        readers.append(Reader("passporteye", here))
    try:
        for folder in folders:
            measure(readers, folder)
    finally:
        for reader in readers:
            reader.close()


if __name__ == "__main__":
    main(sys.argv[1:])
