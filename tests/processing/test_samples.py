"""The specimen generator: layouts, ground truth, photo simulation, PDF417 and files on disk."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import zxingcpp

from processing.errors import SampleGenerationError
from processing.locate import canonical_size
from processing.mrz.checkdigit import check_digit
from processing.mrz.compose import transliterate
from processing.mrz.model import MRZ_FIELDS
from processing.mrz.parse import parse_mrz
from processing.samples import KINDS, SampleDocument, generate_samples, make_document, photograph
from processing.samples.aamva import encode_aamva
from processing.samples.identities import random_identity
from tests.support.shared import SHARED

TODAY = date(2026, 6, 1)
TRUTH_KEYS = {
    "document_id",
    "kind",
    "side",
    "image",
    "pair",
    "variant",
    "augmentations",
    "document_type",
    "holder",
    "mrz",
    "barcode",
    "expected_readable",
}
HOLDER_KEYS = {
    "surname",
    "given_names",
    "birth_date",
    "sex",
    "nationality",
    "document_number",
    "issue_date",
    "expiry_date",
    "issuing_country",
    "address",
}
SIZES = {"td3": "ID3", "td2": "ID2", "td1": "ID1", "dl": "ID1"}


@pytest.fixture(scope="module")
def documents() -> dict[str, SampleDocument]:
    return {kind: make_document(kind, 7, today=TODAY) for kind in KINDS}


def _mrz_truth(doc: SampleDocument) -> dict[str, Any]:
    truth = doc.truth_back if doc.kind == "td1" else doc.truth_front
    assert truth is not None and truth["mrz"] is not None
    return truth["mrz"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["td3", "td1", "td2", "dl"])
def test_sides_have_canonical_size_and_complete_truth(
    documents: dict[str, SampleDocument], kind: str
) -> None:
    doc = documents[kind]
    width, height = canonical_size(SIZES[kind])  # type: ignore[arg-type]
    sides = [(doc.front, doc.truth_front)]
    if kind in ("td1", "dl"):
        assert doc.back is not None and doc.truth_back is not None
        sides.append((doc.back, doc.truth_back))
    else:
        assert doc.back is None and doc.truth_back is None
    for image, truth in sides:
        assert image.shape == (height, width, 3) and image.dtype == np.uint8
        assert set(truth) == TRUTH_KEYS
        assert set(truth["holder"]) == HOLDER_KEYS
        assert truth["image"] == f"{doc.document_id}-{truth['side']}.png"
        assert truth["variant"] == "clean" and truth["augmentations"] == {}
        assert truth["expected_readable"] is True
        assert date.fromisoformat(truth["holder"]["issue_date"]) <= TODAY
        json.dumps(truth)
    mrz_sides = [t["side"] for _, t in sides if t["mrz"] is not None]
    assert mrz_sides == {"td3": ["front"], "td2": ["front"], "td1": ["back"], "dl": []}[kind]


@pytest.mark.parametrize(("kind", "shape"), [("td3", (2, 44)), ("td1", (3, 30)), ("td2", (2, 36))])
def test_mrz_truth_has_valid_lines_and_reads_back(
    documents: dict[str, SampleDocument], kind: str, shape: tuple[int, int]
) -> None:
    mrz = _mrz_truth(documents[kind])
    lines = mrz["lines"]
    assert (len(lines), {len(line) for line in lines}) == (shape[0], {shape[1]})
    assert set(mrz["fields"]) == set(MRZ_FIELDS)
    data_line = lines[0] if kind == "td1" else lines[1]
    start = 5 if kind == "td1" else 0
    assert data_line[start + 9] == check_digit(data_line[start : start + 9])
    parsed = parse_mrz(lines, today=TODAY)
    assert parsed.valid
    assert {k: getattr(parsed, k) for k in MRZ_FIELDS} == mrz["fields"]


def test_holder_matches_mrz_after_transliteration() -> None:
    for seed in range(4):
        doc = make_document("td3", seed, today=TODAY)
        holder, fields = doc.truth_front["holder"], _mrz_truth(doc)["fields"]
        assert fields["document_number"] == holder["document_number"]
        assert fields["birth_date"] == holder["birth_date"]
        line = _mrz_truth(doc)["lines"][0]
        assert line[5:].startswith(fields["surname"].replace(" ", "<") + "<<")


def test_identity_dates_are_consistent_and_some_expired() -> None:
    rng = random.Random(1)
    people = [random_identity(rng, TODAY) for _ in range(300)]
    for person in people:
        assert date(1940, 1, 1) <= person.birth_date <= date(2008, 12, 31)
        assert person.birth_date < person.issue_date <= TODAY
        assert TODAY - person.issue_date <= timedelta(days=3653)
        days = (person.expiry_date - person.issue_date).days + 1
        assert 1825 <= days <= 1827 or 3651 <= days <= 3653  # 5 or 10 years to the day
    expired = sum(p.expiry_date < TODAY for p in people)
    assert 10 <= expired <= 60  # about one in ten
    assert {p.sex for p in people} == {"M", "F", "X"}
    assert any(len(transliterate(p.surname)) > 30 for p in people)  # truncation gets exercised


def test_same_seed_same_document_other_seed_other_document() -> None:
    first = make_document("td1", 3, today=TODAY)
    again = make_document("td1", 3, today=TODAY)
    other = make_document("td1", 4, today=TODAY)
    assert np.array_equal(first.front, again.front) and first.back is not None
    assert again.back is not None and np.array_equal(first.back, again.back)
    assert first.truth_back == again.truth_back
    assert first.truth_front["holder"] != other.truth_front["holder"]


def test_pdf417_decodes_to_the_aamva_payload(documents: dict[str, SampleDocument]) -> None:
    doc = documents["dl"]
    assert doc.back is not None and doc.truth_back is not None
    elements = doc.truth_back["barcode"]["aamva"]
    found = zxingcpp.read_barcodes(
        doc.back, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.PDF417)
    )
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.PDF417
    payload = found[0].bytes.decode("ascii")
    assert payload.startswith("@\n\x1e\rANSI 6360") and payload.endswith("\n\r")
    assert payload == encode_aamva(elements, iin=payload[9:15])
    offset, length = int(payload[23:27]), int(payload[27:31])
    assert payload[21:23] == "DL" and payload[offset : offset + 2] == "DL"
    assert offset + length == len(payload)
    holder = doc.truth_back["holder"]
    assert elements["DCS"] == holder["surname"]
    assert elements["DBB"] == date.fromisoformat(holder["birth_date"]).strftime("%m%d%Y")
    assert elements["DAQ"] == holder["document_number"]


def test_photograph_keeps_document_in_frame(documents: dict[str, SampleDocument]) -> None:
    image = documents["td3"].front
    for seed in range(6):
        photo, aug = photograph(image, np.random.default_rng(seed))
        height, width = photo.shape[:2]
        assert (width, height) in ((1600, 1200), (1200, 1600))
        assert aug["frame_size"] == [width, height]
        corners = np.array(aug["corners"])
        assert (
            corners.min() >= 0
            and (corners[:, 0] <= width).all()
            and (corners[:, 1] <= height).all()
        )
        share = (corners[:, 0].max() - corners[:, 0].min()) / width
        assert 0.3 <= share <= 0.9 and share == pytest.approx(aug["width_share"], abs=0.002)
        assert 0 <= aug["perspective_deg"] <= 25 and 40 <= aug["jpeg_quality"] <= 95
        assert aug["glare_over_mrz"] is False


def test_photograph_is_deterministic_and_records_forced_glare(
    documents: dict[str, SampleDocument],
) -> None:
    doc = documents["td2"]
    a, aug_a = photograph(doc.front, np.random.default_rng(11), machine_box=doc.machine_box_front)
    b, aug_b = photograph(doc.front, np.random.default_rng(11), machine_box=doc.machine_box_front)
    assert np.array_equal(a, b) and aug_a == aug_b
    _, forced = photograph(
        doc.front, np.random.default_rng(11), machine_box=doc.machine_box_front, glare_over_mrz=True
    )
    assert forced["glare"] is True and forced["glare_over_mrz"] is True


def test_straight_photograph_maps_corners_exactly(documents: dict[str, SampleDocument]) -> None:
    """With strength 0 the only change is placement: warping back must restore the MRZ band."""
    doc = documents["td3"]
    photo, aug = photograph(doc.front, np.random.default_rng(5), strength=0.0)
    height, width = doc.front.shape[:2]
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(np.array(aug["corners"], np.float32), target)
    flat = cv2.warpPerspective(photo, matrix, (width, height))
    x, y, w, h = doc.machine_box_front or (0, 0, 0, 0)
    original = cv2.cvtColor(doc.front[y : y + h, x : x + w], cv2.COLOR_BGR2GRAY).astype(float)
    restored = cv2.cvtColor(flat[y : y + h, x : x + w], cv2.COLOR_BGR2GRAY).astype(float)
    assert np.corrcoef(original.ravel(), restored.ravel())[0, 1] > 0.8


def test_generate_samples_writes_matching_files(tmp_path: Path) -> None:
    paths = generate_samples(
        tmp_path, count=2, seed=5, kinds=("td1", "td3"), variant="both", today=TODAY
    )
    assert len(paths) == 6  # td1 front+back and td3 front, each clean and photographed
    for path in paths:
        truth = json.loads(path.read_text(encoding="utf-8"))
        image = tmp_path / truth["image"]
        assert image.stem == path.stem and image.is_file()
        assert cv2.imread(str(image)) is not None
        if truth["pair"] is not None:
            assert (tmp_path / truth["pair"]).is_file()
        photographed = truth["variant"] == "photographed"
        assert image.suffix == (".jpg" if photographed else ".png")
        assert bool(truth["augmentations"]) == photographed
    ids = {json.loads(p.read_text(encoding="utf-8"))["document_id"] for p in paths}
    assert ids == {"td1-0001", "td3-0002"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": 0},
        {"count": -3},
        {"kinds": ("td3", "passport")},
        {"kinds": ()},
        {"variant": "scanned"},
        {"unreadable_share": 2.0},
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"count": 1, "seed": 1, **kwargs}
    with pytest.raises(SampleGenerationError):
        generate_samples(tmp_path, **arguments)
    assert list(tmp_path.iterdir()) == []


def test_unknown_kind_for_one_document() -> None:
    with pytest.raises(SampleGenerationError):
        make_document("mrva", 1)  # type: ignore[arg-type]


def test_missing_font_gives_an_actionable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDFLOW_OCRB_FONT", "/nonexistent/OCRB.otf")
    with pytest.raises(SampleGenerationError, match="fonts-ocr-b"):
        make_document("td3", 1, today=TODAY)


@pytest.mark.skipif(not (SHARED / "samples" / "faces").is_dir(), reason="shared faces not present")
def test_real_face_is_pasted_into_the_portrait(tmp_path: Path) -> None:
    faces = SHARED / "samples" / "faces"
    with_face = generate_samples(tmp_path / "a", count=1, seed=2, kinds=("td3",), faces_dir=faces)
    drawn = generate_samples(tmp_path / "b", count=1, seed=2, kinds=("td3",))
    portrait = (slice(150, 650), slice(70, 460))
    photo = np.asarray(cv2.imread(str(with_face[0].with_suffix(".png"))))[portrait]
    silhouette = np.asarray(cv2.imread(str(drawn[0].with_suffix(".png"))))[portrait]
    # A photo has far more local detail than the blurred flat silhouette.
    assert cv2.Laplacian(photo, cv2.CV_64F).var() > 3 * cv2.Laplacian(silhouette, cv2.CV_64F).var()
