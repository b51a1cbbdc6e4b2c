"""The verdict in two stages (`read_and_judge`, kept as JSON, then `finish`) is the verdict
`verify` gives in one call on the same photos: the webapp keeps the first stage between jobs."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

import numpy as np
import pytest

from bench.verify import Case, cases
from processing.authenticity import Evidence, assess
from processing.load import load_image
from processing.model_files import YUNET_FILE
from processing.pipeline import read_document
from processing.verify import DocumentStage, VerifyOptions, finish, read_and_judge, verify
from tests.support.shared import SHARED

TODAY = date(2026, 11, 25)
FACES = SHARED / "samples" / "faces"
YUNET = SHARED / "models" / YUNET_FILE
OPTIONS = VerifyOptions(require_matching_selfie=True, require_id_number=True, accept_generated=True)

pytestmark = pytest.mark.skipif(
    not (FACES.is_dir() and YUNET.is_file()), reason="shared face photos or YuNet model absent"
)


@pytest.fixture(scope="module")
def photographed() -> list[Case]:
    """A passport page and an ID card's two sides, photographed, each with a real holder's face
    and another photo of that person as the selfie (`idflow bench-verify`'s documents)."""
    return cases(FACES, 1, ("td3", "td1"), YUNET, TODAY)


def without_timings(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "timings"}


def test_the_two_stages_give_the_one_call_verdict(photographed: list[Case]) -> None:
    for case in photographed:
        whole = verify(
            case.front,
            case.back,
            case.selfie,
            OPTIONS,
            case.provided,
            today=TODAY,
            detector_model=YUNET,
        )
        stage = read_and_judge(case.front, case.back, today=TODAY, detector_model=YUNET)
        kept = DocumentStage.from_dict(json.loads(json.dumps(stage.to_dict())))
        assert kept == stage and kept.timings == stage.timings
        assert stage.portrait is not None and kept.portrait is not None
        assert kept.portrait.dtype == stage.portrait.dtype
        assert np.array_equal(kept.portrait, stage.portrait)  # PNG: pixel for pixel
        staged = finish(kept, case.selfie, OPTIONS, case.provided, detector_model=YUNET)
        assert without_timings(staged.to_dict()) == without_timings(whole.to_dict()), case.kind
        assert whole.report.selfie is not None and whole.report.selfie.similarity is not None
        assert set(staged.timings) == set(whole.timings) - {"verify.total"}


def test_a_selfie_finishes_the_kept_stage_as_verify_would(photographed: list[Case]) -> None:
    """Another selfie on the same kept stage: the verdict `verify` gives with that selfie."""
    passport, card = photographed
    stage = read_and_judge(passport.front, None, today=TODAY, detector_model=YUNET)
    kept = DocumentStage.from_dict(json.loads(json.dumps(stage.to_dict())))
    other = card.selfie  # someone else
    staged = finish(kept, other, OPTIONS, passport.provided, detector_model=YUNET)
    whole = verify(
        passport.front, None, other, OPTIONS, passport.provided, today=TODAY, detector_model=YUNET
    )
    assert without_timings(staged.to_dict()) == without_timings(whole.to_dict())


def test_the_authenticity_checks_see_the_photos_as_decoded_afresh(photographed: list[Case]) -> None:
    """The checks take the photos the reader decoded (`SideResult.photo`) instead of decoding
    the uploads again: the reading left them as a fresh decode gives them, so every signal is
    the one the checks give on their own decode."""
    for case in photographed:
        result = read_document(case.front, case.back, today=TODAY, detector_model=YUNET)
        sent = (case.front, case.back) if case.back is not None else (case.front,)
        fresh = [load_image(data, min_side=150, max_side=3000).image for data in sent]
        for side, decoded in zip(result.sides, fresh, strict=True):
            assert side.photo is not None and np.array_equal(side.photo, decoded), case.kind
        on_fresh = dataclasses.replace(
            result,
            sides=tuple(
                dataclasses.replace(side, photo=decoded.copy())
                for side, decoded in zip(result.sides, fresh, strict=True)
            ),
        )
        evidence = Evidence(result, case.front, case.back, TODAY, YUNET)
        assert assess(evidence) == assess(Evidence(on_fresh, case.front, case.back, TODAY, YUNET))
