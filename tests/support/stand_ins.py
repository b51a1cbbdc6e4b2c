"""Genuine stand-ins: documents live verification must accept, drawn through the generator without
its code and SPECIMEN print (`unmarked_for_tests`) and with a real person's face."""

from __future__ import annotations

from datetime import date

import pytest

from processing.samples import Kind, SampleDocument, make_document
from processing.samples.portrait import load_face
from tests.support.shared import SHARED


def stand_in(
    kind: Kind, seed: int, *, today: date | None = None, face_photo: str = "obama/obama.jpg"
) -> SampleDocument:
    """A genuine-looking document carrying `face_photo`; the test is skipped without ../shared."""
    photo = SHARED / "samples" / "faces" / face_photo
    if not photo.is_file():
        pytest.skip(f"needs the shared face photo {face_photo} (../shared)")
    face = load_face(photo)
    return make_document(kind, seed, face=face, today=today, unmarked_for_tests=True)
