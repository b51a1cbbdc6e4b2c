"""Decide whether a person is who they claim: the document's validity, their details, their face.

`verify` reads the document (`processing.pipeline`) and judges it in two stages: `read_and_judge`
(or `judge_document` on a reading) works out everything that depends on the document alone (its
data, the checks of the reading, the authenticity signals) as a `DocumentStage`, which can be
kept between two jobs; `finish` adds the session's options, the claimed details and the selfie.
The webapp starts the first stage as soon as the document's photos are in (`webapp.prepared`).
`finish` runs small checks in a fixed order; the first error of each check group (document,
selfie, id number) is that group's error, and the first of those in that order is the verdict's
`last_error`. The report follows the shape of Stripe Identity's verification report and uses its
error codes where Stripe has one. Codes of our own: `document_name_mismatch`,
`document_dob_mismatch` (Stripe has no claimed-details check of the document) and
`country_not_supported` (Stripe's session code) for an issuing country outside
`VerifyOptions.allowed_countries`.

The document's data come from the most trustworthy zone read: a valid MRZ, else the licence
barcode, else the printed (visual) zone.

Whether the document is genuine (`processing.authenticity`: specimen, generator's mark, portrait,
dates, screen recapture, photocopy and edits, and here the agreement of its zones and sides) is
judged first: a specimen is `document_unverified_other` with its reason however unreadable,
expired or mismatched it is.
"""

from __future__ import annotations

import base64
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.authenticity import AuthenticitySignal, Evidence, assess, refusal, waived
from processing.errors import ImageError
from processing.face import compare_faces
from processing.load import load_image
from processing.names import compare_names
from processing.ocr_text import DIGIT_FOR_LETTER
from processing.pipeline import read_document
from processing.result import DocumentResult, to_plain

AllowedType = Literal["passport", "id_card", "driving_license"]
ALL_TYPES: tuple[AllowedType, ...] = ("passport", "id_card", "driving_license")
CheckStatus = Literal["verified", "unverified"]
VerdictStatus = Literal["verified", "requires_input"]

# A printed number one character away from the MRZ's (two for numbers of 8 or more characters,
# where OCR also splits one: PS09M6TWLY for P89M6TWLY) is an OCR slip, not another document:
# two documents' numbers differ in nearly every character.
_MAX_NUMBER_SLIPS = 1
_LONG_NUMBER = 8
# OCR of printed numbers confuses these letters and digits (CNPTS5CVPO read for CNPT5CVP0); they
# are folded together before counting slips. Readings below _NUMBER_TRUST are not compared at all.
_LOOKALIKES = str.maketrans(DIGIT_FOR_LETTER)
_NUMBER_TRUST = 0.5
# A printed number read only in part (478071 of A93478071) agrees from this many characters on.
_MIN_PARTIAL_NUMBER = 6
_MAX_NAME_SLIPS = 1  # the same for a printed name against the MRZ's
# Visual-zone confidence from which a printed field may contradict the MRZ: on generated documents
# correct dates read at 0.94-0.96 and names at 0.67-0.96, while a misread name ("POR" for ÞÓR,
# whose Þ the MRZ spells TH) came at 0.76.
_VISUAL_TRUST = 0.85
# The letter ICAO 9303 adds when spelling out Ä, Ö, Ü (AE, OE, UE) and Å (AA); OCR of the printed
# name usually reads the bare vowel.
_ICAO_DIGRAPH = re.compile(r"(?<=[AOU])E|(?<=A)A")
# OCR reads the printed Þ (Icelandic; the MRZ spells it TH) as a P: PORSDOTTIR for ÞORSDÓTTIR.
_THORN_READ_AS_P = re.compile("TH")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


@dataclass(frozen=True)
class VerifyOptions:
    allowed_types: tuple[AllowedType, ...] = ALL_TYPES
    allowed_countries: tuple[str, ...] | None = None  # ICAO 9303 codes ("D", "FRA", "USA")
    require_id_number: bool = False
    require_matching_selfie: bool = False
    min_age: int | None = None
    # Test mode: documents made by idflow's own generator pass (processing.authenticity explains
    # which signals that waives). Live verification and `idflow verify` keep it False.
    accept_generated: bool = False


@dataclass(frozen=True)
class ProvidedDetails:
    """What the person claimed; None means not claimed, so not compared."""

    first_name: str | None = None
    last_name: str | None = None
    dob: date | None = None
    id_number: str | None = None
    # The kind of number, when known (`processing.id_numbers`): a US SSN is printed on no
    # identity document, so it cannot be compared with one.
    id_number_type: str | None = None


@dataclass(frozen=True)
class CheckError:
    code: str
    reason: str


@dataclass(frozen=True)
class SignalCheck:
    """One authenticity signal as the report shows it. `waived`: it does not count towards the
    verdict, fired or not: in test mode the generator's traits on its own documents, and always a
    signal that only reports (a named editor without a pasted patch, a patch alone)."""

    name: str
    score: float
    threshold: float
    fired: bool
    reason: str | None
    waived: bool


@dataclass(frozen=True)
class DocumentCheck:
    status: CheckStatus
    error: CheckError | None
    issuing_country: str | None
    type: str | None
    number: str | None
    first_name: str | None
    last_name: str | None
    dob: str | None  # ISO dates
    issued_date: str | None
    expiration_date: str | None
    address: str | None
    authenticity: tuple[SignalCheck, ...] = ()  # every signal, fired or not
    sex: str | None = None


@dataclass(frozen=True)
class SelfieCheck:
    status: CheckStatus
    error: CheckError | None
    similarity: float | None
    selfie_face_found: bool
    document_face_found: bool
    # The face detector that ran: "yunet", or "dlib_hog" when the YuNet model is not installed
    # (less reliable on small or tilted faces, so a report says so); None when none ran.
    detector: str | None = None


@dataclass(frozen=True)
class IdNumberCheck:
    status: CheckStatus
    error: CheckError | None


@dataclass(frozen=True)
class ReportChecks:
    document: DocumentCheck
    selfie: SelfieCheck | None  # None when no matching selfie was required
    id_number: IdNumberCheck | None  # None when no id number was required or claimed


@dataclass(frozen=True)
class VerifiedOutputs:
    first_name: str | None
    last_name: str | None
    dob: str | None
    id_number: str | None
    address: str | None
    issuing_country: str | None = None  # ICAO; the address's country (webapp.representations)
    sex: str | None = None


@dataclass(frozen=True)
class Verdict:
    status: VerdictStatus
    last_error: CheckError | None
    report: ReportChecks
    verified_outputs: VerifiedOutputs | None  # only when verified
    timings: dict[str, float]  # seconds per step

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = to_plain(self)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """A verdict back from `to_dict()`, for one kept while it waits to be published: its
        `to_dict()` is the kept one (figures are rounded once, by the first)."""

        def error(value: dict[str, Any] | None) -> CheckError | None:
            return CheckError(**value) if value is not None else None

        report = data["report"]
        document = report["document"]
        selfie, id_number = report["selfie"], report["id_number"]
        outputs = data["verified_outputs"]
        return cls(
            status=data["status"],
            last_error=error(data["last_error"]),
            report=ReportChecks(
                DocumentCheck(
                    **{
                        **document,
                        "error": error(document["error"]),
                        "authenticity": tuple(SignalCheck(**s) for s in document["authenticity"]),
                    }
                ),
                SelfieCheck(**{**selfie, "error": error(selfie["error"])}) if selfie else None,
                IdNumberCheck(id_number["status"], error(id_number["error"]))
                if id_number
                else None,
            ),
            verified_outputs=VerifiedOutputs(**outputs) if outputs is not None else None,
            timings=dict(data["timings"]),
        )


@dataclass(frozen=True)
class DocumentData:
    """The identity fields of the document, from the zone that deserves the most trust."""

    source: Literal["mrz", "barcode", "visual", "none"]
    type: str | None
    issuing_country: str | None
    number: str | None
    other_numbers: tuple[str, ...]  # personal numbers an id number may also be
    surname: str | None
    given_names: str | None
    dob: str | None
    issued_date: str | None
    expiration_date: str | None
    address: str | None
    names_truncated: bool
    sex: str | None = None  # "M", "F" or "X" (unspecified), whichever zone printed it

    @classmethod
    def empty(cls, document_type: str | None = None) -> DocumentData:
        """Nothing read: the document is at most recognised by its type."""
        return cls("none", document_type, None, None, (), None, None, None, None, None, None, False)


def document_data(result: DocumentResult) -> DocumentData:
    mrz, barcode, visual = result.mrz, result.barcode, result.visual
    if mrz is not None and mrz.valid:
        issued = visual.fields.get("issue_date") if visual else None
        address = visual.fields.get("address") if visual else None
        return DocumentData(
            "mrz",
            result.document_type,
            mrz.issuing_country,
            mrz.document_number,
            tuple(n for n in (mrz.optional_data, mrz.optional_data_2) if n),
            mrz.surname,
            mrz.given_names,
            mrz.birth_date,
            issued.value if issued else None,
            mrz.expiry_date,
            address.value if address else None,
            mrz.names_truncated,
            mrz.sex,
        )
    if barcode is not None:
        return DocumentData(
            "barcode",
            result.document_type,
            barcode.country,
            barcode.document_number,
            (),
            barcode.family_name,
            barcode.given_names,
            barcode.birth_date,
            barcode.issue_date,
            barcode.expiry_date,
            barcode.address,
            False,
            barcode.sex,
        )
    if visual is not None and result.status == "read":
        fields = {name: field.value for name, field in visual.fields.items()}
        surname, given = fields.get("surname"), fields.get("given_names")
        if surname is None and "full_name" in fields:
            given, _, surname = fields["full_name"].rpartition(" ")
        return DocumentData(
            "visual",
            result.document_type,
            None,
            fields.get("document_number"),
            (),
            surname,
            given,
            fields.get("birth_date"),
            fields.get("issue_date"),
            fields.get("expiry_date"),
            fields.get("address"),
            False,
            fields.get("sex"),
        )
    return DocumentData.empty(result.document_type)


def normalise_number(number: str) -> str:
    """Spaces, dashes and case are how people type a number, not part of it."""
    return _NOT_ALNUM.sub("", number.upper())


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def _age(dob: date, today: date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def _iso(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def check_readable(result: DocumentResult) -> CheckError | None:
    if result.status == "read":
        return None
    reason = result.reasons[0].message if result.reasons else "The document could not be read."
    return CheckError("document_unverified_other", reason)


def check_type(data: DocumentData, options: VerifyOptions) -> CheckError | None:
    if data.type in options.allowed_types:
        return None
    shown = data.type.replace("_", " ") if data.type else "an unrecognised kind of document"
    allowed = ", ".join(t.replace("_", " ") for t in options.allowed_types)
    return CheckError(
        "document_type_not_supported",
        f"This document is {shown}; accepted here: {allowed}.",
    )


def check_country(data: DocumentData, options: VerifyOptions) -> CheckError | None:
    allowed = options.allowed_countries
    if allowed is None or data.issuing_country in allowed:
        return None
    issuer = data.issuing_country or "an unknown country"
    return CheckError(
        "country_not_supported",
        f"Documents issued by {issuer} are not accepted here; accepted: {', '.join(allowed)}.",
    )


def check_mrz_digits(result: DocumentResult) -> CheckError | None:
    """An MRZ that fails its check digits may not vouch for the document.

    Next to a licence barcode it is ignored instead: barcode stripes OCR as MRZ-like noise.
    """
    if result.mrz is None or result.mrz.valid or result.barcode is not None:
        return None
    failed = ", ".join(c.field.replace("_", " ") for c in result.mrz.check_digits if not c.valid)
    return CheckError(
        "document_unverified_other",
        f"The check digits of the machine-readable zone do not hold ({failed}).",
    )


def check_same_document(result: DocumentResult) -> CheckError | None:
    """The printed number must be the machine-read one; skipped when only one of them was read."""
    printed = result.visual.fields.get("document_number") if result.visual else None
    machine = (
        result.mrz.document_number
        if result.mrz is not None and result.mrz.valid
        else (result.barcode.document_number if result.barcode else None)
    )
    if printed is None or printed.confidence < _NUMBER_TRUST or not machine:
        return None
    a, b = (normalise_number(n).translate(_LOOKALIKES) for n in (printed.value, machine))
    if _edit_distance(a, b) <= _MAX_NUMBER_SLIPS + (len(b) >= _LONG_NUMBER):
        return None
    if len(a) >= _MIN_PARTIAL_NUMBER and a in b:  # only part of it was read
        return None
    where = "the back" if len(result.sides) > 1 else "the machine-readable data"
    return CheckError(
        "document_unverified_other",
        f"The document number printed on the front does not match {where}: "
        "both photos must show the same document.",
    )


def _name_letters(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name.upper()) if "A" <= c <= "Z")


def _looks_like_printed_name(value: str) -> bool:
    """Documents print names in capitals; a mixed-case or one-letter reading is a caption or a
    fragment the visual reader mistook for the name ("Prénon", "K")."""
    return value == value.upper() and len(_name_letters(value)) >= 2


def _printed_name_agrees(printed: str, machine: str, *, surname: bool, truncated: bool) -> bool:
    """The printed name is the MRZ's up to spelling (`compare_names`), or up to what OCR does to
    print: it drops diacritics the MRZ spells out ("SCHRODER" for SCHROEDER) and slips a letter.
    """
    first, last = (None, printed) if surname else (printed, None)
    outcome = compare_names(
        first,
        last,
        document_surname=machine if surname else "",
        document_given_names="" if surname else machine,
        truncated=truncated,
    )
    if outcome.match:
        return True
    read = _name_letters(printed)
    spelled = _name_letters(machine)
    forms = (spelled, _ICAO_DIGRAPH.sub("", spelled), _THORN_READ_AS_P.sub("P", spelled))
    return any(_edit_distance(read, form) <= _MAX_NAME_SLIPS for form in forms)


def check_mrz_matches_visual(result: DocumentResult) -> CheckError | None:
    """Where the visual zone read a field clearly, it must say what the valid MRZ says.

    A printed zone that contradicts the MRZ is an altered document or two documents' sides.
    Fields read with little confidence are skipped: OCR misreads are not the holder's fault.
    The document number is `check_same_document`'s.
    """
    mrz, visual = result.mrz, result.visual
    if mrz is None or not mrz.valid or visual is None:
        return None
    read = {name: f.value for name, f in visual.fields.items() if f.confidence >= _VISUAL_TRUST}
    differing = [
        label
        for name, label, machine in (
            ("birth_date", "date of birth", mrz.birth_date),
            ("expiry_date", "expiry date", mrz.expiry_date),
        )
        if name in read and machine and read[name] != machine
    ]
    for name, label, machine, is_surname in (
        ("surname", "surname", mrz.surname, True),
        ("given_names", "given names", mrz.given_names, False),
    ):
        if name in read and machine and _looks_like_printed_name(read[name]):
            agrees = _printed_name_agrees(
                read[name], machine, surname=is_surname, truncated=mrz.names_truncated
            )
            if not agrees:
                differing.append(label)
    if not differing:
        return None
    return CheckError(
        "document_unverified_other",
        "The printed details do not match the machine-readable zone "
        f"({', '.join(differing)}): the document may have been altered.",
    )


def consistency_signal(result: DocumentResult) -> AuthenticitySignal:
    """The zones and sides agree: the printed number is the machine-read one, and the printed
    details say what the MRZ says. Each comparison forgives OCR slips (thresholds above), so one
    disagreement left is enough."""
    errors = [e for e in (check_same_document(result), check_mrz_matches_visual(result)) if e]
    return AuthenticitySignal(
        "consistency", float(len(errors)), 1.0, errors[0].reason if errors else None
    )


def check_authenticity(
    signals: Sequence[AuthenticitySignal], options: VerifyOptions
) -> CheckError | None:
    fired = refusal(signals, accept_generated=options.accept_generated)
    if fired is None:
        return None
    return CheckError("document_unverified_other", fired.reason or f"{fired.name} check failed.")


def check_expiry(data: DocumentData, today: date) -> CheckError | None:
    expiry = _iso(data.expiration_date)
    if expiry is None:
        return CheckError(
            "document_unverified_other", "The expiry date of the document could not be read."
        )
    if expiry < today:
        # No date in the reason: reasons are shown and stored in clear, the report has the date.
        return CheckError("document_expired", "The document has expired; use one still valid.")
    return None


def check_age(data: DocumentData, min_age: int | None, today: date) -> CheckError | None:
    if min_age is None:
        return None
    dob = _iso(data.dob)
    if dob is None:
        return CheckError(
            "document_unverified_other", "The date of birth on the document could not be read."
        )
    if _age(dob, today) < min_age:
        return CheckError("under_supported_age", f"The holder is younger than {min_age}.")
    return None


def check_names(data: DocumentData, provided: ProvidedDetails) -> CheckError | None:
    if provided.first_name is None and provided.last_name is None:
        return None
    outcome = compare_names(
        provided.first_name,
        provided.last_name,
        document_surname=data.surname or "",
        document_given_names=data.given_names or "",
        truncated=data.names_truncated,
        from_mrz=data.source == "mrz",
    )
    if outcome.match:
        return None
    return CheckError(outcome.reason or "document_name_mismatch", outcome.detail)


def check_dob(data: DocumentData, provided: ProvidedDetails) -> CheckError | None:
    if provided.dob is None or _iso(data.dob) == provided.dob:
        return None
    return CheckError(
        "document_dob_mismatch", "The date of birth given is not the one on the document."
    )


def check_id_number(data: DocumentData, provided: ProvidedDetails) -> CheckError | None:
    if provided.id_number is None or not normalise_number(provided.id_number):
        return CheckError(
            "id_number_insufficient_document_data", "An id number is required but none was given."
        )
    if provided.id_number_type == "us_ssn":
        return CheckError(
            "id_number_insufficient_document_data",
            "A US Social Security number is on no identity document, so it cannot be compared.",
        )
    numbers = [n for n in (data.number, *data.other_numbers) if n]
    if not numbers:
        return CheckError(
            "id_number_insufficient_document_data", "No id number could be read on the document."
        )
    claimed = normalise_number(provided.id_number)
    if any(normalise_number(n) == claimed for n in numbers):
        return None
    return CheckError("id_number_mismatch", "The id number given is not the one on the document.")


def check_document(
    stage: DocumentStage,
    options: VerifyOptions,
    provided: ProvidedDetails,
) -> CheckError | None:
    """Genuine, readable, valid, then whether the claimed details are the document's.

    A sample or specimen is told so even when it could not be read: asking for a sharper photo of
    it would only invite another try.
    """
    data, today = stage.data, stage.day
    checks: tuple[Callable[[], CheckError | None], ...] = (
        lambda: check_authenticity(stage.signals, options),
        lambda: stage.unreadable,
        lambda: check_type(data, options),
        lambda: check_country(data, options),
        lambda: stage.mrz_digits_failed,
        lambda: check_expiry(data, today),
        lambda: check_age(data, options.min_age, today),
        lambda: check_names(data, provided),
        lambda: check_dob(data, provided),
    )
    return next((error for check in checks if (error := check()) is not None), None)


_SELFIE_CODES = {
    "selfie_face_not_found": "selfie_face_not_found",
    "selfie_multiple_faces": "selfie_unverified_other",
    "selfie_face_too_small": "selfie_unverified_other",
    "selfie_face_blurry": "selfie_unverified_other",
    "selfie_document_missing_photo": "selfie_document_missing_photo",
    "selfie_face_mismatch": "selfie_face_mismatch",
}
_SELFIE_REASONS = {
    "selfie_face_not_found": "No face was found in the selfie: take it facing the camera.",
    "selfie_multiple_faces": "The selfie shows more than one face: only the holder may be in it.",
    "selfie_face_too_small": "The face in the selfie is too small: hold the camera closer.",
    "selfie_face_blurry": "The face in the selfie is blurred: hold still and take it in focus.",
    "selfie_document_missing_photo": "No portrait was found on the document to compare with.",
    "selfie_face_mismatch": "The face in the selfie is not the portrait on the document.",
}


def check_selfie(
    selfie: bytes | None,
    portrait: NDArray[np.uint8] | None,
    timings: dict[str, float],
    detector_model: Path | None,
) -> SelfieCheck:
    """The selfie against the portrait the reader cut out of the document (None: none found)."""
    if selfie is None:
        error = CheckError("selfie_unverified_other", "A selfie is required but none was given.")
        return SelfieCheck("unverified", error, None, False, portrait is not None)
    start = time.perf_counter()
    try:
        image = load_image(selfie).image
    except ImageError as exc:
        error = CheckError("selfie_unverified_other", exc.reason)
        return SelfieCheck("unverified", error, None, False, portrait is not None)
    finally:
        timings["selfie.load"] = time.perf_counter() - start
    if portrait is None:
        code = "selfie_document_missing_photo"
        error = CheckError(code, _SELFIE_REASONS[code])
        return SelfieCheck("unverified", error, None, False, False)
    start = time.perf_counter()
    match = compare_faces(image, portrait, detector_model=detector_model)
    timings["selfie.match"] = time.perf_counter() - start
    found = (match.selfie_faces > 0, match.portrait_faces > 0)
    similarity = match.similarity if match.distance is not None else None
    if match.reason_code is None:
        return SelfieCheck("verified", None, similarity, *found, match.detector)
    error = CheckError(_SELFIE_CODES[match.reason_code], _SELFIE_REASONS[match.reason_code])
    return SelfieCheck("unverified", error, similarity, *found, match.detector)


def signal_checks(
    signals: Sequence[AuthenticitySignal], options: VerifyOptions
) -> tuple[SignalCheck, ...]:
    ignored = waived(signals, accept_generated=options.accept_generated)
    return tuple(
        SignalCheck(
            s.name, s.score, s.threshold, s.fired, s.reason, s.name in ignored or not s.refusing
        )
        for s in signals
    )


def document_check(
    data: DocumentData, error: CheckError | None, signals: tuple[SignalCheck, ...] = ()
) -> DocumentCheck:
    """The report's document check: what was read, and the first error of the document group."""
    return DocumentCheck(
        status="unverified" if error else "verified",
        error=error,
        issuing_country=data.issuing_country,
        type=data.type,
        number=data.number,
        first_name=data.given_names,
        last_name=data.surname,
        dob=data.dob,
        issued_date=data.issued_date,
        expiration_date=data.expiration_date,
        address=data.address,
        authenticity=signals,
        sex=data.sex,
    )


def _error(value: dict[str, Any] | None) -> CheckError | None:
    return CheckError(**value) if value is not None else None


def _png(image: NDArray[np.uint8] | None) -> str | None:
    if image is None:
        return None
    encoded, data = cv2.imencode(".png", image)
    if not encoded:
        raise ValueError("the portrait could not be encoded as PNG")
    return base64.b64encode(data.tobytes()).decode("ascii")


def _unpng(text: str | None) -> NDArray[np.uint8] | None:
    if text is None:
        return None
    data = np.frombuffer(base64.b64decode(text), np.uint8)
    image: NDArray[np.uint8] | None = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError("the kept portrait is not a PNG")
    return image


@dataclass(frozen=True)
class DocumentStage:
    """Everything the verdict takes from the document and nothing else: worked out as soon as
    the document's photos are in (`judge_document`), while the person still takes the selfie,
    then finished with the selfie, the options and the claimed details (`finish`).

    `to_dict()` is JSON-ready and lossless (floats as they are, the portrait as PNG), so the
    stage can wait between two jobs and `finish` on it gives what `verify` gives on the photos.
    `day` is the date the document was judged on (the dates signal used it); `finish` uses it.
    """

    day: date
    data: DocumentData
    unreadable: CheckError | None  # `check_readable` of the reading
    mrz_digits_failed: CheckError | None  # `check_mrz_digits` of the reading
    signals: tuple[AuthenticitySignal, ...]  # every authenticity signal, consistency last
    portrait: NDArray[np.uint8] | None = field(repr=False, compare=False)  # BGR, for the selfie
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        def error(value: CheckError | None) -> dict[str, str] | None:
            return {"code": value.code, "reason": value.reason} if value is not None else None

        data = {f.name: getattr(self.data, f.name) for f in fields(DocumentData)}
        return {
            "day": self.day.isoformat(),
            "data": data | {"other_numbers": list(self.data.other_numbers)},
            "unreadable": error(self.unreadable),
            "mrz_digits_failed": error(self.mrz_digits_failed),
            "signals": [
                {f.name: getattr(s, f.name) for f in fields(AuthenticitySignal)}
                for s in self.signals
            ],
            "portrait": _png(self.portrait),
            "timings": dict(self.timings),
        }

    @classmethod
    def from_dict(cls, plain: dict[str, Any]) -> DocumentStage:
        """The stage back from `to_dict()`, equal to the one kept, portrait pixel for pixel."""
        data = plain["data"]
        return cls(
            day=date.fromisoformat(plain["day"]),
            data=DocumentData(**{**data, "other_numbers": tuple(data["other_numbers"])}),
            unreadable=_error(plain["unreadable"]),
            mrz_digits_failed=_error(plain["mrz_digits_failed"]),
            signals=tuple(AuthenticitySignal(**s) for s in plain["signals"]),
            portrait=_unpng(plain["portrait"]),
            timings=dict(plain["timings"]),
        )


def judge_document(result: DocumentResult, evidence: Evidence, day: date) -> DocumentStage:
    """The document's part of the verdict on a reading: its data, the checks of the reading
    alone and the authenticity signals (`evidence` carries the uploaded bytes, if any)."""
    timings = dict(result.timings)
    start = time.perf_counter()
    signals = (*assess(evidence), consistency_signal(result))
    timings["authenticity"] = time.perf_counter() - start
    return DocumentStage(
        day=day,
        data=document_data(result),
        unreadable=check_readable(result),
        mrz_digits_failed=check_mrz_digits(result),
        signals=signals,
        portrait=result.portrait.image if result.portrait is not None else None,
        timings=timings,
    )


def read_and_judge(
    front: bytes,
    back: bytes | None,
    *,
    today: date | None = None,
    detector_model: Path | None = None,
) -> DocumentStage:
    """Read the document and judge it alone: the first stage of `verify`, which needs neither
    the selfie nor the session's options or claimed details. Raises only OCREngineError /
    FaceModelError (installation)."""
    start = time.perf_counter()
    day = today or date.today()
    result = read_document(
        front, back, today=today, detector_model=detector_model, read_visual=True
    )
    stage = judge_document(result, Evidence(result, front, back, day, detector_model), day)
    stage.timings["document.total"] = time.perf_counter() - start
    return stage


def finish(
    stage: DocumentStage,
    selfie: bytes | None,
    options: VerifyOptions,
    provided: ProvidedDetails,
    *,
    detector_model: Path | None = None,
) -> Verdict:
    """The verdict from the document's stage: its checks against the options and the claimed
    details, the id number and the selfie; the second stage of `verify`."""
    timings = dict(stage.timings)
    data = stage.data
    start = time.perf_counter()
    document_error = check_document(stage, options, provided)
    timings["checks"] = time.perf_counter() - start
    id_check: IdNumberCheck | None = None
    if options.require_id_number or provided.id_number is not None:
        id_error = check_id_number(data, provided)
        id_check = IdNumberCheck("unverified" if id_error else "verified", id_error)
    selfie_check = (
        check_selfie(selfie, stage.portrait, timings, detector_model)
        if options.require_matching_selfie
        else None
    )
    document = document_check(data, document_error, signal_checks(stage.signals, options))
    errors = [
        check.error
        for check in (document, selfie_check, id_check)
        if check is not None and check.error is not None
    ]
    last_error = errors[0] if errors else None
    outputs = (
        None
        if last_error
        else VerifiedOutputs(
            data.given_names,
            data.surname,
            data.dob,
            normalise_number(provided.id_number) if provided.id_number else data.number,
            data.address,
            data.issuing_country,
            data.sex,
        )
    )
    return Verdict(
        status="requires_input" if last_error else "verified",
        last_error=last_error,
        report=ReportChecks(document, selfie_check, id_check),
        verified_outputs=outputs,
        timings=timings,
    )


def evaluate(
    result: DocumentResult,
    selfie: bytes | None,
    options: VerifyOptions,
    provided: ProvidedDetails,
    *,
    today: date | None = None,
    detector_model: Path | None = None,
    evidence: Evidence | None = None,
) -> Verdict:
    """The verdict on a document already read; `verify` is this plus the reading.

    `evidence` carries the uploaded bytes for the authenticity checks; without it they judge the
    reading alone (`Evidence(result)`).
    """
    day = today or date.today()
    found = evidence or Evidence(result, today=day, detector_model=detector_model)
    stage = judge_document(result, found, day)
    return finish(stage, selfie, options, provided, detector_model=detector_model)


def verify(
    front: bytes,
    back: bytes | None,
    selfie: bytes | None,
    options: VerifyOptions,
    provided: ProvidedDetails,
    *,
    today: date | None = None,
    detector_model: Path | None = None,
) -> Verdict:
    """Read the document and judge it. Raises only OCREngineError / FaceModelError (installation).

    The printed text is read even when the MRZ was, so that an altered data page or two documents'
    sides show up: about half a second more on a passport, measured by `idflow bench-verify`.
    """
    start = time.perf_counter()
    stage = read_and_judge(front, back, today=today, detector_model=detector_model)
    verdict = finish(stage, selfie, options, provided, detector_model=detector_model)
    verdict.timings["verify.total"] = time.perf_counter() - start
    return verdict


__all__ = [
    "ALL_TYPES",
    "CheckError",
    "DocumentCheck",
    "DocumentData",
    "DocumentStage",
    "IdNumberCheck",
    "ProvidedDetails",
    "ReportChecks",
    "SelfieCheck",
    "SignalCheck",
    "Verdict",
    "VerifiedOutputs",
    "VerifyOptions",
    "check_mrz_matches_visual",
    "document_check",
    "document_data",
    "evaluate",
    "finish",
    "judge_document",
    "normalise_number",
    "read_and_judge",
    "verify",
]
