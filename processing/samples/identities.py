"""Random but valid specimen holders: names from several cultures, consistent dates and numbers.

Name pools deliberately include diacritics, particles, apostrophes, hyphenated double names and
names too long for the MRZ, so transliteration and truncation are exercised on every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Sex = Literal["M", "F", "X"]


@dataclass(frozen=True)
class Culture:
    country: str  # ICAO code of issuing state and nationality
    state_name: str  # as printed in the document header
    nationality_name: str  # as printed in the nationality field
    surnames: tuple[str, ...]
    female: tuple[str, ...]
    male: tuple[str, ...]
    places: tuple[str, ...]


CULTURES: tuple[Culture, ...] = (
    Culture(
        "D",
        "FEDERAL REPUBLIC OF GERMANY",
        "DEUTSCH",
        (
            "MÜLLER",
            "SCHRÖDER",
            "BÄCKER",
            "KÖNIG-HÄUSLER",
            "WEISS",
            "VON DER LÜHE",
            "WOLFESCHLEGELSTEINHAUSENBERGERDORFF",
        ),
        ("ANNA MARIA", "GRETE", "SOPHIE", "LEONIE CHARLOTTE", "MARLÈNE"),
        ("JÜRGEN", "LUKAS", "KARL-HEINZ", "FELIX MORITZ", "BJÖRN"),
        ("BERLIN", "MÜNCHEN", "KÖLN", "DÜSSELDORF"),
    ),
    Culture(
        "DNK",
        "KINGDOM OF DENMARK",
        "DANSK",
        ("ØRSTED", "JØRGENSEN", "SØRENSEN", "MØLLER", "KRØYER"),
        ("FREJA", "ÅSE", "SØS MARIE", "LÆRKE"),
        ("SØREN", "MADS", "JENS PEDER", "ØYVIND"),
        ("KØBENHAVN", "ÅRHUS", "ODENSE"),
    ),
    Culture(
        "CZE",
        "CZECH REPUBLIC",
        "ČESKÁ REPUBLIKA",
        ("ŠIMKOVÁ", "DVOŘÁKOVÁ", "NOVÁKOVÁ", "ČERNÁ"),
        ("TEREZA", "LUCIE", "KATEŘINA", "ŽOFIE"),
        ("JIŘÍ", "TOMÁŠ", "ONDŘEJ"),
        ("PRAHA", "BRNO", "ČESKÉ BUDĚJOVICE"),
    ),
    Culture(
        "ESP",
        "KINGDOM OF SPAIN",
        "ESPAÑOLA",
        ("NÚÑEZ", "GARCÍA LÓPEZ", "FERNÁNDEZ-MUÑOZ", "IBÁÑEZ", "DE LA PEÑA"),
        ("MARÍA DEL CARMEN", "LUCÍA", "ANA BELÉN", "INÉS"),
        ("JOSÉ LUIS", "ÁLVARO", "IÑAKI", "JESÚS"),
        ("MADRID", "MÁLAGA", "A CORUÑA"),
    ),
    Culture(
        "TUR",
        "REPUBLIC OF TÜRKİYE",
        "T.C.",
        ("ÇELIK", "ÖZTÜRK", "YILDIZ", "ŞAHİN", "DOĞAN"),
        ("AYŞE", "ÇAĞLA", "ZEYNEP", "GÜL"),
        ("MEHMET", "İSMAİL", "EMRE", "ÖMER"),
        ("İSTANBUL", "İZMİR", "ANKARA"),
    ),
    Culture(
        "IRL",
        "IRELAND",
        "IRISH",
        ("Ó BRIAIN", "O'NEILL", "MAC GIOLLA PHÁDRAIG", "NÍ DHOMHNAILL", "O'SULLIVAN"),
        ("AOIFE", "SIOBHÁN", "MÁIRÉAD"),
        ("SEÁN", "PÁDRAIG", "CIARÁN"),
        ("DUBLIN", "CORK", "GAILLIMH"),
    ),
    Culture(
        "GBR",
        "UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND",
        "BRITISH CITIZEN",
        ("SMITH-JONES", "O'CONNOR", "WILLIAMS", "FEATHERSTONEHAUGH-CHOLMONDELEY"),
        ("CHARLOTTE", "OLIVIA ROSE", "EMILY"),
        ("OLIVER JAMES", "HARRY", "ALEXANDER WILLIAM GEORGE"),
        ("LONDON", "MANCHESTER", "CARDIFF"),
    ),
    Culture(
        "FRA",
        "RÉPUBLIQUE FRANÇAISE",
        "FRANÇAISE",
        ("LEFÈVRE", "DUPONT-MOREAU", "FRANÇOIS", "D'ARTAGNAN"),
        ("HÉLÈNE", "CÉLINE", "MARIE-CLAIRE", "ZOË"),
        ("JEAN-PIERRE", "FRANÇOIS", "JÉRÔME"),
        ("PARIS", "LYON", "ORLÉANS"),
    ),
    Culture(
        "ISL",
        "ICELAND",
        "ÍSLENSKUR",
        ("ÞÓRSDÓTTIR", "GUÐMUNDSSON", "SIGURÐARDÓTTIR"),
        ("HALLDÓRA", "ÞÓRA", "GUÐRÚN"),
        ("ÞÓR", "ÓLAFUR", "EIÐUR"),
        ("REYKJAVÍK", "AKUREYRI"),
    ),
    Culture(
        "POL",
        "REPUBLIC OF POLAND",
        "POLSKIE",
        ("WÓJCIK", "ŁUKASZEWSKA", "KOWALCZYK", "ŻAK"),
        ("AGNIESZKA", "ŁUCJA", "ZOFIA"),
        ("PIOTR", "ŁUKASZ", "MICHAŁ"),
        ("WARSZAWA", "ŁÓDŹ", "KRAKÓW"),
    ),
    Culture(
        "SWE",
        "KINGDOM OF SWEDEN",
        "SVENSK",
        ("ÅSTRÖM", "LINDQVIST", "SJÖBERG"),
        ("MALIN", "ÅSA", "LINNÉA"),
        ("MÅNS", "BJÖRN", "PER-OLOF"),
        ("STOCKHOLM", "GÖTEBORG", "MALMÖ"),
    ),
    Culture(
        "THA",
        "KINGDOM OF THAILAND",
        "THAI",
        ("NILAVADHANANANDA", "SRISAWASDIWONGSAKUL"),
        ("CHAYAPA DEJTHAMRONG KRASUANG", "PHORNTHIP"),
        ("SOMCHAI", "WORAWIT CHAROENRAT SUKSAWAT"),
        ("BANGKOK", "CHIANG MAI"),
    ),
    Culture(
        "PRT",
        "PORTUGUESE REPUBLIC",
        "PORTUGUESA",
        ("DOS SANTOS PEREIRA DA SILVA", "GONÇALVES", "CONCEIÇÃO"),
        ("MARIA DA CONCEIÇÃO FERNANDA", "INÊS"),
        ("JOÃO", "ANTÓNIO MANUEL"),
        ("LISBOA", "PORTO", "ÉVORA"),
    ),
    Culture(
        "UTO",
        "UTOPIA",
        "UTOPIAN",
        ("ERIKSSON", "STORM", "VAN DER VELDE"),
        ("ANNA MARIA", "INGRID"),
        ("HANS", "LARS ERIK"),
        ("ZENITH", "UTOPIA CITY"),
    ),
)

US_SURNAMES = ("SMITH", "JOHNSON", "GARCIA", "NGUYEN", "O'BRIEN", "WASHINGTON", "MILLER-LOPEZ")
US_FEMALE = ("JENNIFER", "MARY", "ASHLEY", "JESSICA")
US_MALE = ("JOHN", "MICHAEL", "DAVID", "ROBERT")
US_MIDDLE_FEMALE = ("ANN", "LEE", "MARIE", "", "")
US_MIDDLE_MALE = ("JAMES", "LEE", "ALAN", "", "")
US_STREETS = ("MAIN ST", "OAK AVE", "MAPLE DR", "CEDAR LN", "WASHINGTON BLVD")


@dataclass(frozen=True)
class Jurisdiction:
    code: str  # postal abbreviation, AAMVA DAJ
    name: str
    iin: str  # AAMVA issuer identification number
    city: str
    zip_prefix: str


JURISDICTIONS: tuple[Jurisdiction, ...] = (
    Jurisdiction("VA", "VIRGINIA", "636000", "RICHMOND", "232"),
    Jurisdiction("NY", "NEW YORK", "636001", "ALBANY", "122"),
    Jurisdiction("FL", "FLORIDA", "636010", "ORLANDO", "328"),
    Jurisdiction("CA", "CALIFORNIA", "636014", "SACRAMENTO", "958"),
    Jurisdiction("TX", "TEXAS", "636015", "AUSTIN", "787"),
    Jurisdiction("CO", "COLORADO", "636020", "DENVER", "802"),
)

_NUMBER_ALPHABET = "0123456789CFGHJKLMNPRTVWXYZ"  # no vowels or look-alikes, like German numbers
_EYES = ("BRO", "BLU", "GRN", "HAZ", "GRY")
_AUTHORITIES = ("PASSPORT OFFICE", "CITY HALL", "MINISTRY")
EXPIRED_SHARE = 0.1


@dataclass(frozen=True)
class Identity:
    """One holder and document, as printed in the visual zone (diacritics kept)."""

    surname: str
    given_names: str  # all given names, space separated (for DL: first and middle)
    birth_date: date
    sex: Sex
    nationality: str | None  # ICAO code; None on a driving licence
    issuing_country: str
    state_name: str
    nationality_name: str
    document_number: str
    issue_date: date
    expiry_date: date
    place_of_birth: str
    authority: str
    personal_number: str  # MRZ optional data, "" when the state uses none
    address: str | None  # one line as printed, "street, city, ST zip"
    street: str
    city: str
    postal_code: str
    height_cm: int
    eyes: str
    jurisdiction: Jurisdiction | None  # only for driving licences


def _dates(rng: random.Random, today: date) -> tuple[date, date, date]:
    """Birth 1940-2008; issued in the last ten years; valid 5 or 10 years; ~10% already expired."""
    birth = date(1940, 1, 1) + timedelta(
        days=rng.randrange((date(2008, 12, 31) - date(1940, 1, 1)).days)
    )
    years = rng.choice((5, 10))
    if rng.random() < EXPIRED_SHARE:
        years = 5
        issue = today - timedelta(days=5 * 365 + rng.randint(30, 4 * 365))
    else:
        issue = today - timedelta(days=rng.randint(20, years * 365 - 30))
    issue = max(issue, birth + timedelta(days=60))
    expiry = _add_years(issue, years) - timedelta(days=1)
    return birth, issue, expiry


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _sex(rng: random.Random) -> Sex:
    roll = rng.random()
    return "F" if roll < 0.47 else "M" if roll < 0.94 else "X"


def _document_number(rng: random.Random) -> str:
    first = rng.choice(_NUMBER_ALPHABET[10:])
    return first + "".join(rng.choice(_NUMBER_ALPHABET) for _ in range(8))


def random_identity(rng: random.Random, today: date) -> Identity:
    """A holder of a passport or ID card from one of `CULTURES`."""
    culture = rng.choice(CULTURES)
    sex = _sex(rng)
    pool = (
        culture.female
        if sex == "F"
        else culture.male
        if sex == "M"
        else culture.female + culture.male
    )
    birth, issue, expiry = _dates(rng, today)
    personal = ""
    if rng.random() < 0.3:
        personal = "".join(rng.choice("0123456789") for _ in range(rng.choice((9, 11))))
    return Identity(
        surname=rng.choice(culture.surnames),
        given_names=rng.choice(pool),
        birth_date=birth,
        sex=sex,
        nationality=culture.country,
        issuing_country=culture.country,
        state_name=culture.state_name,
        nationality_name=culture.nationality_name,
        document_number=_document_number(rng),
        issue_date=issue,
        expiry_date=expiry,
        place_of_birth=rng.choice(culture.places),
        authority=f"{rng.choice(culture.places)} {rng.choice(_AUTHORITIES)}",
        personal_number=personal,
        address=None,
        street="",
        city="",
        postal_code="",
        height_cm=rng.randint(150, 198),
        eyes=rng.choice(_EYES),
        jurisdiction=None,
    )


def random_us_identity(rng: random.Random, today: date) -> Identity:
    """A US driving-licence holder (plain ASCII names, as US licences print them)."""
    place = rng.choice(JURISDICTIONS)
    sex = _sex(rng)
    first = rng.choice(US_FEMALE if sex == "F" else US_MALE if sex == "M" else US_FEMALE + US_MALE)
    middle = rng.choice(US_MIDDLE_FEMALE if sex == "F" else US_MIDDLE_MALE)
    birth, issue, expiry = _dates(rng, today)
    postal = place.zip_prefix + f"{rng.randint(0, 99):02d}"
    street = f"{rng.randint(1, 9999)} {rng.choice(US_STREETS)}"
    return Identity(
        surname=rng.choice(US_SURNAMES),
        given_names=f"{first} {middle}".strip(),
        birth_date=birth,
        sex=sex,
        nationality=None,
        issuing_country="USA",
        state_name=place.name,
        nationality_name="",
        document_number=rng.choice("ABCDEFGHJKLMNPRSTVWXYZ") + f"{rng.randint(0, 99_999_999):08d}",
        issue_date=issue,
        expiry_date=expiry,
        place_of_birth="",
        authority=f"{place.name} DEPARTMENT OF MOTOR VEHICLES",
        personal_number="",
        address=f"{street}, {place.city}, {place.code} {postal}",
        street=street,
        city=place.city,
        postal_code=postal,
        height_cm=rng.randint(150, 198),
        eyes=rng.choice(_EYES),
        jurisdiction=place,
    )
