"""Measure the recapture and edit signals: false alarms on genuine photos, hits on attacks, speed.

The figures behind the thresholds in processing/authenticity/recapture.py and edits.py
(docs/authenticity.md, sections "Screen recapture", "Photocopy or printout", "Digital edits"):

    idflow samples /tmp/photographed --count 40 --variant photographed \
        --faces ../shared/samples/faces
    .venv/bin/python scripts/measure_recapture.py --photographed /tmp/photographed \
        [--shared ../shared]

Genuine: the real specimen photos and scans, the face photos, the generator's photographed
variant. Attacks, made from generated documents and real specimens by processing.samples.attacks:
screen photos at several camera-to-screen pixel ratios, black-and-white copies photographed on a
table, files saved by editors, portraits and text blocks pasted from other JPEGs. Speed: each
signal on one 12-megapixel photo, median of 5 runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.authenticity import edits, recapture
from processing.load import load_image
from processing.locate import find_document_quad, warp_document, warp_to
from processing.samples import attacks, make_document, photograph
from processing.samples.portrait import face_files, load_face

Picture = NDArray[np.uint8]
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CAMERA_RATIOS = (1.0, 1.3, 1.8, 2.5, 3.5)
EDITORS = ("Adobe Photoshop 25.0 (Windows)", "GIMP 2.10.36", "Snapseed 2.0", "PicsArt", "Canva")


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _flattened(image: Picture) -> Picture:
    """The document as the pipeline would cut it out; the whole frame when no outline is found
    (the pipeline then places the crop by the MRZ or the face, on a scan the whole image)."""
    quad = find_document_quad(image)
    return warp_document(image, quad.corners, quad.size_class) if quad is not None else image


def _loaded(data: bytes) -> Picture:
    return load_image(data, min_side=150, max_side=3000).image


def _scores(path: Path) -> dict[str, float]:
    """Every signal's score; generated backs are not portrait sides (the photocopy check skips
    them); the real specimens are judged as portrait sides, backs among them included."""
    data = path.read_bytes()
    image = _loaded(data)
    flat = _flattened(image)
    signals = recapture.recapture_and_edit_signals(
        data, image, flat, portrait_side="-back" not in path.name
    )
    return {signal.name: signal.score for signal in signals}


def _table(title: str, rows: Iterable[tuple[str, dict[str, float]]], names: list[str]) -> None:
    rows = list(rows)
    print(f"\n## {title} ({len(rows)} images)")
    for name in names:
        values = [scores[name] for _, scores in rows if name in scores]
        threshold = THRESHOLDS[name]
        fired = [label for label, scores in rows if scores.get(name, 0.0) >= threshold]
        print(
            f"{name:28s} fired {len(fired):3d}/{len(values):3d}  "
            f"max {max(values, default=0):7.3f}  median {statistics.median(values or [0]):7.3f}  "
            f"threshold {threshold}  {', '.join(fired)[:300]}"
        )


THRESHOLDS = {
    "screen_recapture": recapture.SCREEN_THRESHOLD,
    "photocopy": recapture.GREY_THRESHOLD,
    "editing_software": 1.0,
    "compression_inconsistency": edits.GRID_THRESHOLD,
}
NAMES = list(THRESHOLDS)


def _genuine(shared: Path, photographed: Path) -> None:
    sets = {
        "specimens (real photos and scans)": _images(shared / "samples/specimens"),
        "faces (real photos)": _images(shared / "samples/faces"),
        "generator, photographed": _images(photographed),
        "pad (real: a printed photo, a phone screen, a live face)": _images(shared / "samples/pad"),
    }
    for title, paths in sets.items():
        _table(title, ((p.name, _scores(p)) for p in paths), NAMES)


def _sources(shared: Path) -> list[Picture]:
    """Documents an attacker starts from: generated fronts and real specimen images."""
    documents = [make_document(kind, seed).front for seed in range(3) for kind in ("td3", "td1")]
    specimens = [cv2.imread(str(p)) for p in _images(shared / "samples/specimens")]
    return documents + [s for s in specimens if s is not None and min(s.shape[:2]) >= 300]


def _rate(title: str, results: list[tuple[str, float]], threshold: float) -> None:
    hits = [score for _, score in results if score >= threshold]
    scores = sorted(score for _, score in results)
    print(
        f"{title:52s} hit {len(hits):3d}/{len(results):3d}  min {scores[0]:7.3f}  "
        f"median {statistics.median(scores):7.3f}"
    )


def _attacks(shared: Path, photographed: Path) -> None:
    rng = np.random.default_rng(7)
    sources = _sources(shared)
    print(f"\n## Attacks ({len(sources)} source documents: 6 generated, the rest real specimens)")
    for ratio in CAMERA_RATIOS:
        results = []
        for index, source in enumerate(sources):
            shot = attacks.screen_photo(
                source,
                rng,
                camera_px_per_screen_px=ratio,
                angle_deg=float(rng.uniform(-4, 4)),
                bands=float(rng.uniform(0.0, 0.1)),
            )
            data = attacks.jpeg(shot, int(rng.integers(85, 96)))
            results.append((str(index), recapture.screen_score(_loaded(data))))
        _rate(
            f"screen photo, {ratio} camera px per screen px",
            results,
            THRESHOLDS["screen_recapture"],
        )

    for halftone in (True, False):
        kind = "halftone" if halftone else "toner grain"
        flat_copies, true_outline, photographed_copies = [], [], []
        for index, source in enumerate(sources):
            copy = attacks.photocopy(source, rng, halftone=halftone)
            flat_copies.append((str(index), recapture.photocopy(copy).score))
            shot, info = photograph(copy, rng)
            image = _loaded(attacks.jpeg(shot, int(rng.integers(70, 96))))
            corners = np.array(info["corners"], np.float32)
            cut = warp_to(image, corners, (copy.shape[1], copy.shape[0]))
            true_outline.append((str(index), recapture.photocopy(cut).score))
            quad = find_document_quad(image)
            if quad is not None:  # the pipeline's outline; without one the check is left out
                flat = warp_document(image, quad.corners, quad.size_class)
                photographed_copies.append((str(index), recapture.photocopy(flat).score))
        _rate(f"black-and-white copy ({kind}), as flattened", flat_copies, THRESHOLDS["photocopy"])
        _rate(
            "... photographed on a table, cut out along its true outline",
            true_outline,
            THRESHOLDS["photocopy"],
        )
        found = f"{len(photographed_copies)}/{len(sources)}"
        _rate(
            f"... cut out along the outline the pipeline finds ({found})",
            photographed_copies,
            THRESHOLDS["photocopy"],
        )

    fronts = [p for p in _images(photographed) if "-front" in p.name and p.suffix == ".jpg"]
    faces = [load_face(p) for p in face_files(shared / "samples/faces")]
    software = []
    for index, path in enumerate(fronts):
        edited = attacks.with_software(path.read_bytes(), EDITORS[index % len(EDITORS)])
        software.append((path.name, edits.editing_software(edited).score))
    _rate("file saved by an editor (EXIF Software)", software, 1.0)

    pasted: dict[str, list[tuple[str, float]]] = {}
    for index, path in enumerate(fronts):
        data = path.read_bytes()
        image = attacks.decode(data)
        height, width = image.shape[:2]
        face = np.ascontiguousarray(np.asarray(faces[index % len(faces)].convert("RGB"))[..., ::-1])
        patch_w = width // 6
        patch = cv2.resize(face, (patch_w, patch_w * 13 // 10), interpolation=cv2.INTER_AREA)
        at = (
            int(width * 0.4) + int(rng.integers(1, 8)),
            int(height * 0.4) + int(rng.integers(1, 8)),
        )
        for low, high in ((50, 75), (75, 90)):
            quality = int(rng.integers(low, high))
            forged = attacks.paste_jpeg_region(
                data, patch, at, patch_quality=quality, final_quality=int(rng.integers(85, 96))
            )
            key = f"portrait pasted from a JPEG at quality {low}-{high - 1}"
            pasted.setdefault(key, []).append((path.name, edits.grid_patch(forged)))
        box = (int(width * 0.3) + 3, int(height * 0.45) + 5, width // 3, height // 25)
        for source_quality in (70, None):
            forged = attacks.paste_text_block(
                data,
                "MUSTERMANN ERIKA",
                box,
                final_quality=int(rng.integers(85, 96)),
                source_quality=source_quality,
            )
            key = (
                f"text block pasted from a JPEG at quality {source_quality}"
                if source_quality
                else "text block typed onto a clean patch"
            )
            pasted.setdefault(key, []).append((path.name, edits.grid_patch(forged)))
    for key, results in pasted.items():
        _rate(key, results, THRESHOLDS["compression_inconsistency"])


def _timed(call: Callable[[], object]) -> tuple[float, float]:
    """Median wall and CPU milliseconds of 5 runs (CPU time shows the cost on a busy machine)."""
    wall, cpu = [], []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def _speed(photographed: Path) -> None:
    """Each signal on a 12 MP phone-sized photo (4000 x 3000 JPEG at quality 92)."""
    first = next(p for p in _images(photographed) if p.suffix == ".jpg")
    big = cv2.resize(cv2.imread(str(first)), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    data = attacks.jpeg(big, 92)
    image = _loaded(data)
    flat = cv2.resize(_flattened(image), (1476, 1039), interpolation=cv2.INTER_AREA)  # ID-3
    print(f"\n## Speed on a 12 MP JPEG (loaded at {image.shape[1]}x{image.shape[0]}), median of 5")
    print("(the photocopy check on a passport page flattened to 1476x1039, as the pipeline cuts)")
    calls: dict[str, Callable[[], object]] = {
        "screen_recapture": lambda: recapture.screen_recapture(image),
        "photocopy": lambda: recapture.photocopy(flat),
        "editing_software": lambda: edits.editing_software(data),
        "compression_inconsistency": lambda: edits.compression_inconsistency(data),
        "all (recapture_and_edit_signals)": lambda: recapture.recapture_and_edit_signals(
            data, image, flat
        ),
    }
    for name, call in calls.items():
        wall, cpu = _timed(call)
        print(f"{name:34s} {wall:6.1f} ms wall {cpu:6.1f} ms CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photographed", type=Path, required=True)
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared"
    )
    args = parser.parse_args()
    if not args.speed_only:
        _genuine(args.shared, args.photographed)
        _attacks(args.shared, args.photographed)
    _speed(args.photographed)


if __name__ == "__main__":
    main()
