"""The verdict on generated documents: one pass and every failure code, on real reads."""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from processing.model_files import YUNET_FILE
from processing.mrz.parse import parse_mrz
from processing.pipeline import read_document
from processing.result import DocumentResult
from processing.samples import make_document, render
from processing.samples.identities import random_identity
from processing.samples.portrait import load_face, silhouette
from processing.verify import (
    CheckError,
    DocumentData,
    IdNumberCheck,
    ProvidedDetails,
    ReportChecks,
    SelfieCheck,
    SignalCheck,
    Verdict,
    VerifiedOutputs,
    VerifyOptions,
    check_expiry,
    check_id_number,
    check_mrz_matches_visual,
    check_same_document,
    document_check,
    evaluate,
    verify,
)
from processing.visual import VisualField, VisualZone
from tests.support.shared import SHARED

TODAY = date(2026, 11, 25)
FACES = SHARED / "samples" / "faces"
YUNET = SHARED / "models" / YUNET_FILE

needs_shared = pytest.mark.skipif(
    not (FACES.is_dir() and YUNET.is_file()), reason="shared face photos or YuNet model absent"
)


def png(image: NDArray[np.uint8]) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def photo_bytes(path: Path) -> bytes:
    return path.read_bytes()


@dataclasses.dataclass(frozen=True)
class ReadSample:
    result: DocumentResult
    holder: dict[str, Any]


@pytest.fixture(scope="module")
def passport() -> ReadSample:
    document = make_document("td3", 1, today=TODAY)
    return ReadSample(
        read_document(png(document.front), today=TODAY), document.truth_front["holder"]
    )


def claimed(holder: dict[str, Any], **changes: Any) -> ProvidedDetails:
    details = ProvidedDetails(
        first_name=holder["given_names"].split()[0],
        last_name=holder["surname"],
        dob=date.fromisoformat(holder["birth_date"]),
        id_number=holder["document_number"],
    )
    return dataclasses.replace(details, **changes)


def judge(sample: ReadSample, options: VerifyOptions | None = None, **changes: Any) -> Verdict:
    today = changes.pop("today", TODAY)
    return evaluate(
        sample.result,
        None,
        options or VerifyOptions(accept_generated=True, require_id_number=True),
        claimed(sample.holder, **changes),
        today=today,
    )


def assert_fails(verdict: Verdict, code: str) -> None:
    assert verdict.status == "requires_input"
    assert verdict.last_error is not None and verdict.last_error.code == code, verdict.last_error
    assert verdict.verified_outputs is None


def test_passport_with_matching_details_is_verified() -> None:
    document = make_document("td3", 1, today=TODAY)
    holder = document.truth_front["holder"]
    options = VerifyOptions(
        accept_generated=True, require_id_number=True, min_age=18, allowed_countries=("ISL",)
    )
    verdict = verify(png(document.front), None, None, options, claimed(holder), today=TODAY)
    assert verdict.status == "verified", verdict.last_error
    assert verdict.last_error is None
    report = verdict.report
    assert report.document.status == "verified"
    assert (report.document.type, report.document.issuing_country) == ("passport", "ISL")
    assert report.document.number == holder["document_number"]
    assert report.document.dob == holder["birth_date"]
    assert report.document.expiration_date == holder["expiry_date"]
    assert report.id_number is not None and report.id_number.status == "verified"
    assert report.selfie is None
    assert verdict.verified_outputs is not None
    assert verdict.verified_outputs.dob == holder["birth_date"]
    assert verdict.timings["verify.total"] >= verdict.timings["total"] > 0
    plain = json.loads(json.dumps(verdict.to_dict()))
    assert plain["status"] == "verified" and plain["last_error"] is None
    assert set(plain["report"]) == {"document", "selfie", "id_number"}


def test_names_are_compared_like_a_human(passport: ReadSample) -> None:
    # The holder is GUÐMUNDSSON, ÞÓR: the MRZ spells GUDMUNDSSON, THOR.
    verdict = judge(passport, first_name="Þór", last_name="Guðmundsson", id_number="xw7h-zwl lk")
    assert verdict.status == "verified", verdict.last_error


def test_unreadable_document_gives_the_reason() -> None:
    blank = np.full((638, 1011, 3), 230, np.uint8)
    verdict = verify(
        png(blank), None, None, VerifyOptions(accept_generated=True), ProvidedDetails(), today=TODAY
    )
    assert_fails(verdict, "document_unverified_other")
    assert verdict.last_error is not None and len(verdict.last_error.reason) > 20
    assert verdict.report.document.status == "unverified"


def test_type_not_supported(passport: ReadSample) -> None:
    verdict = judge(
        passport, VerifyOptions(accept_generated=True, allowed_types=("id_card", "driving_license"))
    )
    assert_fails(verdict, "document_type_not_supported")


def test_country_not_supported(passport: ReadSample) -> None:
    verdict = judge(passport, VerifyOptions(accept_generated=True, allowed_countries=("FRA", "D")))
    assert_fails(verdict, "country_not_supported")


def test_mrz_check_digits_must_hold(passport: ReadSample) -> None:
    mrz = passport.result.mrz
    assert mrz is not None
    line = mrz.lines[1]
    wrong = str((int(line[9]) + 1) % 10)  # the document number's check digit
    broken = parse_mrz((mrz.lines[0], line[:9] + wrong + line[10:]), today=TODAY)
    assert not broken.valid
    sample = ReadSample(dataclasses.replace(passport.result, mrz=broken), passport.holder)
    assert_fails(judge(sample), "document_unverified_other")


def test_expired(passport: ReadSample) -> None:
    expiry = date.fromisoformat(passport.holder["expiry_date"])
    assert judge(passport, today=expiry).status == "verified"
    assert_fails(judge(passport, today=expiry + timedelta(days=1)), "document_expired")


def test_the_checks_on_what_could_not_be_read() -> None:
    nothing = DocumentData.empty("passport")
    assert check_expiry(nothing, TODAY) == CheckError(
        "document_unverified_other", "The expiry date of the document could not be read."
    )
    no_number = check_id_number(nothing, ProvidedDetails(id_number="X1234567"))
    assert no_number is not None and no_number.code == "id_number_insufficient_document_data"
    assert "could be read" in no_number.reason


def test_under_supported_age(passport: ReadSample) -> None:
    dob = date.fromisoformat(passport.holder["birth_date"])
    age = TODAY.year - dob.year - ((TODAY.month, TODAY.day) < (dob.month, dob.day))
    assert judge(passport, VerifyOptions(accept_generated=True, min_age=age)).status == "verified"
    assert_fails(
        judge(passport, VerifyOptions(accept_generated=True, min_age=age + 1)),
        "under_supported_age",
    )


def test_name_mismatch(passport: ReadSample) -> None:
    assert_fails(judge(passport, last_name="Jonsson"), "document_name_mismatch")
    assert_fails(judge(passport, first_name="Olaf"), "document_name_mismatch")


def test_dob_mismatch(passport: ReadSample) -> None:
    dob = date.fromisoformat(passport.holder["birth_date"])
    assert_fails(judge(passport, dob=dob + timedelta(days=1)), "document_dob_mismatch")


def test_id_number_mismatch(passport: ReadSample) -> None:
    verdict = judge(passport, id_number="XW7HZWLLX")
    assert_fails(verdict, "id_number_mismatch")
    assert verdict.report.document.status == "verified"
    assert verdict.report.id_number is not None
    assert verdict.report.id_number.status == "unverified"


def test_id_number_required_but_missing(passport: ReadSample) -> None:
    assert_fails(judge(passport, id_number=None), "id_number_insufficient_document_data")
    verdict = judge(passport, VerifyOptions(accept_generated=True), id_number=None)
    assert verdict.status == "verified" and verdict.report.id_number is None


def test_driving_licence_uses_the_barcode_and_sides_must_match() -> None:
    document = make_document("dl", 3, today=TODAY)
    other = make_document("dl", 6, today=TODAY)
    assert document.back is not None and other.back is not None
    holder = document.truth_front["holder"]
    options = VerifyOptions(
        accept_generated=True, require_id_number=True, allowed_countries=("USA",)
    )
    same = verify(
        png(document.front), png(document.back), None, options, claimed(holder), today=TODAY
    )
    assert same.status == "verified", same.last_error
    assert same.report.document.type == "driving_license"
    assert same.report.document.address == holder["address"]
    mixed = verify(
        png(document.front), png(other.back), None, options, ProvidedDetails(), today=TODAY
    )
    assert_fails(mixed, "document_unverified_other")
    assert mixed.last_error is not None and "same document" in mixed.last_error.reason


@pytest.fixture(scope="module")
def obama_passport() -> ReadSample:
    if not (FACES.is_dir() and YUNET.is_file()):
        pytest.skip("shared face photos or YuNet model absent")
    face = load_face(FACES / "obama" / "obama.jpg")
    document = make_document("td3", 7, today=TODAY, face=face)
    result = read_document(png(document.front), today=TODAY, detector_model=YUNET)
    return ReadSample(result, document.truth_front["holder"])


def selfie_verdict(sample: ReadSample, selfie: bytes | None) -> Verdict:
    options = VerifyOptions(accept_generated=True, require_matching_selfie=True)
    return evaluate(
        sample.result, selfie, options, ProvidedDetails(), today=TODAY, detector_model=YUNET
    )


@needs_shared
def test_selfie_of_the_holder_is_verified(obama_passport: ReadSample) -> None:
    verdict = selfie_verdict(obama_passport, photo_bytes(FACES / "obama" / "obama2.jpg"))
    assert verdict.status == "verified", verdict.last_error
    selfie = verdict.report.selfie
    assert selfie is not None and selfie.status == "verified"
    assert selfie.similarity is not None and selfie.similarity > 0.5
    assert selfie.selfie_face_found and selfie.document_face_found
    assert selfie.detector == "yunet"


@needs_shared
def test_the_report_says_when_the_hog_fallback_detected_the_faces(
    obama_passport: ReadSample, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IDFLOW_MODELS_DIR", str(tmp_path / "no-models"))
    selfie = photo_bytes(FACES / "obama" / "obama2.jpg")
    verdict = evaluate(
        obama_passport.result,
        selfie,
        VerifyOptions(accept_generated=True, require_matching_selfie=True),
        ProvidedDetails(),
        today=TODAY,
    )
    assert verdict.report.selfie is not None
    assert verdict.report.selfie.detector == "dlib_hog"


@needs_shared
def test_selfie_of_someone_else(obama_passport: ReadSample) -> None:
    verdict = selfie_verdict(obama_passport, photo_bytes(FACES / "biden" / "biden.jpg"))
    assert_fails(verdict, "selfie_face_mismatch")
    assert verdict.report.selfie is not None and verdict.report.selfie.similarity is not None
    assert verdict.report.selfie.similarity < 0.5


@needs_shared
def test_selfie_with_two_people(obama_passport: ReadSample) -> None:
    group = FACES / "_multiple_or_partial" / "two_people.jpg"
    assert_fails(selfie_verdict(obama_passport, photo_bytes(group)), "selfie_unverified_other")


@needs_shared
def test_selfie_without_a_face(obama_passport: ReadSample) -> None:
    blank = png(np.full((480, 640, 3), 200, np.uint8))
    assert_fails(selfie_verdict(obama_passport, blank), "selfie_face_not_found")


@needs_shared
def test_selfie_missing_or_not_an_image(obama_passport: ReadSample) -> None:
    assert_fails(selfie_verdict(obama_passport, None), "selfie_unverified_other")
    assert_fails(selfie_verdict(obama_passport, b"not a photo"), "selfie_unverified_other")


@needs_shared
def test_document_without_portrait(obama_passport: ReadSample) -> None:
    no_portrait = dataclasses.replace(obama_passport.result, portrait=None)
    sample = ReadSample(no_portrait, obama_passport.holder)
    verdict = selfie_verdict(sample, photo_bytes(FACES / "obama" / "obama2.jpg"))
    assert_fails(verdict, "selfie_document_missing_photo")


@pytest.mark.parametrize(
    ("printed", "agrees"),
    [
        (lambda n: n, True),
        (lambda n: n[3:], True),  # only the end was read
        (lambda n: n[5:], False),  # too little of it to say
        (lambda n: n[:2] + "S0" + n[3:], True),  # one character read as two
        (lambda n: "".join("W" if i in (0, 4, 8) else c for i, c in enumerate(n)), False),
        (lambda n: n[::-1], False),  # another document's number
    ],
)
def test_printed_number_against_the_mrz(
    passport: ReadSample, printed: Callable[[str], str], agrees: bool
) -> None:
    mrz = passport.result.mrz
    assert mrz is not None and len(mrz.document_number) == 9
    zone = VisualZone("", {"document_number": VisualField(printed(mrz.document_number), 0.6)})
    result = dataclasses.replace(passport.result, visual=zone)
    assert (check_same_document(result) is None) == agrees


def test_id_card_front_must_belong_to_the_back() -> None:
    # The printed number on the front (visual zone) is compared with the back's MRZ.
    front = make_document("td1", 3, today=TODAY).front
    other_back = make_document("td1", 2, today=TODAY).back
    assert other_back is not None
    verdict = verify(
        png(front),
        png(other_back),
        None,
        VerifyOptions(accept_generated=True),
        ProvidedDetails(),
        today=TODAY,
    )
    assert_fails(verdict, "document_unverified_other")
    assert verdict.last_error is not None and "same document" in verdict.last_error.reason


def test_last_name_only_claim_compares_the_surname_alone(passport: ReadSample) -> None:
    assert judge(passport, first_name=None, last_name="Guðmundsson").status == "verified"
    verdict = judge(passport, first_name=None, last_name="Jonsson")
    assert_fails(verdict, "document_name_mismatch")
    assert verdict.last_error is not None
    assert "surname differs" in verdict.last_error.reason
    assert "both" not in verdict.last_error.reason and "given" not in verdict.last_error.reason


def test_first_name_only_claim_compares_the_given_names_alone(passport: ReadSample) -> None:
    assert judge(passport, first_name="Thor", last_name=None).status == "verified"
    verdict = judge(passport, first_name="Olaf", last_name=None)
    assert_fails(verdict, "document_name_mismatch")
    assert verdict.last_error is not None
    assert "given names differ" in verdict.last_error.reason
    assert "both" not in verdict.last_error.reason and "surname" not in verdict.last_error.reason


def test_no_name_claimed_is_not_compared(passport: ReadSample) -> None:
    assert judge(passport, first_name=None, last_name=None).status == "verified"


def read_id_card(front: NDArray[np.uint8], back: NDArray[np.uint8] | None) -> DocumentResult:
    assert back is not None
    return read_document(png(front), png(back), today=TODAY, read_visual=True)


@pytest.mark.parametrize("seed", [0, 7])
def test_id_card_printed_zone_agrees_with_the_mrz(seed: int) -> None:
    # Seed 0 prints SCHRÖDER, JÜRGEN, which the MRZ spells SCHROEDER, JUERGEN and OCR reads
    # SCHRODER; seed 7's printed number OCRs with a lookalike letter and an extra one.
    document = make_document("td1", seed, today=TODAY)
    result = read_id_card(document.front, document.back)
    assert result.visual is not None
    compared = {"surname", "given_names", "birth_date"} & {
        name for name, field in result.visual.fields.items() if field.confidence >= 0.85
    }
    assert compared, result.visual.fields  # the check had something to compare
    assert check_mrz_matches_visual(result) is None
    holder = document.truth_front["holder"]
    verdict = verify(
        png(document.front),
        png(document.back) if document.back is not None else None,
        None,
        VerifyOptions(accept_generated=True, require_id_number=True),
        claimed(holder),
        today=TODAY,
    )
    assert verdict.status == "verified", verdict.last_error


def tampered_id_card(seed: int, **changes: Any) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """An id card whose printed front says `changes` while the back's MRZ keeps the truth."""
    genuine = make_document("td1", seed, today=TODAY)
    assert genuine.back is not None
    rng = random.Random(f"td1:{seed}")
    identity = random_identity(rng, TODAY)  # the same holder make_document drew for this seed
    assert identity.document_number == genuine.truth_front["holder"]["document_number"]
    altered = dataclasses.replace(identity, **changes)
    front = render.render_td1_front(altered, silhouette(rng, (390, 500)), rng)
    bgr = np.ascontiguousarray(np.asarray(front.convert("RGB"), dtype=np.uint8)[:, :, ::-1])
    return bgr, genuine.back


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"birth_date": date(1981, 6, 15)}, "date of birth"),
        ({"surname": "LINDQVIST"}, "surname"),
    ],
)
def test_printed_zone_contradicting_the_mrz_fails(changes: dict[str, Any], field: str) -> None:
    front, back = tampered_id_card(2, **changes)
    result = read_id_card(front, back)
    error = check_mrz_matches_visual(result)
    assert error is not None and error.code == "document_unverified_other"
    assert "printed details do not match" in error.reason and field in error.reason
    verdict = verify(
        png(front),
        png(back),
        None,
        VerifyOptions(accept_generated=True),
        ProvidedDetails(),
        today=TODAY,
    )
    assert_fails(verdict, "document_unverified_other")
    assert verdict.last_error == error


@pytest.mark.parametrize(
    "seed",
    [
        1,  # Icelandic: the printed Þ reads as P, the MRZ spells it TH
        19,  # a given name the MRZ had no room for after its separator
    ],
)
def test_passport_printed_zone_agrees_with_its_mrz(seed: int) -> None:
    document = make_document("td3", seed, today=TODAY)
    holder = document.truth_front["holder"]
    verdict = verify(
        png(document.front),
        None,
        None,
        VerifyOptions(accept_generated=True),
        claimed(holder),
        today=TODAY,
    )
    assert verdict.status == "verified", verdict.last_error


def tampered_passport(seed: int, **changes: Any) -> NDArray[np.uint8]:
    """A passport data page whose printed zone says `changes` while its MRZ keeps the truth."""
    genuine = make_document("td3", seed, today=TODAY)
    rng = random.Random(f"td3:{seed}")
    identity = random_identity(rng, TODAY)  # the same holder make_document drew for this seed
    assert identity.document_number == genuine.truth_front["holder"]["document_number"]
    portrait = silhouette(rng, (390, 500))
    altered = dataclasses.replace(identity, **changes)
    page, _ = render.render_td3(altered, genuine.truth_front["mrz"]["lines"], portrait, rng)
    return np.ascontiguousarray(np.asarray(page.convert("RGB"), dtype=np.uint8)[:, :, ::-1])


def test_passport_printed_zone_contradicting_its_mrz_fails() -> None:
    genuine = make_document("td3", 2, today=TODAY)
    untouched = verify(
        png(genuine.front),
        None,
        None,
        VerifyOptions(accept_generated=True),
        ProvidedDetails(),
        today=TODAY,
    )
    assert untouched.status == "verified", untouched.last_error
    page = tampered_passport(2, surname="LINDQVIST")
    verdict = verify(
        png(page), None, None, VerifyOptions(accept_generated=True), ProvidedDetails(), today=TODAY
    )
    assert_fails(verdict, "document_unverified_other")
    assert verdict.last_error is not None
    assert "printed details do not match" in verdict.last_error.reason
    assert "surname" in verdict.last_error.reason


@needs_shared
def test_selfie_with_a_face_too_small(obama_passport: ReadSample) -> None:
    photo = cv2.imread(str(FACES / "obama" / "obama2.jpg"))
    far = cv2.resize(photo, None, fx=0.12, fy=0.12, interpolation=cv2.INTER_AREA)
    canvas = np.full((900, 1200, 3), 128, np.uint8)  # a large photo, the face far away in it
    canvas[400 : 400 + far.shape[0], 500 : 500 + far.shape[1]] = far
    verdict = selfie_verdict(obama_passport, png(canvas))
    assert_fails(verdict, "selfie_unverified_other")
    assert verdict.last_error is not None and "too small" in verdict.last_error.reason


@needs_shared
def test_blurred_selfie(obama_passport: ReadSample) -> None:
    photo = cv2.imread(str(FACES / "obama" / "obama2.jpg"))
    blurred = png(np.asarray(cv2.GaussianBlur(photo, (0, 0), 10), dtype=np.uint8))
    verdict = selfie_verdict(obama_passport, blurred)
    assert_fails(verdict, "selfie_unverified_other")
    assert verdict.last_error is not None and "blurred" in verdict.last_error.reason


def test_a_verdict_comes_back_from_its_dict_unchanged() -> None:
    """A verdict kept while it waits for Submit (`webapp.prepared`) is published as it was."""
    error = CheckError("selfie_face_mismatch", "The face in the selfie is not the portrait.")
    document = dataclasses.replace(
        document_check(DocumentData.empty("passport"), None),
        number="C01X00T47",
        authenticity=(SignalCheck("portrait", 0.123456, 0.4, False, None, False),),
    )
    verdict = Verdict(
        "requires_input",
        error,
        ReportChecks(
            document,
            SelfieCheck("unverified", error, 0.3141592, True, True, "yunet"),
            IdNumberCheck("verified", None),
        ),
        None,
        {"total": 1.23456789},
    )
    kept = json.loads(json.dumps(verdict.to_dict()))
    assert Verdict.from_dict(kept).to_dict() == verdict.to_dict()
    outputs = VerifiedOutputs("ANNA", "MUELLER", "1987-03-14", "C01X00T47", None, "D", "F")
    verified = dataclasses.replace(
        verdict, status="verified", last_error=None, verified_outputs=outputs
    )
    back = Verdict.from_dict(verified.to_dict())
    assert back.status == "verified" and back.last_error is None
    assert back.verified_outputs == outputs
