"""Compare the names a person claimed with the names read from their identity document.

A careful human reading a document does not compare strings: they know the MRZ spells "Müller"
as "MUELLER" (and some states as "MULLER"), that hyphens, apostrophes and spaces are
typographical, that people often leave out middle names, and that a full MRZ name field was cut
short. They stay strict about everything else. The rules, in the order they are tried:

* Both sides are reduced to upper-case Latin name components. A name has two spellings: the
  ICAO 9303 transliteration (Ä -> AE, ß -> SS, Ø -> OE ...) and the accent-stripped one
  (Ä -> A). Two names are equal when any spelling of one equals any spelling of the other,
  component by component or with the separators removed altogether ("McDonald" = "MC DONALD").
* The document's name also has a third spelling, its ICAO digraphs (AE, OE, UE, AA) cut to the
  bare vowel, since "Muller" is how most people type Müller when the MRZ says MUELLER. Only the
  document gets it: an MRZ "MULLER" cannot come from a claimed "Mueller". Pairs that are usually
  two real vowels are kept ("Michal" is not MICHAEL, see `SPELLED_OUT_LETTER`).
* Given names: the claimed first name may be the document's leading given names with the later
  ones left out ("Anna" for "ANNA MARIA"), and may abbreviate a later one to an initial
  ("Anna M." for "ANNA MARIA"). A claimed name that is only a later given name ("Maria" for
  "ANNA MARIA") does not match: going by a middle name is common, but nothing on the document
  tells a human which name the holder uses, so an operator should look.
* Truncation (`truncated=True`): ICAO 9303 cuts the given names from their end first, possibly
  to initials, and the surname only when nothing else fits. A document component may then be a
  prefix of the claimed one. A cut surname must keep `MIN_TRUNCATED_SURNAME` letters.
* Swapped order (first and last name exchanged): accepted only when both halves are equal as
  above, without omitted names, initials or truncation, so a swap never stacks on another
  leniency.

Everything else is a mismatch. Details never quote the names, so a caller may log them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from processing.mrz.compose import transliterate

MISMATCH = "document_name_mismatch"

# ICAO 9303 cuts a surname only when it fills a name field of 30 to 39 characters, yet older
# documents follow other rules; below this many letters a prefix says too little about the name.
MIN_TRUNCATED_SURNAME = 10

# The letter ICAO 9303 adds when spelling out Ä, Ö, Ü (AE, OE, UE) and Å (AA), where a careful
# human would read it as one: MUELLER, JUERGEN, SOEREN, LINDSTROEM, HAAKAN. Kept where the pair
# is usually two real vowels, as dropping a letter there gives another person's name:
# * at the end of a name component: JOE (Jo), ZOE, CHLOE, ENRIQUE;
# * before a final L, maybe followed by vowels only, the -el of Hebrew names: MICHAEL (Michal),
#   RAFAEL (Rafal), GAEL (Gal), MICHAELA (Michala), SAMUEL, MANUELA, JOEL, NOELLE;
# * AA with fewer than two letters after it, the Dutch double vowel: DAAN (Dan), KLAAS (Klas),
#   GRAAF (Graf), HAAN (Han), ISAAC. Å is mostly followed by more: AASA, HAAKAN, PAALSSON.
# The price: Gül (GUEL) or Aygül typed without the umlaut go to an operator.
SPELLED_OUT_LETTER = re.compile(
    r"""
    (?<=[AOU])E (?=[A-Z]) (?!L+[AEIOU]*(?![A-Z]))  # AE OE UE, then a letter, not a final -el
    | (?<=A)A (?=[A-Z]{2})                         # AA, then at least two letters
    """,
    re.VERBOSE,
)

Components = tuple[str, ...]


@dataclass(frozen=True)
class NameMatch:
    """Outcome of a name comparison: `reason` is a machine code on failure, None on success."""

    match: bool
    reason: str | None
    detail: str  # one sentence for operators; never contains the names themselves


def spellings(name: str) -> frozenset[Components]:
    """The ICAO and the accent-stripped spelling of a name, split into components.

    Decomposing first turns "Ä" into "A" plus a diaeresis that transliteration then drops, which
    is how states that do not spell umlauts out write their MRZs. Letters without a
    decomposition (ß, Ø, Æ, Þ ...) keep their ICAO spelling in both forms.
    """
    return frozenset(_components(form) for form in _forms(name))


def document_spellings(name: str) -> frozenset[Components]:
    """`spellings` plus the document name with its ICAO digraphs cut to the bare vowel.

    People without umlaut keys type "Jurgen Muller" for the MRZ's JUERGEN MUELLER. Every
    digraph is cut at once, as someone without those keys types none of them, which also keeps
    one extra spelling rather than one per combination. Digraphs that are more often two real
    vowels stay (`SPELLED_OUT_LETTER`), so that "Michal" still differs from MICHAEL.
    """
    forms = _forms(name)
    cut = (SPELLED_OUT_LETTER.sub("", form) for form in forms)
    return frozenset(_components(form) for form in (*forms, *cut))


def _forms(name: str) -> tuple[str, str]:
    """The ICAO and the accent-stripped transliteration, with '<' between components."""
    return transliterate(name), transliterate(unicodedata.normalize("NFKD", name))


def _components(form: str) -> Components:
    return tuple(part for part in form.split("<") if part)


def _equal(claimed: Components, document: Components) -> bool:
    return claimed == document or "".join(claimed) == "".join(document)


def _surname_matches(claimed: Components, document: Components, truncated: bool) -> bool:
    if _equal(claimed, document):
        return True
    cut = "".join(document)
    return truncated and len(cut) >= MIN_TRUNCATED_SURNAME and "".join(claimed).startswith(cut)


def _given_names_match(claimed: Components, document: Components, truncated: bool) -> bool:
    """Component-wise comparison allowing omitted later names, initials and truncation."""
    if _equal(claimed, document):
        return True
    if not document:
        # A surname that fills the whole field leaves no room for given names to be checked.
        return truncated
    if not claimed or (len(claimed) > len(document) and not truncated):
        return False
    last = len(document) - 1
    for index, (said, printed) in enumerate(zip(claimed, document, strict=False)):
        if said == printed:
            continue
        claimed_initial = index > 0 and len(said) == 1 and printed.startswith(said)
        document_cut = (
            truncated and said.startswith(printed) and (index == last or len(printed) == 1)
        )
        if not (claimed_initial or document_cut):
            return False
    return True


def _any_pair(
    claimed: frozenset[Components],
    document: frozenset[Components],
    rule: Callable[[Components, Components], bool],
) -> bool:
    return any(rule(said, printed) for said in claimed for printed in document)


def _one_part(
    claimed: str, document: str, *, surname: bool, truncated: bool, zone: str
) -> NameMatch:
    """Only one of the names was claimed: compare that one alone."""
    part = "surname" if surname else "given name"
    said, printed = spellings(claimed), document_spellings(document)
    if not any(said):
        return NameMatch(False, MISMATCH, f"The claimed {part} has no Latin letters to compare.")
    if not any(printed) and (surname or not truncated):
        # A surname filling a truncated name field leaves no given names to check.
        return NameMatch(False, MISMATCH, f"The {zone} shows no {part} to compare.")
    rule = _surname_matches if surname else _given_names_match
    if _any_pair(said, printed, partial(rule, truncated=truncated)):
        return NameMatch(
            True, None, f"The claimed {part} (the only name claimed) matches the {zone}."
        )
    verb = "differs" if surname else "differ"
    what = "surname" if surname else "given names"
    return NameMatch(False, MISMATCH, f"The claimed {what} {verb} from the {zone}.")


def compare_names(
    claimed_first: str | None,
    claimed_last: str | None,
    *,
    document_surname: str,
    document_given_names: str,
    truncated: bool = False,
    from_mrz: bool = True,
) -> NameMatch:
    """Whether the claimed names are the document's names, judged as a careful human would.

    A name that is None was not claimed and is not compared: a surname alone is held to the
    document's surname, a first name alone to its given names (no swap is then possible).
    `from_mrz` says which zone the document names were read from; it only shapes the detail,
    since every spelling rule applies to either zone. `truncated` is `MRZ.names_truncated`.
    """
    zone = "machine-readable zone" if from_mrz else "visual zone"
    if claimed_first is None and claimed_last is None:
        return NameMatch(True, None, "No names were claimed, so none were compared.")
    if claimed_first is None or claimed_last is None:
        only_surname = claimed_first is None
        return _one_part(
            claimed_last if claimed_last is not None else claimed_first or "",
            document_surname if only_surname else document_given_names,
            surname=only_surname,
            truncated=truncated,
            zone=zone,
        )
    first = spellings(claimed_first)
    last = spellings(claimed_last)
    surname = document_spellings(document_surname)
    given = document_spellings(document_given_names)
    if not any(last):
        return NameMatch(False, MISMATCH, "The claimed surname has no Latin letters to compare.")
    if not any(surname):
        return NameMatch(False, MISMATCH, f"The {zone} shows no surname to compare.")

    surname_ok = _any_pair(last, surname, partial(_surname_matches, truncated=truncated))
    given_ok = _any_pair(first, given, partial(_given_names_match, truncated=truncated))
    if surname_ok and given_ok:
        exact = _any_pair(last, surname, _equal) and _any_pair(first, given, _equal)
        how = "up to spelling" if exact else "allowing omitted, abbreviated or truncated names"
        return NameMatch(True, None, f"Claimed names match the {zone} {how}.")

    if _any_pair(first, surname, _equal) and _any_pair(last, given, _equal):
        return NameMatch(
            True, None, f"Claimed names match the {zone} with first and last name swapped."
        )

    if surname_ok:
        what = "given names differ from"
    elif given_ok:
        what = "surname differs from"
    else:
        what = "surname and given names both differ from"
    return NameMatch(False, MISMATCH, f"The claimed {what} the {zone}.")
