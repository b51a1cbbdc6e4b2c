"""Which three-letter codes an MRZ may carry for a state or organisation, and the ISO alpha-2
code of each that is a country (Stripe's `issuing_country`, an address's country).

ICAO 9303 Part 3 uses ISO 3166-1 alpha-3 plus a few codes of its own (Germany's single "D",
British nationality classes, UN bodies, refugee and stateless codes, the "UTO" specimen state).
An unknown code is not an error by itself, but it is a strong hint of an OCR slip or a forgery,
and the repair step uses the list to choose between look-alike letters.
"""

from __future__ import annotations

# ISO 3166-1 alpha-3 with its alpha-2, as published by the ISO 3166 Maintenance Agency (249
# codes; the pairs as Debian's iso-codes 4.15 lists them in json/iso_3166-1.json).
_ISO_3166 = """
    ABW:AW AFG:AF AGO:AO AIA:AI ALA:AX ALB:AL AND:AD ARE:AE ARG:AR ARM:AM ASM:AS ATA:AQ ATF:TF
    ATG:AG AUS:AU AUT:AT AZE:AZ BDI:BI BEL:BE BEN:BJ BES:BQ BFA:BF BGD:BD BGR:BG BHR:BH BHS:BS
    BIH:BA BLM:BL BLR:BY BLZ:BZ BMU:BM BOL:BO BRA:BR BRB:BB BRN:BN BTN:BT BVT:BV BWA:BW CAF:CF
    CAN:CA CCK:CC CHE:CH CHL:CL CHN:CN CIV:CI CMR:CM COD:CD COG:CG COK:CK COL:CO COM:KM CPV:CV
    CRI:CR CUB:CU CUW:CW CXR:CX CYM:KY CYP:CY CZE:CZ DEU:DE DJI:DJ DMA:DM DNK:DK DOM:DO DZA:DZ
    ECU:EC EGY:EG ERI:ER ESH:EH ESP:ES EST:EE ETH:ET FIN:FI FJI:FJ FLK:FK FRA:FR FRO:FO FSM:FM
    GAB:GA GBR:GB GEO:GE GGY:GG GHA:GH GIB:GI GIN:GN GLP:GP GMB:GM GNB:GW GNQ:GQ GRC:GR GRD:GD
    GRL:GL GTM:GT GUF:GF GUM:GU GUY:GY HKG:HK HMD:HM HND:HN HRV:HR HTI:HT HUN:HU IDN:ID IMN:IM
    IND:IN IOT:IO IRL:IE IRN:IR IRQ:IQ ISL:IS ISR:IL ITA:IT JAM:JM JEY:JE JOR:JO JPN:JP KAZ:KZ
    KEN:KE KGZ:KG KHM:KH KIR:KI KNA:KN KOR:KR KWT:KW LAO:LA LBN:LB LBR:LR LBY:LY LCA:LC LIE:LI
    LKA:LK LSO:LS LTU:LT LUX:LU LVA:LV MAC:MO MAF:MF MAR:MA MCO:MC MDA:MD MDG:MG MDV:MV MEX:MX
    MHL:MH MKD:MK MLI:ML MLT:MT MMR:MM MNE:ME MNG:MN MNP:MP MOZ:MZ MRT:MR MSR:MS MTQ:MQ MUS:MU
    MWI:MW MYS:MY MYT:YT NAM:NA NCL:NC NER:NE NFK:NF NGA:NG NIC:NI NIU:NU NLD:NL NOR:NO NPL:NP
    NRU:NR NZL:NZ OMN:OM PAK:PK PAN:PA PCN:PN PER:PE PHL:PH PLW:PW PNG:PG POL:PL PRI:PR PRK:KP
    PRT:PT PRY:PY PSE:PS PYF:PF QAT:QA REU:RE ROU:RO RUS:RU RWA:RW SAU:SA SDN:SD SEN:SN SGP:SG
    SGS:GS SHN:SH SJM:SJ SLB:SB SLE:SL SLV:SV SMR:SM SOM:SO SPM:PM SRB:RS SSD:SS STP:ST SUR:SR
    SVK:SK SVN:SI SWE:SE SWZ:SZ SXM:SX SYC:SC SYR:SY TCA:TC TCD:TD TGO:TG THA:TH TJK:TJ TKL:TK
    TKM:TM TLS:TL TON:TO TTO:TT TUN:TN TUR:TR TUV:TV TWN:TW TZA:TZ UGA:UG UKR:UA UMI:UM URY:UY
    USA:US UZB:UZ VAT:VA VCT:VC VEN:VE VGB:VG VIR:VI VNM:VN VUT:VU WLF:WF WSM:WS YEM:YE ZAF:ZA
    ZMB:ZM ZWE:ZW
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

_ALPHA2: dict[str, str] = dict(pair.split(":") for pair in _ISO_3166.split())
# The ICAO codes of a country that are not ISO's: Germany's "D", the British nationality classes
# (documents the United Kingdom issues) and Kosovo (the user-assigned XK that the EU and Stripe
# use). The organisations', refugees' and specimen codes name no country.
_ALPHA2.update(
    {"D": "DE", "GBD": "GB", "GBN": "GB", "GBO": "GB", "GBP": "GB", "GBS": "GB"}
    | {"RKS": "XK", "UNK": "XK"}
)

ICAO_CODES: frozenset[str] = frozenset(_ALPHA2) | frozenset(_ICAO_SPECIALS)


def is_known_country(code: str) -> bool:
    """Accept a code as printed in the MRZ too: "D<<" is Germany."""
    return code.rstrip("<") in ICAO_CODES


def alpha2(code: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code of an ICAO code ("D" and "DEU" are "DE"); None for the codes
    of no country (UNO, XXA, UTO) and for no code."""
    return None if code is None else _ALPHA2.get(code.rstrip("<").upper())
