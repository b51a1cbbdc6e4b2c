"""Name comparison between what a person claimed and what their document shows."""

from __future__ import annotations

import dataclasses
import json

import pytest

from processing.mrz.compose import name_field, split_name_field
from processing.names import (
    MISMATCH,
    NameMatch,
    compare_names,
    document_spellings,
    spellings,
)


def _compare(first: str, last: str, surname: str, given: str, **flags: bool) -> NameMatch:
    return compare_names(first, last, document_surname=surname, document_given_names=given, **flags)


@pytest.mark.parametrize(
    ("first", "last", "surname", "given"),
    [
        ("anna", "mueller", "MUELLER", "ANNA"),  # case
        ("Anna", "Müller", "MUELLER", "ANNA"),  # ICAO spelling of an umlaut
        ("Anna", "Müller", "MULLER", "ANNA"),  # states that strip the umlaut
        ("Anna", "Mueller", "MUELLER", "ANNA"),
        ("Søren", "Ørsted", "OERSTED", "SOEREN"),
        ("Åsa", "Strauß", "STRAUSS", "AASA"),
        ("Ægir", "Þórsson", "THORSSON", "AEGIR"),
        ("José", "Fernández-Muñoz", "FERNANDEZ MUNOZ", "JOSE"),  # hyphen as MRZ filler
        ("Sean", "O'Neill", "ONEILL", "SEAN"),  # apostrophe omitted
        ("Sean", "O Neill", "ONEILL", "SEAN"),  # space vs nothing
        ("Jean-Luc", "Picard", "PICARD", "JEAN LUC"),
    ],
)
def test_mrz_spellings_match(first: str, last: str, surname: str, given: str) -> None:
    result = _compare(first, last, surname, given)
    assert result == NameMatch(True, None, result.detail)
    assert "up to spelling" in result.detail


@pytest.mark.parametrize(
    ("first", "last", "surname", "given"),
    [
        ("Anna", "Muller", "MÜLLER", "ANNA"),  # visual zone keeps diacritics
        ("Anna", "Mueller", "MÜLLER", "ANNA"),
        ("Anna", "Müller", "MÜLLER", "ANNA"),
        ("José", "Fernandez Munoz", "FERNÁNDEZ-MUÑOZ", "JOSÉ"),
    ],
)
def test_visual_zone_diacritics_match(first: str, last: str, surname: str, given: str) -> None:
    result = _compare(first, last, surname, given, from_mrz=False)
    assert result.match
    assert "visual zone" in result.detail


@pytest.mark.parametrize(
    ("first", "last", "surname", "given"),
    [
        ("Anna", "Mueller", "MULLER", "ANNA"),  # MRZ "MULLER" cannot come from "Mueller"
        ("Anna", "Miller", "MUELLER", "ANNA"),
        ("Anna", "Müller", "MUELLER", "ANNE"),
        ("Sean", "O'Neil", "ONEILL", "SEAN"),
        ("José", "Fernández", "FERNANDEZ MUNOZ", "JOSE"),  # second surname left out
    ],
)
def test_different_names_mismatch(first: str, last: str, surname: str, given: str) -> None:
    result = _compare(first, last, surname, given)
    assert not result.match
    assert result.reason == MISMATCH


def test_mrz_parsed_field_matches_printed_names() -> None:
    """The generator's own MRZ name field, read back, matches the printed names."""
    surname, given = split_name_field(name_field("Fernández-Muñoz", "María José", 39))
    assert (surname, given) == ("FERNANDEZ MUNOZ", "MARIA JOSE")
    assert _compare("María José", "Fernández-Muñoz", surname, given).match


@pytest.mark.parametrize(
    ("first", "given", "match"),
    [
        ("Anna", "ANNA MARIA", True),  # later given names left out
        ("Anna Maria", "ANNA MARIA", True),
        ("Anna Maria", "ANNA MARIA SOFIA", True),
        ("Anna M.", "ANNA MARIA", True),  # later name as an initial
        ("Maria", "ANNA MARIA", False),  # only a middle name
        ("Maria Anna", "ANNA MARIA", False),  # reordered
        ("A. Maria", "ANNA MARIA", False),  # first given name never as an initial
        ("Anna Maria", "ANNA", False),  # claims a name the document lacks
        ("Anna S.", "ANNA MARIA", False),
        ("", "ANNA", False),
    ],
)
def test_given_names(first: str, given: str, match: bool) -> None:
    result = _compare(first, "Müller", "MUELLER", given)
    assert result.match is match
    if match:
        assert result.reason is None
    else:
        assert result.reason == MISMATCH
        assert "given names differ" in result.detail


def test_omitted_names_are_reported_as_lenient() -> None:
    assert "omitted" in _compare("Anna", "Müller", "MUELLER", "ANNA MARIA").detail


@pytest.mark.parametrize(
    ("first", "last", "surname", "given", "match"),
    [
        ("Eriksson", "Anna", "ERIKSSON", "ANNA", True),
        ("Müller", "Anna Maria", "MUELLER", "ANNA MARIA", True),
        ("Eriksson", "Anna", "ERIKSSON", "ANNA MARIA", False),  # swap plus an omitted name
        ("Eriksson", "Anna", "ERIKSON", "ANNA", False),
    ],
)
def test_swapped_first_and_last_name(
    first: str, last: str, surname: str, given: str, match: bool
) -> None:
    result = _compare(first, last, surname, given)
    assert result.match is match
    assert ("swapped" in result.detail) is match


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ("ALEXANDER WILLIAM G", True),
        ("ALEXANDER W", True),
        ("ALEXANDER WILL", True),  # cut inside a name
        ("ALEXANDER W G", True),  # cut to initials
        ("ALEX", True),
        ("ALEXANDER WILLIAM GEORGE", True),
        ("ALEXANDER WALTER", False),
        ("ALEXANDER WI G", False),  # only the last component may be cut short of an initial
        ("ALEXANDER G", False),
        ("ALEKSANDER W", False),
    ],
)
def test_truncated_given_names(given: str, match: bool) -> None:
    result = _compare("Alexander William George", "Smith", "SMITH", given, truncated=True)
    assert result.match is match


def test_truncation_is_only_accepted_when_flagged() -> None:
    assert not _compare("Alexander William George", "Smith", "SMITH", "ALEXANDER W").match


def test_generated_truncated_field_matches() -> None:
    """A TD1 field cut by the generator's ICAO rules matches the full claimed names."""
    field = name_field("Srisawasdiwongsakul", "Alexander William George", 30)
    surname, given = split_name_field(field)
    assert len(field.rstrip("<")) == 30
    assert (
        _compare("Alexander William George", "Srisawasdiwongsakul", surname, given).match is False
    )
    assert _compare(
        "Alexander William George", "Srisawasdiwongsakul", surname, given, truncated=True
    ).match


@pytest.mark.parametrize(
    ("last", "surname", "match"),
    [
        ("Srisawasdiwongsakul", "SRISAWASDIWONGSA", True),
        ("Srisawasdiwongsakul", "SRISAWASDI", True),
        ("Srisawasdiwongsakul", "SRISAWASD", False),  # too short to say anything
        ("Srisawasdiwongsakul", "SRISAWASDIWONGSU", False),
        ("Srisawasdiwong", "SRISAWASDIWONGSA", False),  # the document is longer
    ],
)
def test_truncated_surname(last: str, surname: str, match: bool) -> None:
    result = _compare("Anna", last, surname, "A", truncated=True)
    assert result.match is match
    if not match:
        assert "surname differs" in result.detail


def test_surname_filling_the_field_leaves_given_names_unchecked() -> None:
    assert _compare("Anna", "Srisawasdiwongsakul", "SRISAWASDIWONGSAKUL", "", truncated=True).match
    assert not _compare("Anna", "Srisawasdiwongsakul", "SRISAWASDIWONGSAKUL", "").match


def test_mononym_in_the_surname_field() -> None:
    assert _compare("", "Madonna", "MADONNA", "").match
    assert not _compare("", "Madonna", "MADONNA", "LOUISE").match


def test_names_without_latin_letters_mismatch() -> None:
    result = _compare("Анна", "Иванова", "IVANOVA", "ANNA")
    assert not result.match
    assert "surname" in result.detail
    assert not _compare("Anna", "Ivanova", "", "ANNA").match


def test_both_names_wrong() -> None:
    result = _compare("Peter", "Smith", "MUELLER", "ANNA")
    assert result.reason == MISMATCH
    assert "surname and given names" in result.detail


def test_detail_never_quotes_names() -> None:
    for result in (
        _compare("Anna", "Müller", "MUELLER", "ANNA MARIA"),
        _compare("Anna", "Smith", "MUELLER", "ANNA"),
        _compare("Eriksson", "Anna", "ERIKSSON", "ANNA"),
    ):
        for word in ("ANNA", "MUELLER", "SMITH", "ERIKSSON", "MÜLLER"):
            assert word not in result.detail.upper()


def test_result_serialises() -> None:
    result = _compare("Anna", "Smith", "MUELLER", "ANNA")
    assert json.loads(json.dumps(dataclasses.asdict(result))) == {
        "match": False,
        "reason": MISMATCH,
        "detail": result.detail,
    }


def test_spellings_of_a_name() -> None:
    assert spellings("Müller-Lüdenscheid") == {
        ("MUELLER", "LUEDENSCHEID"),
        ("MULLER", "LUDENSCHEID"),
    }
    assert spellings("Strauß") == {("STRAUSS",)}


@pytest.mark.parametrize(
    ("first", "last", "surname", "given"),
    [
        ("Jurgen", "Muller", "MUELLER", "JUERGEN"),
        ("Soren", "Sorensen", "SOERENSEN", "SOEREN"),
        ("Hakan", "Lindstrom", "LINDSTROEM", "HAAKAN"),
        ("Asa", "Schafer-Gunther", "SCHAEFER GUENTHER", "AASA"),
        ("Jürgen", "Muller", "MUELLER", "JUERGEN"),  # each name typed its own way
    ],
)
def test_umlauts_typed_without_diacritics_match_the_mrz(
    first: str, last: str, surname: str, given: str
) -> None:
    """Without umlaut keys people type the bare vowel where the MRZ spells out AE, OE, UE, AA."""
    result = _compare(first, last, surname, given)
    assert result == NameMatch(True, None, result.detail)
    assert "up to spelling" in result.detail


def test_only_the_document_drops_the_spelled_out_letter() -> None:
    """An MRZ MUELLER can come from Müller typed "Muller"; an MRZ MULLER never from "Mueller"."""
    assert _compare("Anna", "Muller", "MUELLER", "ANNA").match
    assert not _compare("Anna", "Mueller", "MULLER", "ANNA").match
    assert compare_names(None, "Muller", document_surname="MUELLER", document_given_names="").match
    assert not compare_names(
        None, "Mueller", document_surname="MULLER", document_given_names=""
    ).match


@pytest.mark.parametrize(
    ("first", "last", "surname", "given"),
    [
        ("Michal", "Nowak", "NOWAK", "MICHAEL"),  # -el of Hebrew names: another name
        ("Rafal", "Nowak", "NOWAK", "RAFAEL"),
        ("Michala", "Nowak", "NOWAK", "MICHAELA"),
        ("Samul", "Cohen", "COHEN", "SAMUEL"),
        ("Jo", "Smith", "SMITH", "JOE"),  # at the end of a name
        ("Dan", "Jansen", "JANSEN", "DAAN"),  # Dutch double vowel
        ("Klas", "Jansen", "JANSEN", "KLAAS"),
        ("Anna", "Graf", "GRAAF", "ANNA"),
        ("Jurgen", "Mueller-Ludenscheid", "MUELLER LUEDENSCHEID", "JUERGEN"),  # half spelled out
        ("Jurgen", "Miller", "MUELLER", "JUERGEN"),  # still a different name
    ],
)
def test_dropping_a_real_vowel_does_not_match(
    first: str, last: str, surname: str, given: str
) -> None:
    result = _compare(first, last, surname, given)
    assert not result.match
    assert result.reason == MISMATCH


def test_document_spellings_of_a_name() -> None:
    assert document_spellings("MUELLER LUEDENSCHEID") == {
        ("MUELLER", "LUEDENSCHEID"),
        ("MULLER", "LUDENSCHEID"),
    }
    assert document_spellings("MICHAEL LINDSTROEM") == {
        ("MICHAEL", "LINDSTROEM"),
        ("MICHAEL", "LINDSTROM"),
    }
    assert document_spellings("JOE") == spellings("JOE") == {("JOE",)}
