"""Document authenticity signals, each both ways: it fires on the attack and stays quiet on a
genuine stand-in (a document drawn without the generator's code and SPECIMEN print, with a real
face), and the verdict refuses the attack with document_unverified_other."""

from __future__ import annotations

from datetime import date

import cv2
import numpy as np
import pytest
from PIL import Image

from processing.authenticity import Evidence, assess, dates, generated, specimen
from processing.authenticity import portrait as portrait_signal
from processing.model_files import YUNET_FILE
from processing.pipeline import read_document
from processing.samples import KINDS, Kind, make_document, photograph
from processing.samples.generate import SampleDocument
from processing.verify import ProvidedDetails, Verdict, VerifyOptions, verify
from tests.support.images import jpeg
from tests.support.shared import SHARED
from tests.support.stand_ins import stand_in

TODAY = date(2026, 11, 25)
FACES = SHARED / "samples" / "faces"
SPECIMENS = SHARED / "samples" / "specimens"
YUNET = SHARED / "models" / YUNET_FILE
LIVE = VerifyOptions()
TEST_MODE = VerifyOptions(accept_generated=True)

needs_faces = pytest.mark.skipif(
    not (FACES.is_dir() and YUNET.is_file()), reason="shared face photos or YuNet model absent"
)
needs_specimens = pytest.mark.skipif(not SPECIMENS.is_dir(), reason="shared specimens absent")


def claimed(document: SampleDocument) -> ProvidedDetails:
    holder = document.truth_front["holder"]
    return ProvidedDetails(
        first_name=holder["given_names"].split()[0],
        last_name=holder["surname"],
        dob=date.fromisoformat(holder["birth_date"]),
    )


def judge(document: SampleDocument, options: VerifyOptions, *, photographed: bool) -> Verdict:
    sides = [document.front, document.back]
    boxes = [document.machine_box_front, document.machine_box_back]
    photos = [
        None
        if side is None
        else (
            photograph(side, np.random.default_rng(i), machine_box=box)[0] if photographed else side
        )
        for i, (side, box) in enumerate(zip(sides, boxes, strict=True))
    ]
    front, back = (jpeg(p, quality=92) if p is not None else None for p in photos)
    assert front is not None
    return verify(front, back, None, options, claimed(document), today=TODAY, detector_model=YUNET)


def fired(verdict: Verdict) -> set[str]:
    """The signals that fired and count (a signal that only reports is shown waived)."""
    return {s.name for s in verdict.report.document.authenticity if s.fired and not s.waived}


# --- generated ---------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "photographed"), [("td3", False), ("td1", True), ("dl", True)])
def test_generated_documents_are_refused_live_and_accepted_in_test_mode(
    kind: Kind, photographed: bool
) -> None:
    document = make_document(kind, 4, today=TODAY)
    live = judge(document, LIVE, photographed=photographed)
    assert live.status == "requires_input"
    assert live.last_error is not None and live.last_error.code == "document_unverified_other"
    assert "generator" in live.last_error.reason
    assert "generated" in fired(live)
    test = judge(document, TEST_MODE, photographed=photographed)
    assert test.status == "verified", test.last_error
    waived = {s.name for s in test.report.document.authenticity if s.waived}
    reported_only = {"compression_inconsistency", "editing_software"}
    qa_captures = {"screen_recapture", "photocopy"}
    traits = {"generated", "specimen", "portrait"}
    assert "generated" in waived and waived <= traits | qa_captures | reported_only


def test_generator_code_reads_on_every_side_of_every_kind() -> None:
    for kind in KINDS:
        document = make_document(kind, 2, today=TODAY)
        for side in (document.front, document.back):
            if side is not None:
                assert generated.read_marks(side) == 1, kind
        unmarked = make_document(kind, 2, today=TODAY, unmarked_for_tests=True)
        assert generated.read_marks(unmarked.front) == 0


def test_a_sample_too_blurred_to_read_is_told_it_is_a_sample() -> None:
    """Asking for a sharper photo of a sample would only invite another try. The same document
    without the generator's mark is not called a sample (its drawn portrait refuses it)."""
    for unmarked in (False, True):
        document = make_document("td3", 4, today=TODAY, unmarked_for_tests=unmarked)
        blurred = jpeg(cv2.GaussianBlur(document.front, (0, 0), 4), quality=92)
        verdict = verify(blurred, None, None, LIVE, ProvidedDetails(), today=TODAY)
        assert verdict.last_error is not None
        assert verdict.last_error.code == "document_unverified_other"
        assert ("generator" in verdict.last_error.reason) is not unmarked


# --- genuine stand-ins --------------------------------------------------------------------


@needs_faces
@pytest.mark.parametrize(("kind", "seed"), [("td3", 3), ("td1", 4), ("dl", 5)])
def test_genuine_stand_ins_verify_live_with_every_signal_quiet(kind: Kind, seed: int) -> None:
    verdict = judge(stand_in(kind, seed, today=TODAY), LIVE, photographed=False)
    assert verdict.status == "verified", verdict.last_error
    names = {s.name for s in verdict.report.document.authenticity}
    assert names >= {"generated", "specimen", "portrait", "dates", "consistency"}
    assert names >= {
        "screen_recapture",
        "photocopy",
        "editing_software",
        "compression_inconsistency",
    }
    assert fired(verdict) == set()
    plain = verdict.to_dict()["report"]["document"]["authenticity"]
    assert {"name", "score", "threshold", "fired", "reason", "waived"} == set(plain[0])


# --- specimen -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("PASSPORT SPECIMEN", "SPECIMEN"),
        ("spécimen", "SPECIMEN"),
        ("SPECIMFN", "SPECIMEN"),  # one OCR slip in a long word
        ("Reisepass MUSTER", "MUSTER"),
        ("WZÓR", "WZOR"),
        ("NÄYTE", "NAYTE"),
        ("PAVYZDYS", "PAVYZDYS"),
        ("PROVA", None),  # short words must read exactly
        ("SPECIAL MENTION", None),
        ("KINGDOM OF DENMARK PASSPORT", None),
    ],
)
def test_specimen_words(text: str, word: str | None) -> None:
    assert specimen.specimen_word(text) == word


@needs_specimens
@pytest.mark.parametrize(
    "name",
    [
        "arg0s1080_mrz/passports/ICAO_Example.png",  # Utopia
        "arg0s1080_mrz/id_cards/Sweden.png",  # SPECIMEN as the surname
        "arg0s1080_mrz/passports/Ukraine.png",  # a placeholder number
    ],
)
def test_government_specimens_are_refused_even_in_test_mode(name: str) -> None:
    photo = (SPECIMENS / name).read_bytes()
    for options in (LIVE, TEST_MODE):
        verdict = verify(photo, None, None, options, ProvidedDetails(), today=TODAY)
        # Expired long ago, but not being genuine comes first.
        assert verdict.last_error is not None
        assert verdict.last_error.code == "document_unverified_other", verdict.last_error
        assert "specimen" in verdict.last_error.reason
        assert "specimen" in fired(verdict)


@needs_faces
def test_specimen_signal_is_quiet_on_a_stand_in() -> None:
    document = stand_in("td3", 3, today=TODAY)
    result = read_document(jpeg(document.front, quality=92), today=TODAY, read_visual=True)
    (signal,) = specimen.check(Evidence(result))
    assert not signal.fired and signal.reason is None


# --- portrait -----------------------------------------------------------------------------


@needs_faces
@pytest.mark.parametrize(
    "face",
    [
        None,  # the generator's drawn silhouette
        Image.new("RGB", (390, 500), (230, 232, 235)),  # an empty frame
    ],
    ids=["silhouette", "empty"],
)
def test_portrait_signal_fires_without_a_real_face(face: Image.Image | None) -> None:
    document = make_document("td3", 3, face=face, today=TODAY, unmarked_for_tests=True)
    verdict = judge(document, LIVE, photographed=False)
    assert fired(verdict) == {"portrait"}
    assert verdict.last_error is not None
    assert verdict.last_error.code == "document_unverified_other"
    assert "real person's face" in verdict.last_error.reason


@needs_faces
def test_portrait_signal_is_quiet_on_a_real_face() -> None:
    result = read_document(
        jpeg(stand_in("td3", 3, today=TODAY).front, quality=92), today=TODAY, detector_model=YUNET
    )
    assert result.status == "read" and result.document_type == "passport"
    (signal,) = portrait_signal.check(Evidence(result, detector_model=YUNET))
    assert not signal.fired and signal.score < portrait_signal.THRESHOLD


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "issue", "expiry", "kind", "broken"),
    [
        (date(1990, 1, 1), date(2020, 1, 1), date(2030, 1, 1), "passport", 0),
        (date(2030, 1, 1), None, date(2031, 1, 1), "passport", 1),  # born in the future
        (date(1990, 1, 1), date(1985, 1, 1), date(1995, 1, 1), "id_card", 1),  # before birth
        (date(2012, 12, 12), None, date(2011, 6, 29), "passport", 1),  # Iceland's specimen
        (date(1990, 1, 1), date(2020, 1, 1), date(2019, 1, 1), "passport", 1),
        (date(1990, 1, 1), date(2020, 1, 1), date(2035, 1, 1), "passport", 1),  # 15 years
        (date(1990, 1, 1), date(2020, 1, 1), date(2035, 1, 1), "id_card", 0),
        (date(1960, 1, 1), date(2000, 1, 1), date(2025, 1, 1), "driving_license", 0),
    ],
)
def test_impossible_dates(
    birth: date, issue: date | None, expiry: date, kind: str, broken: int
) -> None:
    found = dates.impossible_dates(dates._Dates(birth, issue, expiry), kind, TODAY)
    assert len(found) == broken, found


@needs_specimens
def test_dates_signal_fires_on_a_document_expiring_before_its_holder_was_born() -> None:
    photo = (SPECIMENS / "arg0s1080_mrz/passports/Iceland.png").read_bytes()
    result = read_document(photo, today=TODAY)
    (signal,) = dates.check(Evidence(result, today=TODAY))
    assert signal.fired and signal.reason is not None and "born" in signal.reason


def test_every_check_reports_through_assess() -> None:
    document = make_document("td3", 4, today=TODAY)
    result = read_document(jpeg(document.front, quality=92), today=TODAY)
    names = [
        s.name for s in assess(Evidence(result, jpeg(document.front, quality=92), today=TODAY))
    ]
    assert names[:2] == ["generated", "specimen"] and "dates" in names
