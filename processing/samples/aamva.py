"""AAMVA DL/ID card design standard (2020, version 10) payloads and their PDF417 symbols.

Encoder only: the reader lives in `processing.barcode`. The header layout is fixed by the
standard: compliance indicator, file type "ANSI ", six-digit IIN, AAMVA version, jurisdiction
version, number of entries, then one 10-character designator (type, offset, length) per subfile.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import zxingcpp
from numpy.typing import NDArray

from processing.errors import SampleGenerationError
from processing.samples.identities import Identity

COMPLIANCE = "@\n\x1e\r"
FILE_TYPE = "ANSI "
AAMVA_VERSION = "10"
ELEMENT_SEPARATOR = "\n"
SEGMENT_TERMINATOR = "\r"
_NAME_LIMIT = 40  # DCS/DAC/DAD field lengths in version 10


def aamva_date(day: date) -> str:
    """US jurisdictions write MMDDCCYY (Canada would use CCYYMMDD)."""
    return day.strftime("%m%d%Y")


def _truncated(name: str) -> tuple[str, str]:
    """(value, DDE/DDF/DDG flag): 'T' when the name was cut to the field length, else 'N'."""
    return (name[:_NAME_LIMIT], "T") if len(name) > _NAME_LIMIT else (name, "N")


def dl_elements(identity: Identity) -> dict[str, str]:
    """The DL subfile's data elements for a US holder, in the order jurisdictions print them."""
    if identity.jurisdiction is None:
        raise SampleGenerationError(
            "A driving-licence payload needs a US jurisdiction and address."
        )
    first, _, middle = identity.given_names.partition(" ")
    family, dde = _truncated(identity.surname)
    first, ddf = _truncated(first)
    middle, ddg = _truncated(middle)
    return {
        "DCA": "C",
        "DCB": "NONE",
        "DCD": "NONE",
        "DBA": aamva_date(identity.expiry_date),
        "DCS": family,
        "DAC": first,
        "DAD": middle or "NONE",
        "DBD": aamva_date(identity.issue_date),
        "DBB": aamva_date(identity.birth_date),
        "DBC": {"M": "1", "F": "2", "X": "9"}[identity.sex],
        "DAY": identity.eyes,
        "DAU": f"{round(identity.height_cm / 2.54):03d} IN",
        "DAG": identity.street,
        "DAI": identity.city,
        "DAJ": identity.jurisdiction.code,
        "DAK": identity.postal_code.ljust(9, "0"),
        "DAQ": identity.document_number,
        "DCF": f"{identity.document_number[-4:]}{identity.issue_date:%Y%m%d}",
        "DCG": "USA",
        "DDE": dde,
        "DDF": ddf,
        "DDG": ddg,
    }


def encode_aamva(
    elements: Mapping[str, str],
    *,
    iin: str,
    jurisdiction_version: int = 0,
    subfile_type: str = "DL",
) -> str:
    """The complete barcode text: header, one subfile designator and the subfile itself."""
    if len(iin) != 6 or not iin.isdigit():
        raise SampleGenerationError(f"An AAMVA IIN has six digits, not {iin!r}.")
    for key, value in elements.items():
        if len(key) != 3 or not key.isupper() or any(c in value for c in "\n\r\x1e"):
            raise SampleGenerationError(f"Element {key}={value!r} cannot be written to a payload.")
    body = "".join(f"{key}{value}{ELEMENT_SEPARATOR}" for key, value in elements.items())
    subfile = f"{subfile_type}{body}{SEGMENT_TERMINATOR}"
    header_length = len(COMPLIANCE) + len(FILE_TYPE) + 6 + 2 + 2 + 2 + 10
    header = (
        f"{COMPLIANCE}{FILE_TYPE}{iin}{AAMVA_VERSION}{jurisdiction_version:02d}01"
        f"{subfile_type}{header_length:04d}{len(subfile):04d}"
    )
    return header + subfile


def pdf417_image(payload: str, max_width: int) -> NDArray[np.uint8]:
    """Black-on-white PDF417 symbol (grey, quiet zones included) no wider than `max_width`."""
    try:
        symbol = zxingcpp.create_barcode(
            payload, zxingcpp.BarcodeFormat.PDF417, options="columns=10"
        )
        base = np.asarray(symbol.to_image(scale=1), dtype=np.uint8)
    except (RuntimeError, ValueError) as exc:
        raise SampleGenerationError(f"zxing-cpp could not encode the PDF417 symbol: {exc}") from exc
    scale = max_width // base.shape[1]
    if scale < 1:
        raise SampleGenerationError(f"The PDF417 symbol does not fit in {max_width} pixels.")
    return np.kron(base, np.ones((scale, scale), dtype=np.uint8))
