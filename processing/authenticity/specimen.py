"""A specimen: the sample issuers and ICAO publish, printed with the word SPECIMEN (or its
translation), made out to the fictional state Utopia (UTO), to a holder or with a number that an
issuer published on its specimen (`published_specimens`), or with a placeholder number.

The text searched is what the reader already has: the machine-readable zone (names, states,
numbers), the licence barcode, and the front's printed text as the visual-zone reader OCRed it.
Matching forgives one OCR slip in long words only; short words must read exactly. Extra OCR passes
over the crops turned by 35 degrees either way (for diagonal overprints) were measured and left
out: no further specimen caught, 0.8-1.1 s each (docs/authenticity.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from processing.authenticity.evidence import Evidence
from processing.authenticity.published_specimens import SPECIMEN_NUMBERS, published_holder
from processing.authenticity.signal import AuthenticitySignal

# "Specimen" as issuers print it on their samples, diacritics dropped (the OCR is English):
# en/fr/ro SPECIMEN, de MUSTER, es/pt ESPECIMEN, es MUESTRA, it ESEMPIO/FACSIMILE/CAMPIONE,
# pl WZOR, cs/sk VZOR, sl VZOREC, hr/bs/sr UZORAK, hu MINTA, fi NAYTE, sv PROV, da/no PROVE,
# et NAIDIS, lv PARAUGS, lt PAVYZDYS, en SAMPLE, us VOID. The Cyrillic (obrazets, zrazok) and
# Greek (deigma) words are left out: the OCR reads Latin letters only and the MRZ spells no words.
SPECIMEN_WORDS = (
    "SPECIMEN",
    "MUSTER",
    "ESPECIMEN",
    "MUESTRA",
    "ESEMPIO",
    "FACSIMILE",
    "CAMPIONE",
    "WZOR",
    "VZOR",
    "VZOREC",
    "UZORAK",
    "MINTA",
    "NAYTE",
    "PROV",
    "PROVE",
    "NAIDIS",
    "PARAUGS",
    "PAVYZDYS",
    "SAMPLE",
    "VOID",
)
# Words this long survive one OCR slip ("SPECIMFN", "SPECIMEM"); shorter ones could be read out of
# ordinary text with one slip ("PROVE" from "PROVA"), so they must read exactly.
_SLIP_FROM_LENGTH = 7
# The state ICAO invented for its specimens (Doc 9303).
SPECIMEN_STATE = "UTO"
# A number that is one character repeated (000000000, XX0000000) or counts up (123456789) is a
# placeholder printed on samples, not one an issuer hands out.
_PLACEHOLDER = re.compile(r"^[A-Z]{0,2}(?:(\d)\1{5,}|0?123456789?)$")
# Inside a number: a digit other than 0 repeated (955555546: issuers pad with zeros, not fives),
# or seven digits counting up (VNR1234567890). Six repeats in a document number, seven in the
# longer personal numbers (99999999R), where dates and serials sit side by side.
_REPEATED_IN_NUMBER = re.compile(r"([1-9])\1{5,}")
_REPEATED_IN_PERSONAL = re.compile(r"([1-9])\1{6,}")
_COUNTING = "01234567890"
_COUNTING_RUN = 7
_WORD = re.compile(r"[^\W\d_]+")
THRESHOLD = 1.0  # one specimen sign is enough: none of them occurs on a genuine document


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.upper())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _within_one(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1] <= 1


def specimen_word(text: str) -> str | None:
    """The first specimen word in `text`, tolerating one slip in long words."""
    for token in _WORD.findall(_plain(text)):
        for word in SPECIMEN_WORDS:
            if token == word or (len(word) >= _SLIP_FROM_LENGTH and _within_one(token, word)):
                return word
    return None


def _zone_texts(evidence: Evidence) -> Iterator[tuple[str, str]]:
    """(where, text) from what the reader already has: the MRZ names, the barcode, the printed
    text."""
    result = evidence.result
    if result.mrz is not None:
        yield "the machine-readable zone", f"{result.mrz.surname} {result.mrz.given_names}"
    if result.barcode is not None:
        yield "the barcode", " ".join(result.barcode.fields.values())
    if result.visual is not None:
        yield "the printed text", result.visual.text


def _counts_up(number: str) -> bool:
    return any(
        _COUNTING[i : i + _COUNTING_RUN] in number
        for i in range(len(_COUNTING) - _COUNTING_RUN + 1)
    )


def _numbers(evidence: Evidence) -> Iterator[str]:
    """The document numbers the reader vouches for: a valid MRZ's, the barcode's."""
    result = evidence.result
    if result.mrz is not None and result.mrz.valid:
        yield result.mrz.document_number
    if result.barcode is not None and result.barcode.document_number:
        yield result.barcode.document_number


def _personal_numbers(evidence: Evidence) -> Iterator[str]:
    """A valid MRZ's optional data: the personal numbers the issuer prints there."""
    mrz = evidence.result.mrz
    if mrz is not None and mrz.valid:
        yield from (n for n in (mrz.optional_data, mrz.optional_data_2) if n)


def _plain_number(number: str, *, keep_fields: bool = False) -> str:
    """Letters and digits only; `keep_fields` keeps a space where fillers part a personal
    number's fields (211271<426U), so that no run spans a date and a serial."""
    return re.sub(r"[^0-9A-Z]", " " if keep_fields else "", number.upper())


def _placeholder(number: str, *, personal: bool) -> bool:
    """A number made up for a sample: repeated or counting digits (rules above)."""
    if personal:
        return bool(_REPEATED_IN_PERSONAL.search(number)) or _counts_up(number)
    return bool(
        _PLACEHOLDER.match(number) or _REPEATED_IN_NUMBER.search(number) or _counts_up(number)
    )


def _holder_name(name: str) -> str:
    return " ".join(_WORD.findall(_plain(name)))


def findings(evidence: Evidence) -> list[tuple[str, str]]:
    """Every specimen sign on the document, as (rule, what was seen), in the order they count:
    rule is "state", "published_number", "placeholder_number", "published_holder" or "word"."""
    found: list[tuple[str, str]] = []
    mrz = evidence.result.mrz
    if mrz is not None and mrz.valid and SPECIMEN_STATE in (mrz.issuing_country, mrz.nationality):
        found.append(
            ("state", "It is made out to Utopia (UTO), the fictional state of ICAO's specimens.")
        )
    document = {_plain_number(n) for n in _numbers(evidence)}
    personal = {_plain_number(n, keep_fields=True) for n in _personal_numbers(evidence)}
    fields = document | {field for n in personal for field in n.split()}
    if fields & SPECIMEN_NUMBERS:
        found.append(("published_number", "Its number is one printed on a published specimen."))
    if any(_placeholder(n, personal=False) for n in document) or any(
        _placeholder(n, personal=True) for n in personal
    ):
        found.append(("placeholder_number", "Its number is a placeholder, not an issued one."))
    if mrz is not None:
        born = mrz.birth_date if mrz.valid else None
        names = (_holder_name(mrz.surname), _holder_name(mrz.given_names))
        # No name in the reason: reasons are stored in clear, and a namesake is a person.
        if published_holder(*names, born, frozenset(fields)) is not None:
            found.append(("published_holder", "It is made out to a published specimen's holder."))
    for where, text in _zone_texts(evidence):
        if word := specimen_word(text):
            found.append(("word", f"The word {word} is printed on it ({where})."))
            break
    return found


def check(evidence: Evidence) -> list[AuthenticitySignal]:
    found = findings(evidence)
    reason = (
        f"This is a specimen, a sample of the document that no one holds: {found[0][1]}"
        if found
        else None
    )
    return [AuthenticitySignal("specimen", 1.0 if found else 0.0, THRESHOLD, reason)]
