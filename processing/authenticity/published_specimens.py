"""Holders and numbers that governments and ICAO print on the specimens they publish.

A specimen image is copied everywhere (reader test data, vendor demos, document-check manuals), so
an upload made out to one of these holders is a specimen or a forgery made from one, whatever else
it shows. Only entries attributable to a public source are listed, each with where it comes from;
docs/authenticity.md says which of them also appear in the specimens the signal was measured on.

A holder matches on surname and first given name (diacritics and fillers ignored). Names no real
person bears (`name_alone`) match by themselves; a name real people can bear counts only with the
specimen's birth date or one of its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedSpecimen:
    """One issuer's published specimen holder; `source` says where it is printed."""

    issuer: str  # ICAO 9303 code of the issuing state ("UTO" for ICAO's own examples)
    surname: str
    given_name: str  # the first given name, as the MRZ spells it
    birth_dates: tuple[str, ...]  # ISO dates printed on the issuer's specimens
    numbers: tuple[str, ...]  # document and personal numbers printed on them
    name_alone: bool
    source: str


PUBLISHED_SPECIMENS: tuple[PublishedSpecimen, ...] = (
    PublishedSpecimen(
        "UTO",
        "ERIKSSON",
        "ANNA",
        ("1974-08-12",),
        ("L898902C3", "D23145890", "L8988901C"),
        name_alone=False,  # a common Swedish name
        source="ICAO Doc 9303, parts 4-7: the example passport, ID card and visas of Utopia",
    ),
    PublishedSpecimen(
        "D",
        "MUSTERMANN",
        "ERIKA",
        ("1964-08-12",),
        ("C01X00T47", "T22000129"),
        name_alone=True,  # "Muster" is German for specimen; the BMI's sample citizen
        source="Bundesministerium des Innern, specimen Reisepass and Personalausweis images; "
        "PRADO DEU-AO, DEU-BO",
    ),
    PublishedSpecimen(
        "ESP",
        "ESPANOLA ESPANOLA",
        "CARMEN",
        ("1980-01-01",),
        ("99999999R", "BAA000589", "ZAB000254"),
        name_alone=True,  # "Spanish Spanish": no one's surnames
        source="Dirección General de la Policía, DNI 3.0 specimen; PRADO ESP-BO-04001 and "
        "ESP-AO-05001 (passport)",
    ),
    PublishedSpecimen(
        "USA",
        "TRAVELER",
        "HAPPY",
        (),
        (),
        name_alone=True,
        source="U.S. Department of State, specimen passport book and passport card",
    ),
    PublishedSpecimen(
        "USA",
        "TRAVELER",
        "HAPPYPERSON",
        ("1965-02-05",),
        ("555123ABC",),
        name_alone=True,
        source="U.S. Department of State, specimen immigrant visa (London consulate)",
    ),
    PublishedSpecimen(
        "GBR",
        "UK SPECIMEN",
        "ANGELA",
        (),
        (),
        name_alone=True,
        source="HM Passport Office, specimen of the 2015 and 2020 passports",
    ),
    PublishedSpecimen(
        "NLD",
        "DE BRUIJN",
        "WILLEKE",
        ("1965-03-10",),
        ("SPECI2014", "SPECI2021", "999999990"),
        name_alone=False,  # a common Dutch surname
        source="Rijksdienst voor Identiteitsgegevens, specimen passport and identity card "
        "(models 2014 and 2021)",
    ),
)
SPECIMEN_NUMBERS = frozenset(n for entry in PUBLISHED_SPECIMENS for n in entry.numbers)


def published_holder(
    surname: str, given_names: str, birth_date: str | None, numbers: frozenset[str]
) -> PublishedSpecimen | None:
    """The published specimen this holder is, or None. Names in plain capitals, one space apart.

    The names are compared as one sequence, surname first, so that a specimen whose MRZ parts
    surname and given names with one filler instead of two (ESPANOLA<ESPANOLA<CARMEN, all read as
    the surname) still matches.
    """
    read = (surname + " " + given_names).split()
    for entry in PUBLISHED_SPECIMENS:
        name = [*entry.surname.split(), entry.given_name]
        if read[: len(name)] != name:
            continue
        if entry.name_alone or birth_date in entry.birth_dates or numbers & set(entry.numbers):
            return entry
    return None
