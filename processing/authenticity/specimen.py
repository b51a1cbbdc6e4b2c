"""A specimen: the sample issuers and ICAO publish, printed with the word SPECIMEN (or its
translation), made out to the fictional state Utopia (UTO), or bearing a published specimen number.

The text searched is what the reader already has: the machine-readable zone (names, states,
number), the licence barcode, and the front's printed text as the visual-zone reader OCRed it.
Matching forgives one OCR slip in long words only; short words must read exactly. Extra OCR passes
over the crops turned by 35 degrees either way (for diagonal overprints) were measured and left
out: no further specimen caught, 0.8-1.1 s each (docs/authenticity.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

from processing.authenticity.evidence import Evidence
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
# Document numbers printed on published specimens, which no real holder carries:
# ICAO Doc 9303 examples: passport L898902C3 (part 4), ID card D23145890 (parts 5 and 6), visa
# L8988901C (part 7); Germany's "Erika Mustermann" specimens: passport C01X00T47, ID card
# T22000129 (Bundesministerium des Innern, published specimen images).
SPECIMEN_NUMBERS = frozenset({"L898902C3", "D23145890", "L8988901C", "C01X00T47", "T22000129"})
# A number that is one character repeated (000000000, XX0000000) or counts up (123456789) is a
# placeholder printed on samples, not one an issuer hands out.
_PLACEHOLDER = re.compile(r"^[A-Z]{0,2}(?:(\d)\1{5,}|0?123456789?)$")
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


def _numbers(evidence: Evidence) -> Iterable[str]:
    result = evidence.result
    if result.mrz is not None and result.mrz.valid:
        yield result.mrz.document_number
    if result.barcode is not None and result.barcode.document_number:
        yield result.barcode.document_number


def _finding(evidence: Evidence) -> str | None:
    mrz = evidence.result.mrz
    if mrz is not None and mrz.valid and SPECIMEN_STATE in (mrz.issuing_country, mrz.nationality):
        return "It is made out to Utopia (UTO), the fictional state of ICAO's specimens."
    for number in _numbers(evidence):
        plain = re.sub(r"[^0-9A-Z]", "", number.upper())
        if plain in SPECIMEN_NUMBERS or _PLACEHOLDER.match(plain):
            return "Its document number is one printed on published specimens."
    for where, text in _zone_texts(evidence):
        if word := specimen_word(text):
            return f"The word {word} is printed on it ({where})."
    return None


def check(evidence: Evidence) -> list[AuthenticitySignal]:
    finding = _finding(evidence)
    reason = (
        f"This is a specimen, a sample of the document that no one holds: {finding}"
        if finding
        else None
    )
    return [AuthenticitySignal("specimen", 1.0 if finding else 0.0, THRESHOLD, reason)]
