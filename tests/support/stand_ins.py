"""Genuine stand-ins: documents live verification must accept, drawn through the generator without
its code and SPECIMEN print (`unmarked_for_tests`) and with a real person's face."""

from __future__ import annotations

from datetime import date

from processing.samples import Kind, SampleDocument, make_document
from processing.samples.portrait import load_face
from tests.support.shared import SHARED


def stand_in(
    kind: Kind, seed: int, *, today: date | None = None, face_photo: str = "obama/obama.jpg"
) -> SampleDocument:
    face = load_face(SHARED / "samples" / "faces" / face_photo)
    return make_document(kind, seed, face=face, today=today, unmarked_for_tests=True)
