"""`idflow bench-verify`: how fast `verify` runs on photographed documents with a real face and
a selfie, and the face match's error rates at `MATCH_THRESHOLD` on a folder of face photos.

The faces folder holds one folder per person (`_multiple_or_partial`, group and partial shots, is
skipped). Each document carries one photo of a person, cropped passport-style and printed by the
sample generator; the selfie is *another* photo of the same person, so every timed verification
exercises a genuine match. The rates come from every genuine and impostor pair of photos, both
photo-vs-photo and portrait-printed-on-a-document-vs-photo (the real selfie-check situation).
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from bench.steps import StepStats, format_steps, per_step
from processing.errors import FaceModelError, SampleGenerationError
from processing.face import MATCH_THRESHOLD, active_detector, detect_faces, face_embedding
from processing.model_files import YUNET_FILE, yunet_path
from processing.portrait import find_portrait
from processing.result import to_plain
from processing.samples import Kind, SampleDocument, make_document, photograph
from processing.verify import ProvidedDetails, VerifyOptions, verify

GROUP_FOLDER = "_multiple_or_partial"
DEFAULT_KINDS: tuple[Kind, ...] = ("td1", "dl", "td3")
PairSource = Literal["photo", "document"]
_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
_PORTRAIT_SIZE = (390, 500)  # the generator's portrait box aspect (35x45 mm)
_FACE_SHARE = 0.55  # face width as a share of the portrait width, as on a passport photo
_PORTRAIT_SEED = 7  # document the face-rate portraits are printed on
_SEED_STEP = 1000  # next seed tried when a specimen came out expired
_KIND_SEEDS: dict[Kind, int] = {"td3": 3, "td1": 1, "td2": 2, "dl": 4}  # photograph() streams


@dataclass(frozen=True)
class TimingSummary:
    kind: str  # a document kind, or "all"
    documents: int
    verified: int
    median_seconds: float
    p95_seconds: float
    errors: dict[str, int]  # last_error code -> count, for the documents not verified
    steps: tuple[StepStats, ...]  # median and p95 per step of the verdict's timings

    @property
    def verified_share(self) -> float:
        return self.verified / self.documents if self.documents else 0.0


@dataclass(frozen=True)
class PairDistance:
    source: PairSource
    first: str  # "person/file"; for a document pair, the photo printed on the document
    second: str
    genuine: bool
    distance: float


@dataclass(frozen=True)
class MatchRates:
    source: str  # "photo", "document" or "all"
    genuine_pairs: int
    impostor_pairs: int
    false_non_matches: int
    false_matches: int
    genuine_max: float
    impostor_min: float

    @property
    def fnmr(self) -> float:
        return self.false_non_matches / self.genuine_pairs if self.genuine_pairs else 0.0

    @property
    def fmr(self) -> float:
        return self.false_matches / self.impostor_pairs if self.impostor_pairs else 0.0


@dataclass(frozen=True)
class VerifyBenchReport:
    faces_dir: str
    detector: str
    threshold: float
    timings: tuple[TimingSummary, ...]  # per kind, then "all"
    rates: tuple[MatchRates, ...]  # photo, document, all
    pairs: tuple[PairDistance, ...]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = to_plain(self)
        for summary, plain in zip(self.timings, data["timings"], strict=True):
            plain["verified_share"] = round(summary.verified_share, 4)
        for rates, plain in zip(self.rates, data["rates"], strict=True):
            plain["fnmr"], plain["fmr"] = round(rates.fnmr, 4), round(rates.fmr, 4)
        return data


def default_faces_dir() -> Path | None:
    """`$IDFLOW_SHARED_DIR/samples/faces` when that is set, else `../shared/samples/faces`."""
    shared = os.environ.get("IDFLOW_SHARED_DIR")
    folder = (
        Path(shared) / "samples" / "faces" if shared else Path("..", "shared", "samples", "faces")
    )
    return folder if folder.is_dir() else None


def default_detector_model(faces_dir: Path) -> Path | None:
    """The installed YuNet file, else the one in the shared folder next to the faces."""
    installed = yunet_path()
    if installed is not None:
        return installed
    shared = faces_dir.resolve().parents[1] / "models" / YUNET_FILE
    return shared if shared.is_file() else None


def people(faces_dir: Path) -> dict[str, list[Path]]:
    """Person -> their photos, sorted; persons without a photo are left out."""
    folders = sorted(p for p in faces_dir.iterdir() if p.is_dir() and p.name != GROUP_FOLDER)
    found = {
        folder.name: sorted(p for p in folder.iterdir() if p.suffix.lower() in _PHOTO_SUFFIXES)
        for folder in folders
    }
    return {name: photos for name, photos in found.items() if photos}


def read_photo(path: Path) -> NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SampleGenerationError(f"The face photo {path} cannot be decoded.")
    return np.asarray(image, dtype=np.uint8)


def head_crop(photo: NDArray[np.uint8], detector_model: Path | None) -> Image.Image:
    """A passport-style crop centred on the largest face, as RGB for the generator.

    The generator centre-crops whatever it is given, which would cut an off-centre head.
    """
    faces = detect_faces(photo, detector_model=detector_model)
    if not faces:
        raise SampleGenerationError("No face found in the photo to print on a document.")
    x, y, w, h = faces[0].box
    crop_w = w / _FACE_SHARE
    crop_h = crop_w * _PORTRAIT_SIZE[1] / _PORTRAIT_SIZE[0]
    x0, y0 = round(x + w / 2 - crop_w / 2), round(y + h / 2 - crop_h * 0.45)
    pad = round(crop_h)
    padded = cv2.copyMakeBorder(photo, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = padded[y0 + pad : y0 + pad + round(crop_h), x0 + pad : x0 + pad + round(crop_w)]
    resized = cv2.resize(crop, _PORTRAIT_SIZE, interpolation=cv2.INTER_AREA)
    return Image.fromarray(cv2.cvtColor(resized, cv2.COLOR_BGR2RGB))


def document_portrait(
    photo: Path, detector_model: Path | None, kind: Kind = "td3", seed: int = _PORTRAIT_SEED
) -> NDArray[np.uint8]:
    """The portrait found again on a generated document that carries `photo` as the holder."""
    face = head_crop(read_photo(photo), detector_model)
    document = make_document(kind, seed, face=face).front
    portrait = find_portrait(document, detector_model=detector_model)
    if portrait is None:
        raise SampleGenerationError(f"The portrait printed from {photo} was not found again.")
    return portrait.image


def _embedding(image: NDArray[np.uint8], detector_model: Path | None) -> NDArray[np.float32]:
    faces = detect_faces(image, detector_model=detector_model)
    if not faces:
        raise FaceModelError("A face photo of the benchmark set shows no detectable face.")
    return face_embedding(image, faces[0])


def _label(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def distance_table(faces_dir: Path, detector_model: Path | None) -> list[PairDistance]:
    """Every genuine and impostor distance: photo pairs (unordered) and document-photo pairs
    (ordered: each printed portrait against every other photo), closest first."""
    photos = [(name, path) for name, paths in people(faces_dir).items() for path in paths]
    vectors = {path: _embedding(read_photo(path), detector_model) for _, path in photos}
    printed = {
        path: _embedding(document_portrait(path, detector_model), detector_model)
        for _, path in photos
    }
    pairs = [
        PairDistance(
            "photo",
            _label(a),
            _label(b),
            name_a == name_b,
            float(np.linalg.norm(vectors[a] - vectors[b])),
        )
        for (name_a, a), (name_b, b) in itertools.combinations(photos, 2)
    ]
    pairs += [
        PairDistance(
            "document",
            _label(a),
            _label(b),
            name_a == name_b,
            float(np.linalg.norm(printed[a] - vectors[b])),
        )
        for (name_a, a), (name_b, b) in itertools.permutations(photos, 2)
    ]
    return sorted(pairs, key=lambda p: p.distance)


def match_rates(
    pairs: list[PairDistance], threshold: float = MATCH_THRESHOLD
) -> tuple[MatchRates, ...]:
    """False non-match and false match counts at `threshold`, per pair source and overall."""
    rates = []
    for source in ("photo", "document", "all"):
        subset = [p for p in pairs if source in ("all", p.source)]
        genuine = [p.distance for p in subset if p.genuine]
        impostor = [p.distance for p in subset if not p.genuine]
        rates.append(
            MatchRates(
                source=source,
                genuine_pairs=len(genuine),
                impostor_pairs=len(impostor),
                false_non_matches=sum(d > threshold for d in genuine),
                false_matches=sum(d <= threshold for d in impostor),
                genuine_max=max(genuine, default=float("nan")),
                impostor_min=min(impostor, default=float("nan")),
            )
        )
    return tuple(rates)


def _jpeg(image: NDArray[np.uint8], quality: int) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise SampleGenerationError("OpenCV could not JPEG-encode a benchmark photo.")
    return bytes(encoded.tobytes())


def _photographed(image: NDArray[np.uint8], seed: list[int]) -> bytes:
    photo, augmentations = photograph(image, np.random.default_rng(seed))
    return _jpeg(photo, int(augmentations["jpeg_quality"]))


def _valid_document(kind: Kind, index: int, face: Image.Image, today: date) -> SampleDocument:
    """The first unexpired specimen from seed `index` on: the generator makes some expired."""
    seed = index
    while True:
        document = make_document(kind, seed, face=face, today=today)
        if date.fromisoformat(document.truth_front["holder"]["expiry_date"]) >= today:
            return document
        seed += _SEED_STEP


@dataclass(frozen=True)
class Case:
    kind: Kind
    front: bytes
    back: bytes | None
    selfie: bytes
    provided: ProvidedDetails


def cases(
    faces_dir: Path, count: int, kinds: tuple[Kind, ...], detector_model: Path | None, today: date
) -> list[Case]:
    """`count` photographed documents per kind, each with another photo of its holder."""
    holders = [(name, paths) for name, paths in people(faces_dir).items() if len(paths) > 1]
    if not holders:
        raise SampleGenerationError(
            f"{faces_dir} has no person with two photos: a selfie must differ from the portrait."
        )
    crops: dict[Path, Image.Image] = {}
    cases = []
    for case, (index, kind) in enumerate(itertools.product(range(count), kinds)):
        _, paths = holders[case % len(holders)]
        printed = paths[(case // len(holders)) % len(paths)]
        selfie = paths[(paths.index(printed) + 1) % len(paths)]
        if printed not in crops:
            crops[printed] = head_crop(read_photo(printed), detector_model)
        document = _valid_document(kind, index, crops[printed], today)
        holder = document.truth_front["holder"]
        side = _KIND_SEEDS[kind]
        cases.append(
            Case(
                kind,
                _photographed(document.front, [side, index, 0]),
                _photographed(document.back, [side, index, 1])
                if document.back is not None
                else None,
                selfie.read_bytes(),
                ProvidedDetails(
                    first_name=holder["given_names"].split()[0],
                    last_name=holder["surname"],
                    dob=date.fromisoformat(holder["birth_date"]),
                    id_number=holder["document_number"],
                ),
            )
        )
    return cases


def _percentile_95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


Outcome = tuple[float, str | None, dict[str, float]]  # seconds, last error, seconds per step


def _summary(kind: str, outcomes: list[Outcome]) -> TimingSummary:
    seconds = [s for s, _, _ in outcomes]
    errors = Counter(code for _, code, _ in outcomes if code is not None)
    return TimingSummary(
        kind=kind,
        documents=len(outcomes),
        verified=sum(code is None for _, code, _ in outcomes),
        median_seconds=statistics.median(seconds),
        p95_seconds=_percentile_95(seconds),
        errors=dict(errors.most_common()),
        steps=per_step(steps for _, _, steps in outcomes),
    )


def time_verify(
    faces_dir: Path,
    count: int,
    *,
    kinds: tuple[Kind, ...] = DEFAULT_KINDS,
    detector_model: Path | None = None,
    today: date | None = None,
) -> tuple[TimingSummary, ...]:
    """Wall time of whole `verify` calls (front, back when the kind has one, selfie).

    One untimed call first loads the OCR and face models, as a running service has.
    """
    day = today or date.today()
    made = cases(faces_dir, count, kinds, detector_model, day)
    # Test mode: the documents are the generator's own, which live verification refuses; every
    # authenticity check still runs (and is timed), only the generator's traits are waived.
    options = VerifyOptions(
        require_matching_selfie=True, require_id_number=True, accept_generated=True
    )

    def run(case: Case) -> Outcome:
        start = time.perf_counter()
        verdict = verify(
            case.front,
            case.back,
            case.selfie,
            options,
            case.provided,
            today=day,
            detector_model=detector_model,
        )
        seconds = time.perf_counter() - start
        code = verdict.last_error.code if verdict.last_error else None
        return seconds, code, verdict.timings

    run(made[0])
    outcomes = [(case.kind, run(case)) for case in made]
    per_kind = [_summary(kind, [outcome for k, outcome in outcomes if k == kind]) for kind in kinds]
    return (*per_kind, _summary("all", [outcome for _, outcome in outcomes]))


def run_bench(
    faces_dir: Path,
    count: int,
    *,
    kinds: tuple[Kind, ...] = DEFAULT_KINDS,
    detector_model: Path | None = None,
    today: date | None = None,
) -> VerifyBenchReport:
    """Both measurements on one faces folder; see the module docstring."""
    pairs = distance_table(faces_dir, detector_model)
    timings = time_verify(faces_dir, count, kinds=kinds, detector_model=detector_model, today=today)
    return VerifyBenchReport(
        faces_dir=str(faces_dir),
        detector=active_detector(detector_model),
        threshold=MATCH_THRESHOLD,
        timings=timings,
        rates=match_rates(pairs),
        pairs=tuple(pairs),
    )


def format_report(report: VerifyBenchReport) -> str:
    """Timing table, rate table and the genuine distances, as plain text."""
    lines = [
        f"faces: {report.faces_dir} (detector {report.detector})",
        "",
        "verify (front + back + selfie), photographed documents:",
        f"{'kind':<6} {'docs':>5} {'verified':>9} {'median s':>9} {'p95 s':>7}  errors",
    ]
    for t in report.timings:
        errors = ", ".join(f"{code} {n}" for code, n in t.errors.items()) or "-"
        lines.append(
            f"{t.kind:<6} {t.documents:>5} {t.verified_share:>8.0%} "
            f"{t.median_seconds:>9.2f} {t.p95_seconds:>7.2f}  {errors}"
        )
    for t in report.timings:
        lines += ["", f"{t.kind} per step:", *format_steps(t.steps)]
    lines += [
        "",
        f"face match at threshold {report.threshold}:",
        f"{'pairs':<9} {'genuine':>8} {'FNMR':>11} {'max':>6} {'impostor':>9} {'FMR':>11} "
        f"{'min':>6}",
    ]
    for r in report.rates:
        fnmr = f"{r.false_non_matches}/{r.genuine_pairs}"
        fmr = f"{r.false_matches}/{r.impostor_pairs}"
        lines.append(
            f"{r.source:<9} {r.genuine_pairs:>8} {fnmr:>11} {r.genuine_max:>6.3f} "
            f"{r.impostor_pairs:>9} {fmr:>11} {r.impostor_min:>6.3f}"
        )
    lines += ["", "genuine pairs (document: the first photo is the printed one):"]
    lines += [
        f"  {p.source:<8} {p.first:<40} {p.second:<40} {p.distance:.3f}"
        for p in report.pairs
        if p.genuine
    ]
    return "\n".join(lines)


__all__ = [
    "DEFAULT_KINDS",
    "Case",
    "MatchRates",
    "PairDistance",
    "TimingSummary",
    "VerifyBenchReport",
    "cases",
    "default_detector_model",
    "default_faces_dir",
    "distance_table",
    "document_portrait",
    "format_report",
    "head_crop",
    "match_rates",
    "people",
    "run_bench",
    "time_verify",
]
