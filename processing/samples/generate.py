"""Specimen documents with their ground truth, in memory (`make_document`) or on disk
(`generate_samples`): the material tests and the benchmark measure the reader against.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from processing.errors import SampleGenerationError
from processing.mrz.compose import ComposeFormat, compose_mrz, split_name_field
from processing.samples import render
from processing.samples.aamva import dl_elements, encode_aamva
from processing.samples.identities import Identity, random_identity, random_us_identity
from processing.samples.photograph import Box, photograph
from processing.samples.portrait import face_files, load_face, silhouette

Kind = Literal["td3", "td1", "td2", "dl"]
Variant = Literal["clean", "photographed", "both"]
KINDS: tuple[Kind, ...] = get_args(Kind)
VARIANTS: tuple[Variant, ...] = get_args(Variant)
DOCUMENT_TYPES: dict[Kind, str] = {
    "td3": "passport",
    "td1": "id_card",
    "td2": "id_card",
    "dl": "driving_license",
}
_PNG_COMPRESSION = 3  # fast; clean scans stay lossless


@dataclass
class SampleDocument:
    """One specimen: BGR images of its sides and their ground-truth dicts (JSON schema)."""

    kind: Kind
    document_id: str
    front: NDArray[np.uint8]
    back: NDArray[np.uint8] | None
    truth_front: dict[str, Any]
    truth_back: dict[str, Any] | None
    machine_box_front: Box | None  # MRZ or barcode box in `front` coordinates
    machine_box_back: Box | None


def _bgr(image: Image.Image) -> NDArray[np.uint8]:
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8)[:, :, ::-1])


def _holder(identity: Identity) -> dict[str, Any]:
    return {
        "surname": identity.surname,
        "given_names": identity.given_names,
        "birth_date": identity.birth_date.isoformat(),
        "sex": identity.sex,
        "nationality": identity.nationality,
        "document_number": identity.document_number,
        "issue_date": identity.issue_date.isoformat(),
        "expiry_date": identity.expiry_date.isoformat(),
        "issuing_country": identity.issuing_country,
        "address": identity.address,
    }


def _mrz(identity: Identity, fmt: ComposeFormat, code: str, optional: str) -> dict[str, Any]:
    """The lines and the fields a correct reader returns for them."""
    nationality = identity.nationality or identity.issuing_country
    lines = compose_mrz(
        format=fmt,
        document_code=code,
        issuing_country=identity.issuing_country,
        surname=identity.surname,
        given_names=identity.given_names,
        document_number=identity.document_number,
        nationality=nationality,
        birth_date=identity.birth_date,
        sex=identity.sex,
        expiry_date=identity.expiry_date,
        optional_data=optional,
    )
    surname, given = split_name_field(lines[2] if fmt == "TD1" else lines[0][5:])
    return {
        "format": fmt,
        "lines": list(lines),
        "fields": {
            "document_code": code.strip("<"),
            "issuing_country": identity.issuing_country,
            "surname": surname,
            "given_names": given,
            "document_number": identity.document_number,
            "nationality": nationality,
            "birth_date": identity.birth_date.isoformat(),
            "sex": identity.sex,
            "expiry_date": identity.expiry_date.isoformat(),
            "optional_data": optional,
            "optional_data_2": "",
        },
    }


def _truth(
    document_id: str,
    kind: Kind,
    side: Literal["front", "back"],
    identity: Identity,
    *,
    two_sided: bool,
    mrz: dict[str, Any] | None = None,
    barcode: dict[str, Any] | None = None,
) -> dict[str, Any]:
    other = "back" if side == "front" else "front"
    return {
        "document_id": document_id,
        "kind": kind,
        "side": side,
        "image": f"{document_id}-{side}.png",
        "pair": f"{document_id}-{other}.png" if two_sided else None,
        "variant": "clean",
        "augmentations": {},
        "document_type": DOCUMENT_TYPES[kind],
        "holder": _holder(identity),
        "mrz": mrz,
        "barcode": barcode,
        "expected_readable": True,
    }


def make_document(
    kind: Kind,
    rng_seed: int,
    *,
    face: Image.Image | None = None,
    today: date | None = None,
    document_id: str | None = None,
    unmarked_for_tests: bool = False,
) -> SampleDocument:
    """A clean 300-dpi specimen of `kind`, the same for the same seed (and `today`).

    `face` is a portrait photo (any size; it is centre-cropped to the portrait box); without it
    a drawn silhouette stands in. `today` anchors issue and expiry dates (default: the real date).
    `unmarked_for_tests` leaves out the SPECIMEN print and the generator's code: the tests' genuine
    stand-ins, which the authenticity checks must let through. No command of idflow passes it.
    """
    if kind not in KINDS:
        raise SampleGenerationError(
            f"Unknown document kind {kind!r}; choose one of {', '.join(KINDS)}."
        )
    rng = random.Random(f"{kind}:{rng_seed}")
    day = today or date.today()
    doc_id = document_id or f"{kind}-{rng_seed:04d}"
    identity = random_us_identity(rng, day) if kind == "dl" else random_identity(rng, day)
    portrait = face if face is not None else silhouette(rng, (390, 500))
    marks = {"unmarked_for_tests": unmarked_for_tests}

    if kind == "td3":
        mrz = _mrz(identity, "TD3", "P", identity.personal_number[:14])
        image, box = render.render_td3(identity, mrz["lines"], portrait, rng, **marks)
        truth = _truth(doc_id, kind, "front", identity, two_sided=False, mrz=mrz)
        return SampleDocument(kind, doc_id, _bgr(image), None, truth, None, box, None)
    if kind == "td2":
        mrz = _mrz(identity, "TD2", "I", identity.personal_number[-7:])
        image, box = render.render_td2(identity, mrz["lines"], portrait, rng, **marks)
        truth = _truth(doc_id, kind, "front", identity, two_sided=False, mrz=mrz)
        return SampleDocument(kind, doc_id, _bgr(image), None, truth, None, box, None)
    if kind == "td1":
        mrz = _mrz(identity, "TD1", rng.choice(("ID", "I")), identity.personal_number)
        front = render.render_td1_front(identity, portrait, rng, **marks)
        back, box = render.render_td1_back(identity, mrz["lines"], rng, **marks)
        back_truth = _truth(doc_id, kind, "back", identity, two_sided=True, mrz=mrz)
    else:
        assert identity.jurisdiction is not None  # random_us_identity always sets it
        elements = dl_elements(identity)
        payload = encode_aamva(elements, iin=identity.jurisdiction.iin)
        front = render.render_dl_front(identity, portrait, rng, **marks)
        back, box = render.render_dl_back(identity, payload, rng, **marks)
        barcode = {"format": "PDF417", "aamva": elements}
        back_truth = _truth(doc_id, kind, "back", identity, two_sided=True, barcode=barcode)
    return SampleDocument(
        kind,
        doc_id,
        _bgr(front),
        _bgr(back),
        _truth(doc_id, kind, "front", identity, two_sided=True),
        back_truth,
        None,
        box,
    )


def _validate(
    count: int, seed: int, kinds: Sequence[str], variant: str, unreadable_share: float
) -> None:
    if seed < 0:
        raise SampleGenerationError(f"seed must be zero or a positive whole number, not {seed}.")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise SampleGenerationError(f"count must be a whole number of at least 1, not {count!r}.")
    if not kinds:
        raise SampleGenerationError("kinds is empty: name at least one of td3, td1, td2, dl.")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise SampleGenerationError(
            f"Unknown document kind(s) {unknown}; choose from {', '.join(KINDS)}."
        )
    if variant not in VARIANTS:
        raise SampleGenerationError(
            f"variant must be clean, photographed or both, not {variant!r}."
        )
    if not 0.0 <= unreadable_share <= 1.0:
        raise SampleGenerationError(
            f"unreadable_share must lie in [0, 1], not {unreadable_share!r}."
        )


def _write(path: Path, image: NDArray[np.uint8], params: list[int]) -> None:
    try:
        ok = cv2.imwrite(str(path), image, params)
    except cv2.error as exc:
        raise SampleGenerationError(f"Cannot write {path}: {exc}") from exc
    if not ok:
        raise SampleGenerationError(f"Cannot write {path}: is the folder writable?")


def _write_truth(path: Path, truth: dict[str, Any]) -> Path:
    try:
        path.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SampleGenerationError(f"Cannot write {path}: {exc}") from exc
    return path


def generate_samples(
    outdir: Path,
    *,
    count: int,
    seed: int,
    kinds: Sequence[str] = KINDS,
    variant: Variant = "clean",
    faces_dir: Path | None = None,
    strength: float = 1.0,
    unreadable_share: float = 0.0,
    today: date | None = None,
) -> list[Path]:
    """Write `count` documents (kinds in turn) with a ground-truth JSON beside every image.

    Clean sides are lossless PNG (`<id>-<side>.png`), photographed ones JPEG at the simulated
    quality (`<id>-<side>.jpg`, or `<id>-<side>-photo.jpg` when both variants are written).
    `unreadable_share` of the photographed MRZ sides get strong glare over the MRZ and
    `expected_readable: false`. Returns the JSON paths in writing order.
    """
    _validate(count, seed, kinds, variant, unreadable_share)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SampleGenerationError(f"Cannot create the output folder {outdir}: {exc}") from exc
    faces = face_files(faces_dir) if faces_dir is not None else []
    face_cache: dict[Path, Image.Image] = {}
    written: list[Path] = []
    for index in range(count):
        kind: Kind = kinds[index % len(kinds)]  # type: ignore[assignment]
        picker = random.Random(f"{seed}:{index}")
        face = None
        if faces:
            chosen = picker.choice(faces)
            if chosen not in face_cache:
                face_cache[chosen] = load_face(chosen)
            face = face_cache[chosen]
        doc = make_document(
            kind,
            seed * 100_000 + index,
            face=face,
            today=today,
            document_id=f"{kind}-{index + 1:04d}",
        )
        sides = [("front", doc.front, doc.truth_front, doc.machine_box_front)]
        if doc.back is not None and doc.truth_back is not None:
            sides.append(("back", doc.back, doc.truth_back, doc.machine_box_back))
        for side_index, (side, image, truth, box) in enumerate(sides):
            stem = f"{doc.document_id}-{side}"
            pair = truth["pair"]
            if variant in ("clean", "both"):
                _write(
                    outdir / f"{stem}.png", image, [cv2.IMWRITE_PNG_COMPRESSION, _PNG_COMPRESSION]
                )
                written.append(_write_truth(outdir / f"{stem}.json", truth))
            if variant in ("photographed", "both"):
                suffix = "-photo" if variant == "both" else ""
                unreadable = truth["mrz"] is not None and picker.random() < unreadable_share
                rng = np.random.default_rng([seed, index, side_index])
                photo, augmentations = photograph(
                    image, rng, strength=strength, machine_box=box, glare_over_mrz=unreadable
                )
                quality = int(augmentations["jpeg_quality"])
                _write(outdir / f"{stem}{suffix}.jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, quality])
                photo_truth = {
                    **truth,
                    "image": f"{stem}{suffix}.jpg",
                    "pair": pair.replace(".png", f"{suffix}.jpg") if pair else None,
                    "variant": "photographed",
                    "augmentations": augmentations,
                    "expected_readable": not augmentations["glare_over_mrz"],
                }
                written.append(_write_truth(outdir / f"{stem}{suffix}.json", photo_truth))
    return written
