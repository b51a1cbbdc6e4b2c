"""Which three-letter codes an MRZ may carry for a state or organisation.

ICAO 9303 Part 3 uses ISO 3166-1 alpha-3 plus a few codes of its own (Germany's single "D",
British nationality classes, UN bodies, refugee and stateless codes, the "UTO" specimen state).
An unknown code is not an error by itself, but it is a strong hint of an OCR slip or a forgery,
and the repair step uses the list to choose between look-alike letters.
"""

from __future__ import annotations

# ISO 3166-1 alpha-3, as published by the ISO 3166 Maintenance Agency (249 codes).
_ISO_3166_ALPHA3 = """
    ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA
    BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN
    CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU
    EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB
    GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL
    ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO
    LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR
    MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER
    PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM
    SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK
    TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN VGB VIR VNM
    VUT WLF WSM YEM ZAF ZMB ZWE
"""

_ICAO_SPECIALS = (
    "D",  # Germany
    "GBD",  # British Overseas Territories Citizen
    "GBN",  # British National (Overseas)
    "GBO",  # British Overseas Citizen
    "GBP",  # British Protected Person
    "GBS",  # British Subject
    "UNO",  # United Nations Organization or one of its officials
    "UNA",  # specialized agency of the United Nations
    "UNK",  # resident of Kosovo, UN interim administration (UNMIK)
    "XBA",  # African Development Bank
    "XIM",  # African Export-Import Bank
    "XCC",  # Caribbean Community
    "XCE",  # Council of Europe
    "XCO",  # Common Market for Eastern and Southern Africa
    "XEC",  # Economic Community of West African States
    "XPO",  # International Criminal Police Organization (Interpol)
    "XES",  # Organisation of Eastern Caribbean States
    "XMP",  # Parliamentary Assembly of the Mediterranean
    "XOM",  # Sovereign Military Order of Malta
    "XDC",  # Southern African Development Community
    "XXA",  # stateless person (1954 Convention)
    "XXB",  # refugee (1951 Convention)
    "XXC",  # refugee, other than under the 1951 Convention
    "XXX",  # unspecified nationality
    "EUE",  # European Union
    "RKS",  # Republic of Kosovo
    "UTO",  # Utopia, the fictional state of ICAO specimens
)

ICAO_CODES: frozenset[str] = frozenset(_ISO_3166_ALPHA3.split()) | frozenset(_ICAO_SPECIALS)


def is_known_country(code: str) -> bool:
    """Accept a code as printed in the MRZ too: "D<<" is Germany."""
    return code.rstrip("<") in ICAO_CODES
