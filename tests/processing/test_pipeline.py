"""The whole reader on generated documents: what it reads, and how it says what it cannot read."""

from __future__ import annotations

import json
import threading
from datetime import date
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from processing import pipeline
from processing.mrz.model import MRZ_FIELDS
from processing.pipeline import read_document
from processing.portrait import Portrait, find_portrait
from processing.result import DocumentResult
from processing.samples import make_document, photograph
from tests.support.images import jpeg
from tests.support.shared import SHARED

TODAY = date(2026, 11, 25)
FACES = SHARED / "samples" / "faces"
SPECIMENS = SHARED / "samples" / "specimens"
needs_faces = pytest.mark.skipif(not FACES.is_dir(), reason="shared face photos absent")


def png(image: NDArray[np.uint8]) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def assert_mrz_matches(result_mrz: object, truth: dict[str, object]) -> None:
    expected = truth["mrz"]
    assert isinstance(expected, dict)
    got = {name: getattr(result_mrz, name) for name in MRZ_FIELDS}
    assert got == {name: expected["fields"].get(name, "") for name in MRZ_FIELDS}


@pytest.mark.parametrize(("kind", "seed"), [("td3", 11), ("td2", 12)])
def test_clean_data_page_is_read_exactly(kind: str, seed: int) -> None:
    document = make_document(kind, seed, today=TODAY)  # type: ignore[arg-type]
    result = read_document(png(document.front), today=TODAY)
    assert result.status == "read"
    assert result.mrz is not None and result.mrz.valid
    assert_mrz_matches(result.mrz, document.truth_front)
    assert result.document_type == ("passport" if kind == "td3" else "id_card")
    assert result.confidence > 0.7
    assert {"front.load", "front.locate", "front.mrz", "front.quality", "total"} <= set(
        result.timings
    )


def test_id_card_front_and_back_read_together() -> None:
    document = make_document("td1", 13, today=TODAY)
    assert document.back is not None and document.truth_back is not None
    result = read_document(png(document.front), png(document.back), today=TODAY)
    assert result.status == "read"
    assert [side.side for side in result.sides] == ["front", "back"]
    assert_mrz_matches(result.mrz, document.truth_back)


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_photo_turned_a_quarter_or_upside_down_is_read(turns: int) -> None:
    document = make_document("td3", 21, today=TODAY)
    turned = np.ascontiguousarray(np.rot90(document.front, k=turns))
    framed = cv2.copyMakeBorder(turned, 150, 150, 150, 150, cv2.BORDER_CONSTANT, value=(60, 90, 70))
    result = read_document(jpeg(framed), today=TODAY)
    assert result.status == "read"
    assert_mrz_matches(result.mrz, document.truth_front)
    assert result.sides[0].rotation == (-90 * turns) % 360  # np.rot90 turns counter-clockwise


def test_photographed_documents_keep_the_read_rate_floor() -> None:
    """Generator -> reader round trip over phone-like photos (tilt, blur, noise, JPEG, light)."""
    rng = np.random.default_rng(5)
    exact = 0
    kinds = ["td3", "td1", "td2", "td3", "td1", "td2"]
    for index, kind in enumerate(kinds):
        document = make_document(kind, 100 + index, today=TODAY)  # type: ignore[arg-type]
        side, truth = (
            (document.back, document.truth_back)
            if kind == "td1"
            else (document.front, document.truth_front)
        )
        assert side is not None and truth is not None
        photo, _ = photograph(side, rng)
        result = read_document(jpeg(photo, 80), today=TODAY)
        if result.mrz is not None and all(
            getattr(result.mrz, name) == truth["mrz"]["fields"].get(name, "") for name in MRZ_FIELDS
        ):
            exact += 1
    assert exact >= 5


def test_driving_licence_is_read_from_its_barcode() -> None:
    document = make_document("dl", 31, today=TODAY)
    assert document.back is not None and document.truth_back is not None
    result = read_document(png(document.front), png(document.back), today=TODAY)
    assert result.status == "read"
    assert result.document_type == "driving_license"
    assert result.barcode is not None
    aamva = document.truth_back["barcode"]["aamva"]
    assert result.barcode.family_name == aamva["DCS"]
    assert result.barcode.document_number == aamva["DAQ"]


def test_bytes_that_are_not_an_image_give_an_unreadable_result() -> None:
    result = read_document(b"%PDF-1.7 this is not a photo")
    assert result.status == "unreadable"
    assert [reason.code for reason in result.reasons] == ["image_not_an_image"]
    assert result.mrz is None


def test_a_photo_without_a_document_says_what_to_do() -> None:
    blank = np.full((900, 1200, 3), 200, np.uint8)
    result = read_document(png(blank), today=TODAY)
    assert result.status == "unreadable"
    assert result.reasons and all(reason.message for reason in result.reasons)
    assert result.confidence == 0.0


def test_result_serialises_to_plain_json_without_images() -> None:
    document = make_document("td3", 41, today=TODAY)
    data = read_document(png(document.front), today=TODAY).to_dict()
    text = json.dumps(data)
    assert data["mrz"]["valid"] is True
    assert all(check["valid"] for check in data["mrz"]["check_digits"])
    assert "crop" not in data["sides"][0]
    assert "image" not in (data["portrait"] or {})
    assert len(text) < 20_000


@pytest.mark.parametrize("seed", [2, 4])
def test_flat_card_front_is_not_mistaken_for_its_portrait_frame(seed: int) -> None:
    """A scan cut to the card: the inner portrait box must not become the document."""
    document = make_document("td1", seed, today=TODAY)
    assert document.back is not None
    result = read_document(png(document.front), png(document.back), today=TODAY, read_visual=True)
    front = result.sides[0]
    assert front.rotation == 0
    assert front.crop is not None and front.crop.shape[1] > front.crop.shape[0]
    assert result.visual is not None and "document_number" in result.visual.fields


def _everything(result: DocumentResult) -> dict[str, object]:
    """A read whole, to the bit, but for its timings."""
    plain = result.to_dict()
    plain.pop("timings")
    portrait = result.portrait
    return {
        "plain": plain,
        "confidences": (result.confidence, [side.mrz_confidence for side in result.sides]),
        "crops": [None if side.crop is None else side.crop.tobytes() for side in result.sides],
        "portrait": None
        if portrait is None
        else (portrait.box, portrait.score, portrait.image.tobytes()),
    }


def _photos(name: str) -> tuple[bytes, bytes | None]:
    face = Image.open(FACES / "obama" / "obama.jpg").convert("RGB")
    if name == "photographed passport":
        document = make_document("td3", 61, face=face, today=TODAY)
        photo, _ = photograph(document.front, np.random.default_rng(3))
        return jpeg(photo, 85), None
    if name == "TD2 card turned upside down":
        document = make_document("td2", 62, face=face, today=TODAY)
        return png(cv2.rotate(document.front, cv2.ROTATE_180)), None
    path = SPECIMENS / name
    if not path.is_file():
        pytest.skip(f"shared specimen {name} absent")
    return path.read_bytes(), None


@needs_faces
@pytest.mark.parametrize(
    "name",
    [
        "photographed passport",
        "TD2 card turned upside down",
        "100_pass-uto.jpg",
        "100_pass-bdr.jpg",
        "arg0s1080_mrz/id_cards/Latvia.png",
    ],
)
def test_the_portrait_looked_for_while_the_mrz_reads_is_the_one_found_after(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The face detector starts in the background where a band's template lines put the document
    while Tesseract reads the band; the read is bit for bit the one looking afterwards gives
    (Latvia's card is placed from its MRZ in a turned photo, bdr's page by its MRZ's format)."""
    front, back = _photos(name)
    on_main_thread: list[bool] = []
    looking = find_portrait

    def recorded(crop: NDArray[np.uint8], **options: Any) -> Portrait | None:
        on_main_thread.append(threading.current_thread() is threading.main_thread())
        return looking(crop, **options)

    monkeypatch.setattr(pipeline, "find_portrait", recorded)
    overlapped = read_document(front, back, today=TODAY)
    assert on_main_thread and not any(on_main_thread)  # every answer came from an early look

    on_main_thread.clear()
    monkeypatch.setattr(pipeline.EarlyPortraits, "start", lambda *args, **kwargs: None)
    sequential = read_document(front, back, today=TODAY)
    assert on_main_thread and all(on_main_thread)

    assert overlapped.portrait is not None and overlapped.status == "read"
    assert _everything(overlapped) == _everything(sequential)
