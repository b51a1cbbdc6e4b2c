"""`idflow bench`: the MRZ reader on a folder of images, optionally against PassportEye too.

Ground truth is the generator's `<image>.json` beside each image; an image without one (the real
specimens) counts as read when every check digit of the returned MRZ holds. Each reader runs in
its own child process so its peak memory is its own, after one untimed warm-up image.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import resource
import statistics
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.steps import StepStats, format_steps, per_step, percentile
from processing.errors import GroundTruthError, IdflowError, MRZFormatError
from processing.mrz.model import MRZ, MRZ_FIELDS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic"}


@dataclass(frozen=True)
class BenchImage:
    path: Path
    truth: dict[str, str] | None  # MRZ fields from the ground truth; None: judge by check digits


@dataclass(frozen=True)
class Outcome:
    seconds: float
    fields: dict[str, str | None] | None  # what the reader returned, None when no MRZ
    valid: bool  # every check digit holds
    steps: dict[str, float]  # seconds per step of the read; empty for a reader that says none


@dataclass(frozen=True)
class ReaderRun:
    reader: str
    outcomes: tuple[Outcome, ...]
    peak_rss_mb: float


@dataclass(frozen=True)
class Summary:
    reader: str
    documents: int
    read_rate: float  # every MRZ field exact (ground truth) or every check digit holds (none)
    misread_rate: float  # check digits hold yet a field is wrong: the errors nothing flags
    field_accuracy: dict[str, float]
    median_seconds: float
    p95_seconds: float
    peak_rss_mb: float
    steps: tuple[StepStats, ...]  # median and p95 per step (idflow's reader only)


def collect_images(folder: Path) -> list[BenchImage]:
    """Images to score: those whose ground truth has an MRZ, or every image when there is none."""
    images = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        truth_file = path.with_suffix(".json")
        if truth_file.exists():
            try:
                truth = json.loads(truth_file.read_text())
                if truth.get("mrz") is None:
                    continue
                images.append(BenchImage(path, dict(truth["mrz"]["fields"])))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise GroundTruthError(
                    f"{truth_file} is not a ground-truth file of `idflow samples`: {exc}"
                ) from exc
        else:
            images.append(BenchImage(path, None))
    return images


def _fields(mrz: MRZ) -> dict[str, str | None]:
    return {name: getattr(mrz, name) for name in MRZ_FIELDS}


Read = tuple[dict[str, str | None] | None, bool, dict[str, float]]


def _read_idflow(path: Path) -> Read:
    from processing.pipeline import read_document_files

    result = read_document_files(path)
    if result.mrz is None:
        return None, False, result.timings
    return _fields(result.mrz), result.mrz.valid, result.timings


def _read_passporteye(path: Path) -> Read:
    """PassportEye's OCR text, parsed by our parser so both readers are judged alike."""
    from passporteye import read_mrz
    from passporteye.mrz.text import MRZOCRCleaner

    from processing.mrz.parse import parse_mrz

    with warnings.catch_warnings():  # its scikit-image calls are deprecated; not ours to fix
        warnings.simplefilter("ignore", FutureWarning)
        found = read_mrz(str(path))
    if found is None or "raw_text" not in found.aux:
        return None, False, {}
    try:
        mrz = parse_mrz(MRZOCRCleaner.apply(found.aux["raw_text"]))
    except MRZFormatError:
        return None, False, {}
    return _fields(mrz), mrz.valid, {}


READERS = {"idflow": _read_idflow, "passporteye": _read_passporteye}


def run_reader(reader: str, paths: list[Path]) -> ReaderRun:
    """Read every image with one reader; meant to run in a fresh process."""
    read = READERS[reader]
    if paths:
        with contextlib.suppress(IdflowError):
            read(paths[0])  # warm-up: imports, font rendering, model loading
    outcomes = []
    for path in paths:
        start = time.perf_counter()
        steps: dict[str, float] = {}
        try:
            fields, valid, steps = read(path)
        except IdflowError:
            fields, valid = None, False
        except Exception:  # the comparator is third-party code: its crash counts as a miss
            if reader == "idflow":
                raise
            fields, valid = None, False
        outcomes.append(Outcome(time.perf_counter() - start, fields, valid, steps))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ReaderRun(reader, tuple(outcomes), peak_kb / 1024)


def run_in_child(reader: str, paths: list[Path]) -> ReaderRun:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_reader, reader, paths).result()


def summarise(run: ReaderRun, images: list[BenchImage]) -> Summary:
    exact = misread = 0
    field_hits = dict.fromkeys(MRZ_FIELDS, 0)
    with_truth = 0
    for image, outcome in zip(images, run.outcomes, strict=True):
        if image.truth is None:
            exact += outcome.valid
            continue
        with_truth += 1
        got = outcome.fields or {}
        hits = [got.get(name) == image.truth.get(name, "") for name in MRZ_FIELDS]
        for name, hit in zip(MRZ_FIELDS, hits, strict=True):
            field_hits[name] += hit
        exact += all(hits)
        misread += outcome.valid and not all(hits)
    seconds = [o.seconds for o in run.outcomes] or [0.0]
    return Summary(
        reader=run.reader,
        documents=len(images),
        read_rate=exact / len(images) if images else 0.0,
        misread_rate=misread / with_truth if with_truth else 0.0,
        field_accuracy={k: v / with_truth for k, v in field_hits.items()} if with_truth else {},
        median_seconds=statistics.median(seconds),
        p95_seconds=percentile(seconds, 0.95),
        peak_rss_mb=run.peak_rss_mb,
        steps=per_step(o.steps for o in run.outcomes),
    )


def format_report(summaries: list[Summary]) -> str:
    header = (
        f"{'reader':<12} {'docs':>5} {'read rate':>10} {'misread':>8} {'median s':>9} "
        f"{'p95 s':>7} {'peak MB':>8}"
    )
    rows = [header]
    for s in summaries:
        rows.append(
            f"{s.reader:<12} {s.documents:>5} {s.read_rate:>10.1%} {s.misread_rate:>8.1%} "
            f"{s.median_seconds:>9.3f} {s.p95_seconds:>7.3f} {s.peak_rss_mb:>8.0f}"
        )
    for s in summaries:
        if s.steps:
            rows.append("")
            rows.append(f"{s.reader} per step:")
            rows.extend(format_steps(s.steps))
    first = summaries[0]
    if first.field_accuracy:
        rows.append("")
        rows.append("per-field accuracy: " + ", ".join(s.reader for s in summaries))
        for name in MRZ_FIELDS:
            figures = " ".join(f"{s.field_accuracy.get(name, 0.0):>7.1%}" for s in summaries)
            rows.append(f"  {name:<18}{figures}")
    for other in summaries[1:]:
        rows.append("")
        rows.append(
            f"{first.reader} vs {other.reader}: read rate {first.read_rate:.1%} vs "
            f"{other.read_rate:.1%}; {_ratio(other.median_seconds, first.median_seconds)} faster "
            f"(median); peak memory {_ratio(first.peak_rss_mb, other.peak_rss_mb)} "
            f"of {other.reader}'s"
        )
    return "\n".join(rows)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def benchmark(
    folder: Path, *, compare: str | None = None, limit: int | None = None
) -> list[Summary]:
    images = collect_images(folder)[:limit]
    paths = [image.path for image in images]
    readers = ["idflow"] + ([compare] if compare else [])
    return [summarise(run_in_child(reader, paths), images) for reader in readers]


def summaries_to_json(summaries: list[Summary]) -> list[dict[str, Any]]:
    return [asdict(s) for s in summaries]
