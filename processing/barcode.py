"""The PDF417 barcode on the back of North American driving licences, and its AAMVA payload.

The payload is a header ("@", separators, "ANSI " + issuer IIN + versions + subfile directory)
followed by subfiles of elements: a three-letter id and its value, one per line ("DCSSMITH\\n").
Real barcodes get the separators and the directory offsets wrong often enough that the parser
trusts neither: it splits on any separator character and finds elements by their ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

from processing.errors import BarcodeFormatError

_HEADER = re.compile(r"(?:ANSI ?|AAMVA)(\d{6})(\d{2})")
_DIRECTORY_ENTRY = re.compile(r"([A-Z]{2})\d{8}")
_SEPARATORS = re.compile(r"[\n\r\x1c\x1d\x1e]+")
_ELEMENT = re.compile(r"([A-Z]{3})(.*)", re.DOTALL)
_NAME_KEYS = ("DCS", "DAB", "DAA", "DAQ")  # without one of these it is not a licence payload
_EMPTY_NAMES = {"NONE", "UNAVL", "UNAVAIL", "N/A"}
_SEX = {"1": "M", "2": "F", "9": "X", "M": "M", "F": "F", "X": "X"}
_PDF417 = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.PDF417)
_MIN_READ_SIDE = 1200  # a PDF417 module must be a few pixels wide for zxing to resolve it


@dataclass(frozen=True)
class AAMVARecord:
    """Raw elements (`fields`) plus the identity fields decoded from them."""

    version: int  # AAMVA DL/ID card design standard version, 1-10
    issuer_iin: str  # 6-digit Issuer Identification Number of the jurisdiction
    jurisdiction_version: int | None  # absent from version 1 headers
    fields: dict[str, str]  # element id -> value, as printed in the barcode
    family_name: str | None = None
    given_names: str | None = None
    birth_date: str | None = None  # ISO dates
    expiry_date: str | None = None
    issue_date: str | None = None
    sex: str | None = None  # "M", "F" or "X"
    document_number: str | None = None
    address: str | None = None
    country: str | None = None  # "USA" or "CAN" (DCG), when present
    subfiles: tuple[str, ...] = ()  # subfile types from the header's directory, e.g. DL, ZC


def _variants(image: NDArray[np.uint8]) -> list[NDArray[np.uint8]]:
    """As-is first; then the cheap fixes for what zxing misses: colour, size, contrast."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    variants = [image, gray]
    long_side = max(gray.shape[:2])
    if long_side < _MIN_READ_SIDE:
        factor = _MIN_READ_SIDE / long_side
        variants.append(cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC))
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    variants.append(clahe.apply(gray))
    variants.append(cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1])
    return [np.ascontiguousarray(v, dtype=np.uint8) for v in variants]


def read_pdf417(image: NDArray[np.uint8]) -> str | None:
    """The text of the first PDF417 symbol found, or None when there is none."""
    for variant in _variants(image):
        # Plain text mode: the default (HRI) spells the AAMVA separators out as "<LF>".
        for barcode in zxingcpp.read_barcodes(
            variant, formats=_PDF417, text_mode=zxingcpp.TextMode.Plain
        ):
            if barcode.valid and barcode.text:
                return str(barcode.text)
    return None


def _parse_date(value: str | None, year_first: bool) -> str | None:
    """MMDDCCYY (USA) or CCYYMMDD (Canada, version 1); the other order if the first is no date."""
    if value is None:
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) != 8:
        return None
    orders = [(0, 4, 6), (4, 0, 2)] if year_first else [(4, 0, 2), (0, 4, 6)]
    for year_at, month_at, day_at in orders:
        year = int(digits[year_at : year_at + 4])
        month = int(digits[month_at : month_at + 2])
        day = int(digits[day_at : day_at + 2])
        if 1900 <= year <= 2199:
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                continue
    return None


def _header(payload: str) -> tuple[str, int, int | None, list[str], int]:
    """Issuer IIN, version, jurisdiction version, subfile types and where the body starts."""
    match = _HEADER.search(payload)
    if match is None:
        raise BarcodeFormatError(
            "The barcode is not a driving licence barcode (no AAMVA header). Photograph the "
            "barcode on the back of the licence."
        )
    version = int(match.group(2))
    position = match.end()
    jurisdiction_version: int | None = None
    if version >= 2 and payload[position : position + 2].isdigit():
        jurisdiction_version = int(payload[position : position + 2])
        position += 2
    entries = payload[position : position + 2]
    count = int(entries) if entries.isdigit() else 0
    position += 2 if entries.isdigit() else 0
    subfiles = []
    for _ in range(count):
        entry = _DIRECTORY_ENTRY.match(payload, position)
        if entry is None:
            break
        subfiles.append(entry.group(1))
        position = entry.end()
    return match.group(1), version, jurisdiction_version, subfiles, position


def _elements(body: str, subfiles: set[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for piece in _SEPARATORS.split(body):
        piece = piece.strip()
        # A subfile starts with its type glued to its first element: "DLDAQ123".
        if piece[:2] in subfiles and re.match(r"[A-Z]{3}", piece[2:5]):
            piece = piece[2:]
        element = _ELEMENT.fullmatch(piece)
        if element and element.group(1) not in fields:
            fields[element.group(1)] = element.group(2).strip()
    return fields


def _name(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.replace(",", " ").split())
    return cleaned if cleaned and cleaned.upper() not in _EMPTY_NAMES else None


def _names(fields: dict[str, str]) -> tuple[str | None, str | None]:
    """Version 1 has DAA (LAST,FIRST,MIDDLE) or DAB/DAC/DAD; 2-3 use DCT; 4+ use DAC and DAD."""
    family = _name(fields.get("DCS") or fields.get("DAB"))
    given_parts = [_name(fields.get("DCT")), _name(fields.get("DAC")), _name(fields.get("DAD"))]
    if family is None and "DAA" in fields:
        parts = [part.strip() for part in re.split(r"[,$]", fields["DAA"])]
        family = _name(parts[0])
        given_parts = [_name(part) for part in parts[1:]]
    given = " ".join(part for part in given_parts if part)
    return family, given or None


def _address(fields: dict[str, str]) -> str | None:
    zip_code = fields.get("DAK", "").strip()
    if len(zip_code) == 9 and zip_code.isdigit():
        zip_code = zip_code[:5] if zip_code.endswith("0000") else f"{zip_code[:5]}-{zip_code[5:]}"
    region = " ".join(part for part in (fields.get("DAJ", "").strip(), zip_code) if part)
    parts = [fields.get(key, "").strip() for key in ("DAG", "DAH", "DAI")] + [region]
    joined = ", ".join(part for part in parts if part)
    return joined or None


def _country(fields: dict[str, str]) -> str | None:
    country = fields.get("DCG", "").strip().upper()
    return country or None


def parse_aamva(payload: str) -> AAMVARecord:
    """Decode an AAMVA DL/ID payload of any version 1-10; raise BarcodeFormatError otherwise."""
    issuer_iin, version, jurisdiction_version, subfiles, body_start = _header(payload)
    if not 1 <= version <= 10:
        raise BarcodeFormatError(
            f"The barcode claims AAMVA version {version}, which does not exist. Photograph "
            "the barcode on the back of the licence again."
        )
    fields = _elements(payload[body_start:], set(subfiles) | {"DL", "ID"})
    if not any(key in fields for key in _NAME_KEYS):
        raise BarcodeFormatError(
            "The barcode has a licence header but no holder data. Photograph the barcode on "
            "the back of the licence again, flat and in focus."
        )
    country = _country(fields)
    year_first = version == 1 or country == "CAN"
    family, given = _names(fields)
    return AAMVARecord(
        version=version,
        issuer_iin=issuer_iin,
        jurisdiction_version=jurisdiction_version,
        fields=fields,
        family_name=family,
        given_names=given,
        birth_date=_parse_date(fields.get("DBB"), year_first),
        expiry_date=_parse_date(fields.get("DBA"), year_first),
        issue_date=_parse_date(fields.get("DBD"), year_first),
        sex=_SEX.get(fields.get("DBC", "").strip().upper()),
        document_number=fields.get("DAQ") or None,
        address=_address(fields),
        country=country,
        subfiles=tuple(subfiles),
    )
