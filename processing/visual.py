"""Read the printed (visual inspection) zone of a flattened document with Tesseract.

Steps, each a small function whose result can be inspected:
    prepare_for_ocr -> ocr_segments (Tesseract words grouped into text runs) -> find_labels
    -> label_values (value right of the label, or in the run below it) -> parse_* per field.

Nothing here knows one issuer's layout. Fields are found through their captions in the common
conventions: bilingual passport captions ("Date of birth / Date de naissance"), AAMVA and EU
driving-licence field numbers ("3 DOB 03/14/1987", "4b. 01.02.2030") and US abbreviations
(DOB, EXP, ISS, DLN, LN, FN). Numeric dates are read month-first only where the document says it
is American, or where another date on it can only be read that way.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.ocr_text import (
    CAPTION_LETTER_FOR_DIGIT,
    DATE_DIGIT_FOR_LETTER,
    DateKind,
    full_year,
)
from processing.tesseract import PRINTED_TEXT, read_tsv

DocumentType = Literal["passport", "id_card", "driving_license"]
DateOrder = Literal["DMY", "MDY"]

_TSV_COLUMNS = 12  # level, page, block, paragraph, line, word, box (4), confidence, text
_OCR_WIDTH = 1500  # small captions on ID-1 cards read better once the card is this wide
_AMBIGUOUS_DATE_PENALTY = 0.6
_CONFLICT_PENALTY = 0.5

# Caption phrases per field, normalised (upper case, no accents, no punctuation but '/').
_CAPTIONS: dict[str, tuple[str, ...]] = {
    "surname": ("SURNAME", "NOM", "FAMILY NAME", "LAST NAME", "LN", "NACHNAME", "APELLIDOS"),
    "given_names": (
        "GIVEN NAMES",
        "GIVEN NAME",
        "PRENOMS",
        "PRENOM",
        "FIRST NAME",
        "FORENAMES",
        "FN",
        "VORNAMEN",
        "NOMBRES",
    ),
    "full_name": ("NAME", "FULL NAME"),
    "birth_date": (
        "DATE OF BIRTH",
        "BIRTH DATE",
        "DOB",
        "DATE DE NAISSANCE",
        "GEBURTSDATUM",
        "FECHA DE NACIMIENTO",
    ),
    "issue_date": (
        "DATE OF ISSUE",
        "ISSUE DATE",
        "ISS",
        "ISSUED",
        "DATE DE DELIVRANCE",
        "AUSSTELLUNGSDATUM",
    ),
    "expiry_date": (
        "DATE OF EXPIRY",
        "EXPIRY DATE",
        "DATE OF EXPIRATION",
        "EXPIRATION DATE",
        "EXPIRES",
        "EXP",
        "VALID UNTIL",
        "DATE DEXPIRATION",
        "GULTIG BIS",
    ),
    "document_number": (
        "PASSPORT NO",
        "PASSPORT NUMBER",
        "DOCUMENT NO",
        "DOCUMENT NUMBER",
        "CARD NO",
        "CARD NUMBER",
        "LICENSE NO",
        "LICENCE NO",
        "LIC NO",
        "DLN",
        "DL",
        "NO DU PASSEPORT",
        "NO DU DOCUMENT",
        "PASS NR",
    ),
    "sex": ("SEX", "SEXE", "GESCHLECHT"),
    "nationality": ("NATIONALITY", "NATIONALITE", "STAATSANGEHORIGKEIT"),
    "address": ("ADDRESS", "ADRESSE", "ANSCHRIFT", "RESIDENCE"),
    # Captions of fields not read here: they end the value of the caption before them.
    "": (
        "PLACE OF BIRTH",
        "LIEU DE NAISSANCE",
        "AUTHORITY",
        "AUTORITE",
        "ISSUING AUTHORITY",
        "TYPE",
        "CODE",
        "COUNTRY CODE",
        "HGT",
        "HEIGHT",
        "WGT",
        "EYES",
        "HAIR",
        "CLASS",
        "REST",
        "END",
        "DD",
        "SIGNATURE",
        "PERSONAL NO",
        "PERSONAL NUMBER",
        "N PERSONNEL",
    ),
}

# Driving-licence field numbers. AAMVA (US) and the EU model agree on 1-4b and 8 only.
_NUMBERS_COMMON = {
    "1": "surname",
    "2": "given_names",
    "3": "birth_date",
    "4A": "issue_date",
    "4B": "expiry_date",
    "8": "address",
}
_NUMBERS_US = {**_NUMBERS_COMMON, "4D": "document_number", "15": "sex"}
_NUMBERS_EU = {**_NUMBERS_COMMON, "5": "document_number"}
_OTHER_NUMBERS = {"4C", "4D", "5", "9", "9A", "10", "11", "12", "16", "17", "18", "19"}

_DIGIT_AS_LETTER = str.maketrans(CAPTION_LETTER_FOR_DIGIT)
_US_MARKERS = {"USA", "DLN", "DOB", "AAMVA"}
_US_PHRASES = ("UNITED STATES", "DRIVER LICENSE")  # British and EU licences say "DRIVING LICENCE"

_MONTHS = {
    "JAN": 1, "ENE": 1, "JANV": 1,
    "FEB": 2, "FEV": 2, "FEVR": 2,
    "MAR": 3, "MARS": 3, "MAE": 3,
    "APR": 4, "AVR": 4, "ABR": 4,
    "MAY": 5, "MAI": 5,
    "JUN": 6, "JUIN": 6,
    "JUL": 7, "JUIL": 7,
    "AUG": 8, "AOU": 8, "AGO": 8,
    "SEP": 9, "SEPT": 9, "SET": 9,
    "OCT": 10, "OKT": 10,
    "NOV": 11,
    "DEC": 12, "DEZ": 12, "DIC": 12,
}  # fmt: skip

_DATE_FIELDS = ("birth_date", "issue_date", "expiry_date")
_ISO = re.compile(r"(?<!\d)(\d{4})[-./ ](\d{1,2})[-./ ](\d{1,2})(?!\d)")
_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[-./ ](\d{1,2})[-./ ](\d{4}|\d{2})(?!\d)")
_DAY_MONTH = re.compile(r"(?<!\d)(\d{1,2})\.?\s*([A-Z]{3,5})(?:/[A-Z]{3,5})*\.?\s*(\d{4}|\d{2})")
_MONTH_DAY = re.compile(r"\b([A-Z]{3,5})\.?\s+(\d{1,2}),?\s+(\d{4})")


@dataclass(frozen=True)
class Word:
    text: str
    box: tuple[int, int, int, int]  # (x, y, w, h) in document pixels
    confidence: float  # 0-1

    @property
    def key(self) -> str:
        """Upper case, accents and punctuation dropped: how captions are compared."""
        return _normalise(self.text)


@dataclass(frozen=True)
class Segment:
    """A run of words Tesseract saw as one line, split where a wide gap separates columns."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> tuple[int, int, int, int]:
        x0 = min(w.box[0] for w in self.words)
        y0 = min(w.box[1] for w in self.words)
        x1 = max(w.box[0] + w.box[2] for w in self.words)
        y1 = max(w.box[1] + w.box[3] for w in self.words)
        return x0, y0, x1 - x0, y1 - y0


@dataclass(frozen=True)
class Caption:
    field: str  # "" for a caption of a field this module does not read
    segment: int  # index into the segment list
    start: int  # first word of the caption
    end: int  # one past its last word, bilingual tail included


@dataclass(frozen=True)
class VisualField:
    value: str
    confidence: float  # 0-1: Tesseract's word confidences, lowered for ambiguous readings


@dataclass(frozen=True)
class VisualZone:
    text: str
    fields: dict[str, VisualField]


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.upper())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^A-Z0-9/ ]", "", plain).strip()


def prepare_for_ocr(document: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], float]:
    """Grayscale, enlarged to about 1500 px wide; the scale factor maps boxes back.

    Measured on rendered cards: plain grayscale reads best (Otsu and adaptive thresholds lose thin
    caption strokes), and ID-1 captions of 5-6 pt misread noticeably less once enlarged 1.5x;
    2x starts to merge a field number with its value ("8 123" -> "8123").
    """
    gray = document if document.ndim == 2 else cv2.cvtColor(document, cv2.COLOR_BGR2GRAY)
    scale = min(2.0, max(1.0, _OCR_WIDTH / gray.shape[1]))
    if scale > 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return np.asarray(gray, dtype=np.uint8), scale


def _tsv_rows(tsv: str) -> list[list[str]]:
    """The TSV rows as pytesseract read the program's output (a missing last text is empty)."""
    rows = [row.split("\t") for row in tsv.strip().split("\n")] if tsv.strip() else []
    if rows and len(rows[-1]) < _TSV_COLUMNS:
        rows[-1].append("")
    return [row for row in rows if len(row) >= _TSV_COLUMNS]


def ocr_segments(gray: NDArray[np.uint8], scale: float = 1.0) -> list[Segment]:
    """Tesseract's words, in reading order, grouped by its own block/paragraph/line numbers."""
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for row in _tsv_rows(read_tsv(gray, PRINTED_TEXT)):
        block, paragraph, line = (int(cell) for cell in row[2:5])
        x, y, w, h = (round(int(cell) / scale) for cell in row[6:10])
        # A whole number, as pytesseract handed it over before Tesseract moved in-process.
        confidence, text = int(float(row[10])), row[11]
        if not text.strip() or confidence < 0:
            continue
        lines.setdefault((block, paragraph, line), []).append(
            Word(text.strip(), (x, y, w, h), confidence / 100)
        )
    segments = [Segment(tuple(sorted(words, key=lambda w: w.box[0]))) for words in lines.values()]
    return sorted(segments, key=lambda s: (s.box[1] + s.box[3] // 2, s.box[0]))


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    """One substitution, insertion or deletion at most: a misread letter of a small caption."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _match_phrase(keys: list[str], at: int, fuzzy: bool) -> tuple[str, int] | None:
    """The longest caption starting at word `at`: (field, number of words)."""
    best: tuple[str, int] | None = None
    for field_name, phrases in _CAPTIONS.items():
        for phrase in phrases:
            parts = phrase.split()
            window = keys[at : at + len(parts)]
            if len(window) < len(parts):
                continue
            exact = window == parts
            close = (
                fuzzy
                and len(parts) == 1
                and len(parts[0]) >= 3
                and _edit_distance_at_most_one(window[0].translate(_DIGIT_AS_LETTER), parts[0])
            )
            if (exact or close) and (best is None or len(parts) > best[1]):
                best = (field_name, len(parts))
    return best


def _bilingual_tail(words: tuple[Word, ...], at: int) -> int:
    """Skip "/ Date de naissance" after a caption: a slash, then words in lower case or captions."""
    i = at
    while i < len(words) and words[i].text.startswith("/"):
        i += 1
        while i < len(words) and (
            any(c.islower() or c == "°" for c in words[i].text)
            or _match_phrase([w.key for w in words], i, fuzzy=False) is not None
        ):
            i += 1
    return i


def _numbered(key: str, numbers: dict[str, str]) -> tuple[str, str] | None:
    """(field, caption glued to it) for a licence field number, alone or run together ("4aISS")."""
    known = sorted({*numbers, *_OTHER_NUMBERS}, key=len, reverse=True)
    for number in known:
        rest = key[len(number) :]
        if key.startswith(number) and (not rest or _match_phrase([rest], 0, fuzzy=True)):
            return numbers.get(number, ""), rest
    return None


def find_captions(segments: list[Segment], numbers: dict[str, str] | None) -> list[Caption]:
    """Every caption, in segment order. `numbers` maps licence field numbers, None on passports.

    Misread captions are forgiven (one edit) only right after a field number, where a caption is
    expected: elsewhere "DOS" in a surname must not become "DOB".
    """
    captions = []
    for index, segment in enumerate(segments):
        words = segment.words
        keys = [w.key for w in words]
        i = 0
        while i < len(words):
            numbered = _numbered(keys[i].rstrip("/ "), numbers) if numbers is not None else None
            if numbered is not None and not (
                i + 1 < len(keys) and keys[i + 1].split("/")[0] in _MONTHS
            ):
                end = i + 1
                follower = None if numbered[1] else _match_phrase(keys, end, fuzzy=True)
                if follower is not None:
                    end += follower[1]
                captions.append(Caption(numbered[0], index, i, end))
                i = end
                continue
            found = _match_phrase(keys, i, fuzzy=False)
            if found is None:
                i += 1
                continue
            end = _bilingual_tail(words, i + found[1])
            captions.append(Caption(found[0], index, i, end))
            i = end
    return captions


def _caption_starts(captions: list[Caption]) -> set[tuple[int, int]]:
    return {(c.segment, c.start) for c in captions}


def _segment_below(
    segments: list[Segment], caption: Caption, starts: set[tuple[int, int]]
) -> int | None:
    """The nearest run under the caption's column that does not itself begin with a caption."""
    cx, cy, cw, ch = segments[caption.segment].box
    column_x0 = segments[caption.segment].words[caption.start].box[0]
    best: tuple[int, int] | None = None
    for index, segment in enumerate(segments):
        x, y, w, _ = segment.box
        gap = y - (cy + ch)
        if index == caption.segment or gap < -ch // 3 or gap > 2.5 * ch:
            continue
        if x + w < column_x0 or x > cx + cw or (index, 0) in starts:
            continue
        if abs(x - column_x0) > 3 * ch and x < column_x0:
            continue
        if best is None or gap < best[0]:
            best = (gap, index)
    return None if best is None else best[1]


def _segment_right(
    segments: list[Segment], caption: Caption, starts: set[tuple[int, int]]
) -> int | None:
    """The nearest run on the same row right of a caption that ends its own run (caption-left
    layouts, where Tesseract splits caption and value at the wide gap)."""
    _, cy, _, ch = segments[caption.segment].box
    right = max(w.box[0] + w.box[2] for w in segments[caption.segment].words[: caption.end])
    best: tuple[int, int] | None = None
    for index, segment in enumerate(segments):
        x, y, _, h = segment.box
        overlap = min(cy + ch, y + h) - max(cy, y)
        gap = x - right
        if index == caption.segment or overlap < 0.5 * min(ch, h) or not 0 <= gap <= 12 * ch:
            continue
        if (index, 0) not in starts and (best is None or gap < best[0]):
            best = (gap, index)
    return None if best is None else best[1]


def label_values(
    segments: list[Segment], captions: list[Caption]
) -> list[tuple[str, list[list[Word]]]]:
    """(field, candidate values) per caption, best first: the words after it on its run, the run
    to its right, the run below it. The caller keeps the first candidate that parses."""
    starts = _caption_starts(captions)
    by_segment: dict[int, list[Caption]] = {}
    for caption in captions:
        by_segment.setdefault(caption.segment, []).append(caption)

    def run_until_caption(index: int, start: int) -> list[Word]:
        later = [c.start for c in by_segment.get(index, []) if c.start >= start]
        return list(segments[index].words[start : min(later, default=len(segments[index].words))])

    values = []
    for caption in captions:
        if not caption.field:
            continue
        candidates = []
        inline = run_until_caption(caption.segment, caption.end)
        if inline:
            candidates.append((caption.segment, inline))
        for neighbour in (
            _segment_right(segments, caption, starts),
            _segment_below(segments, caption, starts),
        ):
            if neighbour is not None and (words := run_until_caption(neighbour, 0)):
                candidates.append((neighbour, words))
        if caption.field == "address":
            candidates = [
                (index, words + _address_continuation(segments, index, starts, words[0].box[0]))
                for index, words in candidates
            ]
        if candidates:
            values.append((caption.field, [words for _, words in candidates]))
    return values


def _address_continuation(
    segments: list[Segment], index: int, starts: set[tuple[int, int]], left: int
) -> list[Word]:
    """Address lines go on in the run just below that starts where the value started."""
    _, y, _, h = segments[index].box
    for other_index, other in enumerate(segments):
        ox, oy, _, _ = other.box
        if (
            other_index != index
            and 0 <= oy - (y + h) <= h
            and abs(ox - left) <= h
            and (other_index, 0) not in starts
        ):
            return list(other.words)
    return []


def _confidence(words: list[Word]) -> float:
    return float(np.mean([w.confidence for w in words])) if words else 0.0


_DATE_DIGITS = str.maketrans(DATE_DIGIT_FOR_LETTER)
_DATE_NUMBER = re.compile(f"[0-9{''.join(DATE_DIGIT_FOR_LETTER)}]+(?=[-./ ]|$)")
_DATE_KIND: dict[str, DateKind] = {
    "birth_date": "birth",
    "issue_date": "issue",
    "expiry_date": "expiry",
}


def _digits_fixed(text: str) -> str:
    """Letters Tesseract puts for digits inside numeric dates: O1/02/2O28 -> 01/02/2028."""
    return _DATE_NUMBER.sub(lambda m: m.group(0).translate(_DATE_DIGITS), text)


@dataclass(frozen=True)
class DateReading:
    """A printed date before DMY/MDY is decided; `first`/`second` are the numbers as printed."""

    first: int
    second: int
    year: int
    year_digits: int  # 2 or 4, as printed
    numeric: bool  # day and month both printed as numbers (not ISO): the order is a question
    order_hint: DateOrder | None  # the only order in which this date is valid, if just one is

    @property
    def ambiguous(self) -> bool:
        return self.numeric and self.order_hint is None and self.first != self.second


def read_date(text: str) -> DateReading | None:
    """The first date in `text` in any common printed form."""
    upper = _normalise(text.replace("-", " ").replace(".", " "))
    m = _DAY_MONTH.search(upper)
    month = _month(m.group(2)) if m else 0
    if m and month:
        return DateReading(int(m.group(1)), month, int(m.group(3)), len(m.group(3)), False, None)
    m = _MONTH_DAY.search(upper)
    month = _month(m.group(1)) if m else 0
    if m and month:
        return DateReading(int(m.group(2)), month, int(m.group(3)), 4, False, None)
    fixed = _digits_fixed(text.upper())
    if m := _ISO.search(fixed):
        return DateReading(int(m.group(3)), int(m.group(2)), int(m.group(1)), 4, False, None)
    if m := _NUMERIC.search(fixed):
        first, second = int(m.group(1)), int(m.group(2))
        hint: DateOrder | None = "MDY" if second > 12 >= first else "DMY" if first > 12 else None
        return DateReading(first, second, int(m.group(3)), len(m.group(3)), True, hint)
    return None


def _month(word: str) -> int:
    return _MONTHS.get(word[:4], 0) or _MONTHS.get(word[:3], 0)


def iso_date(
    reading: DateReading,
    order: DateOrder,
    kind: str,
    today: date,
    document_type: DocumentType | None = None,
) -> str | None:
    """ISO 8601 text, or None when the numbers make no calendar date.

    A two-digit year gets its century from `processing.ocr_text.full_year`.
    """
    day, month = reading.first, reading.second
    if reading.numeric and (reading.order_hint or order) == "MDY":
        day, month = month, day
    year = reading.year
    if reading.year_digits == 2:
        year = full_year(year, month, day, _DATE_KIND[kind], today, document_type)
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def document_date_order(text: str, readings: list[DateReading]) -> DateOrder:
    """MDY on American documents; any date that reads only one way settles it otherwise."""
    hints = [r.order_hint for r in readings if r.order_hint is not None]
    if hints:
        return max(set(hints), key=hints.count)
    return "MDY" if _american(text) else "DMY"


def _american(text: str) -> bool:
    normalised = _normalise(text)
    tokens = set(normalised.replace("/", " ").split())
    return bool(tokens & _US_MARKERS) or any(p in normalised for p in _US_PHRASES)


def _clean_name(words: list[Word]) -> str:
    return " ".join(re.sub(r"[^\w\-' ]", "", w.text) for w in words).strip(" -'")


def _parse_value(field_name: str, words: list[Word]) -> str | None:
    """The value of a non-date field as printed, or None when the words cannot be one."""
    if field_name in ("surname", "given_names", "full_name", "nationality"):
        name = _clean_name(words)
        return name if any(c.isalpha() for c in name) else None
    if field_name == "sex":
        key = words[0].key.split("/")[0]
        sex = {"MALE": "M", "FEMALE": "F", "M": "M", "F": "F", "X": "X"}.get(key)
        return sex
    if field_name == "document_number":
        for word in words:
            token = re.sub(r"[^A-Z0-9]", "", word.text.upper())
            if len(token) >= 5 and any(c.isdigit() for c in token):
                # Tesseract reads the zero of number-heavy fonts as O; next to a digit it is one.
                return re.sub(r"O(?=\d)|(?<=\d)O", "0", token)
        return None
    return _address(words)


def _address(words: list[Word]) -> str:
    """Printed lines joined with ", ": a word left of its predecessor starts a new line."""
    lines: list[list[str]] = [[words[0].text]]
    for previous, word in itertools.pairwise(words):
        if word.box[0] < previous.box[0]:
            lines.append([])
        lines[-1].append(word.text)
    return ", ".join(" ".join(line).strip(" ,") for line in lines)


def _store(fields: dict[str, VisualField], name: str, found: VisualField) -> None:
    """Keep the first reading; a second one that disagrees lowers trust in both."""
    known = fields.get(name)
    if known is None:
        fields[name] = found
    elif known.value != found.value:
        best = max(known, found, key=lambda f: f.confidence)
        fields[name] = VisualField(best.value, best.confidence * _CONFLICT_PENALTY)


def extract_fields(
    segments: list[Segment],
    *,
    document_type: DocumentType | None = None,
    today: date | None = None,
) -> dict[str, VisualField]:
    """Field values from captions; dates as ISO text."""
    today = today or date.today()
    text = "\n".join(s.text for s in segments)
    line_dates = [r for segment in segments if (r := read_date(segment.text)) is not None]
    american = document_date_order(text, line_dates) == "MDY"
    numbers = None
    if document_type in ("driving_license", None):  # field numbers are a licence convention
        numbers = _NUMBERS_US if american else _NUMBERS_EU
    values = label_values(segments, find_captions(segments, numbers))
    dates: list[tuple[str, DateReading, list[Word]]] = []
    fields: dict[str, VisualField] = {}
    for name, candidates in values:
        for words in candidates:
            if name in _DATE_FIELDS:
                reading = read_date(" ".join(w.text for w in words))
                if reading is not None:
                    dates.append((name, reading, words))
                    break
            elif value := _parse_value(name, words):
                _store(fields, name, VisualField(value, _confidence(words)))
                break
    order = document_date_order(text, [reading for _, reading, _ in dates])
    order_proven = any(reading.order_hint for _, reading, _ in dates)
    for name, reading, words in dates:
        confidence = _confidence(words)
        if reading.ambiguous and not order_proven:
            confidence *= _AMBIGUOUS_DATE_PENALTY
        if iso := iso_date(reading, order, name, today, document_type):
            _store(fields, name, VisualField(iso, confidence))
    if "full_name" not in fields and "surname" in fields and "given_names" in fields:
        given, surname = fields["given_names"], fields["surname"]
        fields["full_name"] = VisualField(
            f"{given.value} {surname.value}", min(given.confidence, surname.confidence)
        )
    return fields


def read_visual_zone(
    document: NDArray[np.uint8],
    *,
    document_type: DocumentType | None = None,
    today: date | None = None,
) -> VisualZone:
    """OCR the whole flattened document and pick the captioned fields out of it.

    `today` and `document_type` fix the century of two-digit years (`today` defaults to the
    current date).
    Raises OCREngineError when Tesseract is missing.
    """
    gray, scale = prepare_for_ocr(document)
    segments = ocr_segments(gray, scale)
    text = "\n".join(s.text for s in segments)
    return VisualZone(text, extract_fields(segments, document_type=document_type, today=today))
