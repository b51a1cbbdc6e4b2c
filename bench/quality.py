"""Measure the quality checks against what the reader actually reads; prints the tables.

The figures behind the thresholds in processing/quality.py (docs/quality-thresholds.md):

    IDFLOW_MODELS_DIR=../shared/models .venv/bin/python -m bench.quality \
        --workdir /tmp/idflow-quality [--specimens ../shared/samples/specimens]

Three sets of generated documents (processing.samples), each image read by the full pipeline and
assessed with the document outline and MRZ box the pipeline itself found:

- photographed: `generate_samples(variant="photographed")` at default strength; every
  blocking finding on a document that read is a false alarm.
- blur: clean MRZ sides photographed at strength 0.5, then blurred further in the photo (Gaussian
  sigma 0-5 px, motion 0-16 px): where the read rate collapses is where blur must block.
- glare: `generate_samples(unreadable_share=0.5)`: strong glare over the MRZ on half the MRZ
  sides (meant to be unreadable), ordinary glare and uneven light on the rest.

Reads are cached in the work folder (`cases.json`), so re-running after a change to
processing/quality.py only re-assesses (add --fresh to read again).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import signal
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.load import load_image
from processing.locate import DocumentQuad, find_document_quad
from processing.pipeline import find_mrz, read_document
from processing.quality import QualityReport, assess_quality
from processing.samples import Kind, generate_samples, make_document, photograph

MRZ_KINDS: tuple[Kind, ...] = ("td3", "td2", "td1")
BLUR_SIGMAS = (0.0, 1.0, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)
READ_TIMEOUT_S = 20  # a hopeless photo can keep the MRZ search busy for minutes: count it unread
SETS = ("photographed", "glare", "blur")


class ReadTimeout(Exception):
    """The reader took longer than READ_TIMEOUT_S."""


def _alarm(signum: int, frame: Any) -> None:
    raise ReadTimeout


def _read(front: bytes, back: bytes | None = None) -> Any:
    """The pipeline's result, or None when it ran out of time (an unreadable photo)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(READ_TIMEOUT_S)
    try:
        return read_document(front, back)
    except ReadTimeout:
        return None
    finally:
        signal.alarm(0)


MOTION_LENGTHS = (8, 12, 16)


@dataclass
class Case:
    """One image, what the reader made of it, and what the pipeline handed to assess_quality."""

    set: str
    image: str
    readable: bool  # the document's MRZ (or barcode / visual zone) read correctly
    expected_readable: bool
    augmentations: dict[str, Any]
    quad: list[list[float]] | None
    quad_area_share: float
    quad_method: str
    mrz_box: list[int] | None
    blur_px: float = 0.0  # extra Gaussian blur in photo pixels (blur set)
    motion_px: int = 0  # extra motion blur length in photo pixels (blur set)


def _mrz_matches(result: Any, truth: dict[str, Any]) -> bool:
    mrz = result.mrz
    expected = truth["mrz"]["fields"]
    return bool(
        mrz is not None
        and mrz.valid
        and mrz.document_number == expected["document_number"]
        and mrz.birth_date == expected["birth_date"]
        and mrz.surname == expected["surname"]
    )


def _read_ok(result: Any, truths: list[dict[str, Any]]) -> bool:
    """Read, and right: the MRZ fields match the ground truth when a side has an MRZ."""
    if result is None or result.status != "read":
        return False
    return all(_mrz_matches(result, t) for t in truths if t["mrz"] is not None)


def _placement(image: NDArray[np.uint8]) -> tuple[DocumentQuad | None, list[int] | None]:
    """The outline and MRZ box exactly as the pipeline finds them."""
    quad = find_document_quad(image)
    attempt = find_mrz(image, quad, None)
    return quad, list(attempt.box_in_image) if attempt else None


def _case(
    set_name: str, path: Path, data: bytes, readable: bool, truth: dict[str, Any], **extra: Any
) -> Case:
    image = load_image(data, min_side=150).image
    quad, box = _placement(image)
    return Case(
        set=set_name,
        image=str(path),
        readable=readable,
        expected_readable=bool(truth["expected_readable"]),
        augmentations=truth.get("augmentations", {}),
        quad=quad.corners.tolist() if quad else None,
        quad_area_share=quad.area_share if quad else 0.0,
        quad_method=quad.method if quad else "",
        mrz_box=box,
        **extra,
    )


def sample_set_cases(set_name: str, folder: Path, json_paths: Iterable[Path]) -> list[Case]:
    """Every side of every generated document; a document is read with both its sides."""
    truths = {p: json.loads(p.read_text()) for p in json_paths}
    cases = []
    for path, truth in truths.items():
        if truth["side"] == "back" and truth["pair"]:
            continue  # read together with its front
        sides = [(folder / truth["image"], truth)]
        if truth["pair"]:
            back_path = folder / truth["pair"]
            sides.append((back_path, json.loads(back_path.with_suffix(".json").read_text())))
        blobs = [p.read_bytes() for p, _ in sides]
        result = _read(blobs[0], blobs[1] if len(blobs) > 1 else None)
        ok = _read_ok(result, [t for _, t in sides])
        for (image_path, side_truth), data in zip(sides, blobs, strict=True):
            cases.append(_case(set_name, image_path, data, ok, side_truth))
        print(f"  {path.stem}: ok={ok}", flush=True)
    return cases


def _motion(length: int, angle: float) -> NDArray[np.float32]:
    kernel = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    dx, dy = math.cos(angle) * c, math.sin(angle) * c
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    return np.asarray(kernel / kernel.sum(), np.float32)


def blur_set_cases(folder: Path, documents: int) -> list[Case]:
    """MRZ sides photographed gently, then blurred further at known strengths in the photo."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for index in range(documents):
        kind = MRZ_KINDS[index % len(MRZ_KINDS)]
        doc = make_document(kind, 9000 + index)
        side, truth, box = (
            (doc.back, doc.truth_back, doc.machine_box_back)
            if kind == "td1"
            else (doc.front, doc.truth_front, doc.machine_box_front)
        )
        assert side is not None and truth is not None
        rng = np.random.default_rng(index)
        base, augmentations = photograph(side, rng, strength=0.5, machine_box=box)
        variants = [(s, 0) for s in BLUR_SIGMAS] + [(0.0, m) for m in MOTION_LENGTHS]
        for sigma, motion in variants:
            image = base if sigma == 0 else cv2.GaussianBlur(base, (0, 0), sigma)
            if motion:
                image = cv2.filter2D(image, -1, _motion(motion, float(rng.uniform(0, math.pi))))
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
            assert ok
            data = encoded.tobytes()
            path = folder / f"{truth['document_id']}-g{sigma:.1f}-m{motion}.jpg"
            path.write_bytes(data)
            result = _read(data)
            side_truth = {**truth, "augmentations": augmentations}
            readable = _read_ok(result, [truth])
            cases.append(
                _case("blur", path, data, readable, side_truth, blur_px=sigma, motion_px=motion)
            )
            print(f"  {path.stem}: ok={readable}", flush=True)
    return cases


def collect(set_name: str, workdir: Path, documents: int, blur_documents: int) -> list[Case]:
    print(f"reading the {set_name} set", flush=True)
    if set_name == "blur":
        return blur_set_cases(workdir / "blur", blur_documents)
    folder = workdir / set_name
    if set_name == "photographed":
        written = generate_samples(folder, count=documents, seed=5, variant="photographed")
    else:
        written = generate_samples(
            folder,
            count=documents // 2,
            seed=11,
            kinds=MRZ_KINDS,
            variant="photographed",
            unreadable_share=0.5,
        )
    return sample_set_cases(set_name, folder, written)


def assess(case: Case) -> tuple[QualityReport, float]:
    """The report on the case's image, and how long assess_quality took (seconds)."""
    image = cv2.imread(case.image, cv2.IMREAD_COLOR)
    quad = (
        DocumentQuad(np.array(case.quad, np.float32), case.quad_area_share, case.quad_method)  # type: ignore[arg-type]
        if case.quad
        else None
    )
    box = tuple(case.mrz_box) if case.mrz_box else None
    start = time.perf_counter()
    report = assess_quality(image, document_quad=quad, mrz_box=box)  # type: ignore[arg-type]
    return report, time.perf_counter() - start


def _blocking_codes(report: QualityReport) -> list[str]:
    return [f.code for f in report.findings if f.severity == "error"]


def outcome_table(cases: list[Case], reports: list[QualityReport]) -> None:
    print("## blocking findings against what the reader read")
    print("set           images  read  read+blocked (false alarm)  unread  unread+blocked")
    for name in ("photographed", "glare", "blur"):
        rows = [(c, r) for c, r in zip(cases, reports, strict=True) if c.set == name]
        read = [(c, r) for c, r in rows if c.readable]
        unread = [(c, r) for c, r in rows if not c.readable]
        false_alarms = [(c, r) for c, r in read if r.blocking]
        caught = [(c, r) for c, r in unread if r.blocking]
        print(
            f"{name:12s}  {len(rows):6d}  {len(read):4d}  {len(false_alarms):26d}  "
            f"{len(unread):6d}  {len(caught):14d}"
        )
        for c, r in false_alarms:
            print(f"    false alarm {Path(c.image).name}: {_blocking_codes(r)}")
    print()


def blur_table(cases: list[Case], reports: list[QualityReport]) -> None:
    print("## blur set: extra blur in the photo, measured blur_sigma, read rate, blocked")
    print("gauss_px  motion_px  n   blur_sigma mean [min-max]   read   blurry error  warning")
    keys = sorted({(c.blur_px, c.motion_px) for c in cases if c.set == "blur"})
    for sigma, motion in keys:
        rows = [
            (c, r)
            for c, r in zip(cases, reports, strict=True)
            if c.set == "blur" and (c.blur_px, c.motion_px) == (sigma, motion)
        ]
        measured = [r.metrics["blur_sigma"] for _, r in rows]
        severities = [{f.code: f.severity for f in r.findings}.get("image_blurry") for _, r in rows]
        print(
            f"{sigma:8.1f}  {motion:9d}  {len(rows):2d}  {np.mean(measured):6.2f} "
            f"[{min(measured):.2f}-{max(measured):.2f}]     "
            f"{sum(c.readable for c, _ in rows):2d}/{len(rows):2d}  "
            f"{severities.count('error'):12d}  {severities.count('warning'):7d}"
        )
    print()
    print("## blur set: read rate by measured blur_sigma")
    pairs = [(r.metrics["blur_sigma"], c.readable) for c, r in zip(cases, reports, strict=True)]
    sigmas = np.array([m for (m, _), c in zip(pairs, cases, strict=True) if c.set == "blur"])
    readable = np.array([ok for (_, ok), c in zip(pairs, cases, strict=True) if c.set == "blur"])
    edges = (0, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 8, 100)
    for low, high in itertools.pairwise(edges):
        inside = (sigmas >= low) & (sigmas < high)
        if inside.any():
            rate = readable[inside].mean()
            print(f"  [{low:4.1f}, {high:5.1f})  n={inside.sum():3d}  read={rate:.2f}")
    print()


def glare_table(cases: list[Case], reports: list[QualityReport]) -> None:
    print("## glare: glare_on_mrz_share and glare_share by what was done to the photo")
    print(
        "condition                   n  read  on_mrz max  share max  glare_on_mrz err  glare warn"
    )
    groups: dict[str, list[tuple[Case, QualityReport]]] = {}
    for c, r in zip(cases, reports, strict=True):
        if c.set == "blur":
            continue
        a = c.augmentations
        if a.get("glare_over_mrz"):
            key = "glare over the MRZ"
        elif a.get("glare"):
            key = "glare elsewhere"
        elif a.get("uneven_light"):
            key = "uneven light, no glare"
        else:
            key = "even light, no glare"
        groups.setdefault(key, []).append((c, r))
    for key, rows in sorted(groups.items()):
        codes = [{f.code: f.severity for f in r.findings} for _, r in rows]
        print(
            f"{key:24s}  {len(rows):3d}  {sum(c.readable for c, _ in rows):4d}  "
            f"{max(r.metrics['glare_on_mrz_share'] for _, r in rows):10.3f}  "
            f"{max(r.metrics['glare_share'] for _, r in rows):9.3f}  "
            f"{sum(d.get('glare_on_mrz') == 'error' for d in codes):16d}  "
            f"{sum(d.get('glare') == 'warning' for d in codes):10d}"
        )
    print()


def photographed_blur_table(cases: list[Case], reports: list[QualityReport]) -> None:
    print("## photographed set: measured blur_sigma against the true blur of the photo")
    rows = [(c, r) for c, r in zip(cases, reports, strict=True) if c.set == "photographed"]
    if not rows:
        return
    measured = np.array([r.metrics["blur_sigma"] for _, r in rows])
    print(
        f"  blur_sigma: median {np.median(measured):.2f}, "
        f"95th pct {np.percentile(measured, 95):.2f}, max {measured.max():.2f} "
        "(true Gaussian 0.3-1.6 px, motion 0-7 px)"
    )
    print()


def specimen_table(folder: Path) -> None:
    print("## real specimens (all readable): blocking findings and the key metrics")
    for path in sorted(folder.glob("*.*g")):
        data = path.read_bytes()
        image = load_image(data, min_side=150).image
        quad, box = _placement(image)
        report = assess_quality(image, document_quad=quad, mrz_box=tuple(box) if box else None)  # type: ignore[arg-type]
        m = report.metrics
        print(
            f"  {path.name:20s} blur={m['blur_sigma']:.2f} glare_mrz={m['glare_on_mrz_share']:.3f} "
            f"glare={m['glare_share']:.3f} blocking={_blocking_codes(report)} "
            f"all={[(f.code, f.severity) for f in report.findings]}"
        )
    print()


def timing_table(times: list[float]) -> None:
    ms = np.array(times) * 1000
    print(
        f"## assess_quality time: median {np.median(ms):.1f} ms, 95th pct "
        f"{np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms over {len(ms)} images\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/idflow-quality"))
    parser.add_argument("--documents", type=int, default=60)
    parser.add_argument("--blur-documents", type=int, default=9)
    parser.add_argument("--specimens", type=Path, default=Path("../shared/samples/specimens"))
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated, of " + str(SETS))
    parser.add_argument("--fresh", action="store_true", help="read the images again")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    cases = []
    for set_name in args.sets.split(","):
        cache = args.workdir / f"cases-{set_name}.json"
        if cache.exists() and not args.fresh:
            cases += [Case(**c) for c in json.loads(cache.read_text())]
            continue
        found = collect(set_name, args.workdir, args.documents, args.blur_documents)
        cache.write_text(json.dumps([asdict(c) for c in found]))
        cases += found
    assessed = [assess(c) for c in cases]
    reports = [r for r, _ in assessed]
    outcome_table(cases, reports)
    blur_table(cases, reports)
    photographed_blur_table(cases, reports)
    glare_table(cases, reports)
    timing_table([t for _, t in assessed])
    if args.specimens.is_dir():
        specimen_table(args.specimens)


if __name__ == "__main__":
    main()
