"""Measure the figures behind the cross-session signals' thresholds (docs/risk-signals.md).

    .venv/bin/python scripts/bench_signals.py [--faces ../shared/samples/faces] \
        [--detector-model ../shared/models/face_detection_yunet_2023mar.onnx]

Face reuse: every photo in the faces folder (one folder per person; `_`-folders are skipped) is
described by processing.face, as the verdict's descriptor is (the largest face), and every pair
is measured: two photos of one person are a genuine pair, of two people an impostor pair. The
script prints both distributions, the threshold webapp.risk uses and how many pairs of each kind
it calls the same face.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

import numpy as np

from processing.face import MATCH_THRESHOLD, active_detector
from processing.load import load_image
from webapp.risk import FACE_REUSE_DISTANCE, face_descriptor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_MIN_SIDE = 100  # sample photos are as small as 424x394; the upload minimum is for documents
DEFAULT_FACES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "faces"


def _descriptors(folder: Path, detector_model: Path | None) -> dict[Path, tuple[str, np.ndarray]]:
    """Each photo's descriptor with its person; photos without a face are reported and left out."""
    found: dict[Path, tuple[str, np.ndarray]] = {}
    for person in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for path in sorted(p for p in person.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            image = load_image(path.read_bytes(), min_side=_MIN_SIDE).image
            descriptor = face_descriptor(image, detector_model=detector_model)
            if descriptor is None:
                print(f"no face: {path}")
                continue
            found[path] = (person.name, np.asarray(descriptor, dtype=np.float32))
    return found


def _summary(label: str, distances: list[float]) -> None:
    if not distances:
        print(f"{label}: no pairs")
        return
    print(
        f"{label}: {len(distances)} pairs, min {min(distances):.3f}, "
        f"median {statistics.median(distances):.3f}, max {max(distances):.3f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument(
        "--detector-model",
        type=Path,
        help="YuNet ONNX file (e.g. ../shared/models/face_detection_yunet_2023mar.onnx); "
        "default: the installed one, else dlib's HOG detector",
    )
    args = parser.parse_args()
    found = _descriptors(args.faces, args.detector_model)
    people = len({person for person, _ in found.values()})
    print(f"detector: {active_detector(args.detector_model)}")
    print(f"{len(found)} photos of {people} people")
    genuine: list[float] = []
    impostor: list[float] = []
    for (_, (a, va)), (_, (b, vb)) in itertools.combinations(found.items(), 2):
        distance = float(np.linalg.norm(va - vb))
        (genuine if a == b else impostor).append(distance)
    _summary("same person", genuine)
    _summary("different people", impostor)
    for label, threshold in (
        ("face reuse", FACE_REUSE_DISTANCE),
        ("1:1 selfie match", MATCH_THRESHOLD),
    ):
        same = sum(d <= threshold for d in genuine)
        false = sum(d <= threshold for d in impostor)
        print(
            f"{label} threshold {threshold:.2f}: same person found {same}/{len(genuine)}, "
            f"different people called the same {false}/{len(impostor)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
