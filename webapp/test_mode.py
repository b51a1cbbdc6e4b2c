"""Test mode: verdicts QA picks instead of the real checks, and specimen documents to capture.

A test session (created with an `sk_test_` key) may be submitted with a chosen outcome. The
verdict is then assembled from `processing.verify`'s own dataclasses and check functions, on
document data made up for the session (the details the platform provided, else a generated
identity), so reports, session errors and webhooks look exactly as a real verdict of that kind.
Live sessions never get here: `verification.submit` refuses an outcome for them.

The samples page serves generated specimens (`processing.samples`) and, when
`IDFLOW_SHARED_DIR/samples/faces` exists, a selfie of the person whose portrait is printed on them.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import cv2
import numpy as np
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from numpy.typing import NDArray
from PIL import Image

from processing.authenticity.specimen import SPECIMEN_STATE
from processing.errors import SampleGenerationError
from processing.samples.generate import Kind, SampleDocument, make_document
from processing.samples.identities import Identity, random_identity, random_us_identity
from processing.samples.portrait import face_files, load_face
from processing.verify import (
    CheckError,
    DocumentData,
    IdNumberCheck,
    ProvidedDetails,
    ReportChecks,
    SelfieCheck,
    Verdict,
    VerifiedOutputs,
    VerifyOptions,
    check_age,
    check_expiry,
    check_id_number,
    document_check,
    normalise_number,
)
from webapp.errors import InvalidRequest

REAL_CHECKS = "real"
OUTCOMES: dict[str, LazyString] = {
    "verified": _l("Verified"),
    "document_expired": _l("Document expired"),
    "document_unverified_other": _l("Document unreadable"),
    "selfie_face_mismatch": _l("Face does not match the document"),
    "selfie_manipulated": _l("Selfie not live (head-turn challenge failed)"),
    "id_number_mismatch": _l("ID number does not match"),
    "under_supported_age": _l("Under the supported age"),
    REAL_CHECKS: _l("Run the real checks on my photos"),
}
_MISMATCH_SIMILARITY = 0.31
_MATCH_SIMILARITY = 0.93


def outcomes_for(options: VerifyOptions, provided: ProvidedDetails) -> dict[str, LazyString]:
    """What QA may pick for a session: only verdicts a live session with the same options could
    reach (no face mismatch without a selfie check), so webhooks and reports stay true to live."""
    unreachable: set[str] = set()
    if not options.require_matching_selfie:
        unreachable.update(("selfie_face_mismatch", "selfie_manipulated"))
    if not options.require_id_number and provided.id_number is None:
        unreachable.add("id_number_mismatch")
    if options.min_age is None:
        unreachable.add("under_supported_age")
    return {name: label for name, label in OUTCOMES.items() if name not in unreachable}


def is_simulated(outcome: str | None) -> bool:
    return outcome is not None and outcome != REAL_CHECKS


def _identity(seed: str, document_type: str | None, today: date) -> Identity:
    """A holder drawn from `seed`, never of ICAO's specimen state: live verification refuses
    that as a specimen, so no simulated verdict may carry it."""
    rng = random.Random(seed)
    if document_type == "driving_license":
        return random_us_identity(rng, today)
    identity = random_identity(rng, today)
    while identity.issuing_country == SPECIMEN_STATE:
        identity = random_identity(rng, today)
    return identity


def _document_data(
    identity: Identity, document_type: str | None, provided: ProvidedDetails
) -> DocumentData:
    """What a reading would have found; the platform's own claims where it made them."""
    return DocumentData(
        source="barcode" if document_type == "driving_license" else "mrz",
        type=document_type or "passport",
        issuing_country=identity.issuing_country,
        number=identity.document_number,
        other_numbers=(identity.personal_number,) if identity.personal_number else (),
        surname=(provided.last_name or identity.surname).upper(),
        given_names=(provided.first_name or identity.given_names).upper(),
        dob=(provided.dob or identity.birth_date).isoformat(),
        issued_date=identity.issue_date.isoformat(),
        expiration_date=identity.expiry_date.isoformat(),
        address=identity.address,
        names_truncated=False,
        sex=identity.sex,
    )


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def simulated_verdict(
    outcome: str,
    seed: str,
    document_type: str | None,
    options: VerifyOptions,
    provided: ProvidedDetails,
    *,
    today: date | None = None,
) -> Verdict:
    """The verdict `outcome` names, for a session whose id is `seed` (the same data every time)."""
    if not is_simulated(outcome) or outcome not in outcomes_for(options, provided):
        raise InvalidRequest(f"Not a test outcome for this session: {outcome!r}.", param="outcome")
    day = today or date.today()
    identity = _identity(seed, document_type, day)
    data = _document_data(identity, document_type, provided)
    if identity.expiry_date <= day:  # the generator makes some expired; only one outcome wants it
        data = replace(
            data,
            issued_date=_years_before(day, 5).isoformat(),
            expiration_date=_years_before(day, -5).isoformat(),
        )
    document_error: CheckError | None = None
    if outcome == "document_expired":
        expired = day - timedelta(days=31)
        data = replace(
            data,
            expiration_date=expired.isoformat(),
            issued_date=_years_before(expired, 10).isoformat(),
        )
        document_error = check_expiry(data, day)
    elif outcome == "under_supported_age" and options.min_age is not None:
        data = replace(data, dob=_years_before(day, options.min_age - 3).isoformat())
        document_error = check_age(data, options.min_age, day)
    elif outcome == "document_unverified_other":
        data = DocumentData(
            "none", data.type, None, None, (), None, None, None, None, None, None, False
        )
        document_error = check_expiry(data, day)

    id_check: IdNumberCheck | None = None
    if outcome == "id_number_mismatch":
        claimed = provided.id_number or f"{identity.document_number}9"
        if normalise_number(claimed) == normalise_number(data.number or ""):
            data = replace(data, number=f"{data.number}9", other_numbers=())
        id_error = check_id_number(data, replace(provided, id_number=claimed))
        id_check = IdNumberCheck("unverified", id_error)
    elif options.require_id_number or provided.id_number is not None:
        id_check = IdNumberCheck("verified", None)
        if provided.id_number is not None:
            data = replace(data, number=normalise_number(provided.id_number))

    selfie: SelfieCheck | None = None
    if outcome == "selfie_face_mismatch":
        error = CheckError(
            "selfie_face_mismatch", "The face in the selfie is not the portrait on the document."
        )
        selfie = SelfieCheck("unverified", error, _MISMATCH_SIMILARITY, True, True)
    elif outcome == "selfie_manipulated":
        reason = (
            "We did not see you turn your head the way the screen asked. Take the selfie again."
        )
        selfie = SelfieCheck("unverified", CheckError(outcome, reason), None, True, True)
    elif options.require_matching_selfie:
        selfie = SelfieCheck("verified", None, _MATCH_SIMILARITY, True, True)

    document = document_check(data, document_error)
    errors = [c.error for c in (document, selfie, id_check) if c is not None and c.error]
    last_error = errors[0] if errors else None
    outputs = None
    if last_error is None:
        outputs = VerifiedOutputs(
            data.given_names,
            data.surname,
            data.dob,
            data.number,
            data.address,
            data.issuing_country,
            data.sex,
        )
    return Verdict(
        status="requires_input" if last_error else "verified",
        last_error=last_error,
        report=ReportChecks(document, selfie, id_check),
        verified_outputs=outputs,
        timings={"simulated": 0.0},
    )


# --- specimens for the samples page --------------------------------------------------------

SAMPLES: dict[str, LazyString] = {
    "passport": _l("Passport (data page)"),
    "id_card_front": _l("Identity card, front"),
    "id_card_back": _l("Identity card, back"),
    "licence_front": _l("Driving licence, front"),
    "licence_back": _l("Driving licence, back"),
    "selfie": _l("Selfie of the holder"),
}
_SIDES: dict[str, tuple[Kind, str]] = {
    "passport": ("td3", "front"),
    "id_card_front": ("td1", "front"),
    "id_card_back": ("td1", "back"),
    "licence_front": ("dl", "front"),
    "licence_back": ("dl", "back"),
}
_JPEG_QUALITY = 90
_VALID_TRIES = 50


@dataclass(frozen=True)
class Person:
    portrait: Path  # printed on the documents
    selfie: Path  # another photo of the same person when there is one


def faces_dir(shared_dir: str) -> Path | None:
    if not shared_dir:
        return None
    folder = Path(shared_dir) / "samples" / "faces"
    return folder if folder.is_dir() else None


def person(folder: Path | None, seed: str) -> Person | None:
    """One person from the faces folder, the same for the same session."""
    if folder is None:
        return None
    try:
        files = face_files(folder)
    except SampleGenerationError:
        return None
    people: dict[Path, list[Path]] = {}
    for path in files:
        people.setdefault(path.parent, []).append(path)
    chosen = sorted(people)[_number(seed) % len(people)]
    photos = people[chosen]
    return Person(photos[0], photos[1] if len(photos) > 1 else photos[0])


def _number(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big")


def _jpeg(image: NDArray[np.uint8]) -> bytes:
    encoded, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not encoded:
        raise SampleGenerationError("The sample could not be encoded as JPEG.")
    return bytes(data.tobytes())


def _valid_document(
    kind: Kind, number: int, face: Image.Image | None, min_age: int
) -> SampleDocument:
    """The first specimen from `number` on that has not expired and whose holder is old enough:
    the generator also makes expired ones and minors (for the reader's tests), but QA needs one
    the real checks can pass."""
    day = date.today()
    born_by = _years_before(day, min_age).isoformat()
    for offset in range(_VALID_TRIES):
        document = make_document(kind, (number + offset) % 10_000, face=face)
        holder = document.truth_front["holder"]
        if holder["expiry_date"] > day.isoformat() and holder["birth_date"] <= born_by:
            return document
    raise SampleGenerationError("No unexpired specimen could be generated.")


def sample_jpeg(name: str, seed: str, who: Person | None, min_age: int) -> bytes:
    """A specimen side (or the selfie) as JPEG; the sides of one kind belong to one document."""
    if name == "selfie":
        if who is None:
            raise SampleGenerationError("No face photos are configured for selfies.")
        image = cv2.imread(str(who.selfie), cv2.IMREAD_COLOR)
        if image is None:
            raise SampleGenerationError(f"The face photo {who.selfie} cannot be decoded.")
        return _jpeg(np.asarray(image, dtype=np.uint8))
    if name not in _SIDES:
        raise SampleGenerationError(f"No such sample: {name!r}")
    kind, side = _SIDES[name]
    face: Image.Image | None = load_face(who.portrait) if who is not None else None
    document = _valid_document(kind, _number(seed), face, min_age)
    image = document.back if side == "back" else document.front
    if image is None:
        raise SampleGenerationError(f"No such sample: {name!r}")
    return _jpeg(image)
