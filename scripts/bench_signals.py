"""Measure the figures behind the cross-session signals' thresholds (docs/risk-signals.md).

    .venv/bin/python scripts/bench_signals.py [--faces ../shared/samples/faces] \\
        [--detector-model ../shared/models/face_detection_yunet_2023mar.onnx] [--documents]

Face reuse: every photo in the faces folder (one folder per person; `_`-folders are skipped) is
described as the verdict job describes a selfie (the largest face), and every pair is measured:
two photos of one person are a genuine pair, of two people an impostor pair. `--documents` also
prints each photo on a photographed passport (the generator without its mark, as the tests'
genuine stand-ins), read by the pipeline and described from the portrait it cuts out, as a
session without a selfie is. The script prints both distributions, the threshold webapp.risk
uses and how many pairs of each kind it calls one face.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.face import MATCH_THRESHOLD, active_detector
from processing.load import load_image
from processing.pipeline import read_document
from processing.samples import make_document, photograph
from processing.samples.portrait import load_face
from webapp.risk import FACE_REUSE_DISTANCE, face_descriptor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_MIN_SIDE = 100  # sample photos are as small as 424x394; the upload minimum is for documents
DEFAULT_FACES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "faces"
Describe = Callable[[Path, int], NDArray[np.uint8] | None]


def _photo(path: Path, _seed: int) -> NDArray[np.uint8] | None:
    return load_image(path.read_bytes(), min_side=_MIN_SIDE).image


def _portrait_on_passport(path: Path, seed: int) -> NDArray[np.uint8] | None:
    """The portrait the reader cuts out of a photographed passport carrying this face."""
    document = make_document("td3", seed, face=load_face(path), unmarked_for_tests=True)
    photo, _ = photograph(
        document.front, np.random.default_rng(seed), machine_box=document.machine_box_front
    )
    ok, encoded = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    result = read_document(encoded.tobytes())
    return result.portrait.image if result.portrait is not None else None


def _descriptors(
    folder: Path, image_of: Describe, detector_model: Path | None
) -> dict[Path, tuple[str, NDArray[np.float32]]]:
    """Each photo's descriptor with its person; photos without a face are reported and left out."""
    people = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_"))
    paths = [
        path
        for person in people
        for path in sorted(person.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    found: dict[Path, tuple[str, NDArray[np.float32]]] = {}
    for seed, path in enumerate(paths, start=1):
        image = image_of(path, seed)
        descriptor = (
            face_descriptor(image, detector_model=detector_model) if image is not None else None
        )
        if descriptor is None:
            print(f"  no face: {path}")
            continue
        found[path] = (path.parent.name, np.asarray(descriptor, dtype=np.float32))
    return found


def _summary(label: str, distances: list[float]) -> None:
    if not distances:
        print(f"  {label}: no pairs")
        return
    print(
        f"  {label}: {len(distances)} pairs, min {min(distances):.3f}, "
        f"median {statistics.median(distances):.3f}, max {max(distances):.3f}"
    )


def _measure(title: str, found: dict[Path, tuple[str, NDArray[np.float32]]]) -> None:
    people = len({person for person, _ in found.values()})
    print(f"{title}: {len(found)} faces of {people} people")
    genuine: list[float] = []
    impostor: list[float] = []
    for (a, va), (b, vb) in itertools.combinations(found.values(), 2):
        (genuine if a == b else impostor).append(float(np.linalg.norm(va - vb)))
    _summary("same person", genuine)
    _summary("different people", impostor)
    for label, threshold in (
        ("face reuse", FACE_REUSE_DISTANCE),
        ("1:1 selfie match", MATCH_THRESHOLD),
    ):
        same = sum(d <= threshold for d in genuine)
        false = sum(d <= threshold for d in impostor)
        print(
            f"  {label} threshold {threshold:.2f}: same person found {same}/{len(genuine)}, "
            f"different people called one face {false}/{len(impostor)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument(
        "--detector-model",
        type=Path,
        help="YuNet ONNX file (e.g. ../shared/models/face_detection_yunet_2023mar.onnx); "
        "default: the installed one, else dlib's HOG detector",
    )
    parser.add_argument(
        "--documents", action="store_true", help="also measure portraits read off passports"
    )
    args = parser.parse_args()
    print(f"detector: {active_detector(args.detector_model)}")
    _measure("photos", _descriptors(args.faces, _photo, args.detector_model))
    if args.documents:
        portraits = _descriptors(args.faces, _portrait_on_passport, args.detector_model)
        _measure("portraits on photographed passports", portraits)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
