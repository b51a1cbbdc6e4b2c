"""ICAO 9303 Part 3 check digits, against the examples printed in the specification."""

from __future__ import annotations

import pytest

from processing.mrz.checkdigit import char_value, check_digit


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("520727", "3"),  # Part 3, 4.9: date of birth 27 July 1952
        ("AB2134<<<", "5"),  # Part 3, 4.9: document number with fillers
        ("L898902C3", "6"),  # Part 4 specimen passport: document number
        ("740812", "2"),  # Part 4: date of birth
        ("120415", "9"),  # Part 4: date of expiry
        ("ZE184226B<<<<<", "1"),  # Part 4: personal number
        ("L898902C3674081221204159ZE184226B<<<<<1", "0"),  # Part 4: composite
        ("D23145890", "7"),  # Part 5 specimen card: document number
        ("L8988901C", "4"),  # Part 7 specimen visa: document number
    ],
)
def test_icao_examples(data: str, expected: str) -> None:
    assert check_digit(data) == expected


def test_character_values() -> None:
    assert [char_value(c) for c in "09AZ<"] == [0, 9, 10, 35, 0]


def test_filler_counts_as_zero_but_keeps_weights() -> None:
    # '<' adds nothing itself, yet shifts the 7-3-1 weights of what follows it.
    assert check_digit("<1") == "3"
    assert check_digit("1") == "7"


def test_rejects_non_mrz_character() -> None:
    with pytest.raises(ValueError, match="not an MRZ character"):
        char_value("a")
