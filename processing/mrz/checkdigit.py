"""ICAO 9303 part 3 check digits: weights 7, 3, 1 over character values."""

from __future__ import annotations

_WEIGHTS = (7, 3, 1)


def char_value(char: str) -> int:
    """Value of one MRZ character: digits as themselves, A=10 ... Z=35, filler '<' = 0."""
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == "<":
        return 0
    raise ValueError(f"{char!r} is not an MRZ character")


def check_digit(data: str) -> str:
    return str(sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(data)) % 10)
