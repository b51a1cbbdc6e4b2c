"""The id number rules the hosted flow checks a typed number by (Stripe's three kinds)."""

from __future__ import annotations

import pytest

from processing.id_numbers import OTHER, parse_id_number
from processing.verify import DocumentData, ProvidedDetails, check_id_number


@pytest.mark.parametrize(
    ("kind", "typed", "number"),
    [
        ("br_cpf", "529.982.247-25", "52998224725"),
        ("br_cpf", "529.982.247-24", None),  # a wrong check digit
        ("br_cpf", "111.111.111-11", None),  # passes the digits' sums, never issued
        ("br_cpf", "5299822472", None),
        ("sg_nric", "s1234567d", "S1234567D"),
        ("sg_nric", "S1234567A", None),  # a wrong check letter
        ("sg_nric", "T1234567J", "T1234567J"),
        ("sg_nric", "F1234567N", "F1234567N"),
        ("sg_nric", "G1234567X", "G1234567X"),
        ("sg_nric", "M1234567K", "M1234567K"),  # the M series: format only
        ("us_ssn", "123-45-6789", "123456789"),
        ("us_ssn", "6789", "6789"),  # the last four, as Stripe also takes
        ("us_ssn", "666-45-6789", None),
        ("us_ssn", "900-12-3456", None),
        ("us_ssn", "123-00-6789", None),
        ("us_ssn", "0000", None),
        (OTHER, "AB 12 34-5", "AB12345"),
        (OTHER, "--", None),
        ("xx_unknown", "123", None),
    ],
)
def test_parse_id_number(kind: str, typed: str, number: str | None) -> None:
    assert parse_id_number(kind, typed) == number


def test_a_us_ssn_cannot_be_compared_with_a_document() -> None:
    """No US document prints it: the check says the document cannot tell, not a mismatch."""
    data = DocumentData.empty()
    provided = ProvidedDetails(id_number="123456789", id_number_type="us_ssn")
    error = check_id_number(data, provided)
    assert error is not None and error.code == "id_number_insufficient_document_data"
