"""Flat 300-dpi specimen layouts: TD3 data page, TD1 card, TD2 card, US driving licence.

Each function draws one side with Pillow and returns it with the box of its machine-readable
part (MRZ or barcode) so the photo simulation can keep glare away from it. Positions are in
pixels at 300 dpi; the MRZ uses ICAO's 10 characters per inch (30 px pitch) in OCR-B and sits
in a clear band that the security pattern never enters.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date
from functools import partial

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw

from processing.authenticity.generated import GENERATOR_MARK
from processing.locate import canonical_size
from processing.samples.aamva import pdf417_image
from processing.samples.identities import Identity
from processing.samples.portrait import fit_portrait
from processing.samples.print_fonts import font

Box = tuple[int, int, int, int]  # x, y, width, height
Color = tuple[int, int, int]

MRZ_PITCH = 30  # ICAO 9303: 10 characters per inch, at 300 dpi
MRZ_LINE_PITCH = 50  # baseline to baseline, about 4.2 mm
MRZ_FONT_SIZE = 40  # OCR-B at 40 px: 29 px advance, 2.5 mm cap height
MRZ_BASELINE_FROM_BOTTOM = 40  # last MRZ line's baseline above the lower edge
MRZ_CLEAR_BAND = 60  # extra height above the MRZ kept free of pattern and print

LABEL: Color = (60, 70, 110)
INK: Color = (25, 25, 30)
RED: Color = (170, 30, 40)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def viz_date(day: date) -> str:
    """Visual-zone date as passports print it: 14 MAR 1987."""
    return f"{day.day:02d} {MONTHS[day.month - 1]} {day.year}"


def us_date(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def security_background(
    size: tuple[int, int], rng: random.Random, clear_from_y: int | None
) -> Image.Image:
    """Pale guilloche-like waves and a rosette; the MRZ band below `clear_from_y` stays plain."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ink = np.zeros((height, width), np.float32)
    for _ in range(2):
        freq = rng.uniform(0.025, 0.045)
        bend = rng.uniform(0.003, 0.009)
        swing = rng.uniform(10, 35)
        phase = y * freq + swing * freq * np.sin(x * bend + rng.uniform(0, 6.3))
        ink += np.clip(1 - np.abs(np.sin(phase * math.pi)) / 0.12, 0, 1) * 0.5
    cx, cy = rng.uniform(0.5, 0.9) * width, rng.uniform(0.2, 0.6) * height
    radius = np.hypot(x - cx, y - cy)
    angle = np.arctan2(y - cy, x - cx)
    petals = rng.choice((7, 9, 11, 13))
    rosette = np.abs(np.sin(petals * angle + radius * rng.uniform(0.03, 0.06)))
    reach = 0.35 * height
    ink += np.clip(1 - rosette / 0.1, 0, 1) * np.clip(1 - radius / reach, 0, 1) * 0.8
    if clear_from_y is not None:
        fade = np.clip((clear_from_y - y) / 40.0, 0, 1)
        ink *= fade
    base = np.array([rng.randint(236, 250) for _ in range(3)], np.float32)
    tint = np.array([rng.randint(15, 45) for _ in range(3)], np.float32)
    pixels = base[None, None, :] - np.clip(ink, 0, 1)[..., None] * tint[None, None, :]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _fitted(text: str, size: int, max_width: int) -> int:
    """Largest bold size up to `size` at which `text` fits `max_width` (long names shrink)."""
    chosen = size
    while chosen > 12 and font("bold", chosen).getlength(text) > max_width:
        chosen -= 1
    return chosen


def draw_field(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    label: str,
    value: str,
    *,
    label_size: int = 18,
    value_size: int = 30,
    max_width: int = 900,
    color: Color = INK,
) -> None:
    """A small label above its value, the way ICAO visual zones stack them."""
    x, y = xy
    draw.text((x, y), label, font=font("text", label_size), fill=LABEL)
    size = _fitted(value, value_size, max_width)
    draw.text((x, y + label_size + 4), value, font=font("bold", size), fill=color)


def draw_inline(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    label: str,
    value: str,
    *,
    label_size: int = 17,
    value_size: int = 28,
    max_width: int = 640,
    color: Color = INK,
) -> None:
    """AAMVA style: the field number and short label, then the value on the same line."""
    x, y = xy
    label_font = font("text", label_size)
    draw.text((x, y + value_size - label_size - 2), label, font=label_font, fill=RED)
    offset = round(label_font.getlength(label)) + 8
    size = _fitted(value, value_size, max_width - offset)
    draw.text((x + offset, y + value_size - size), value, font=font("bold", size), fill=color)


def draw_mrz(image: Image.Image, lines: Sequence[str]) -> Box:
    """OCR-B lines centred horizontally at the ICAO pitch, the last one near the lower edge."""
    draw = ImageDraw.Draw(image)
    ocrb = font("mrz", MRZ_FONT_SIZE)
    _, cap_top, glyph_w, cap_bottom = ocrb.getbbox("H")
    length = len(lines[0])
    left = (image.width - length * MRZ_PITCH) // 2
    last_baseline = image.height - MRZ_BASELINE_FROM_BOTTOM
    first_baseline = last_baseline - (len(lines) - 1) * MRZ_LINE_PITCH
    pad = (MRZ_PITCH - glyph_w) / 2
    for row, line in enumerate(lines):
        baseline = first_baseline + row * MRZ_LINE_PITCH
        for column, char in enumerate(line):
            draw.text(
                (left + column * MRZ_PITCH + pad, baseline - cap_bottom), char, font=ocrb, fill=INK
            )
    top = int(first_baseline - (cap_bottom - cap_top))
    return left, top, length * MRZ_PITCH, int(last_baseline - top)


def mrz_clear_from(height: int, line_count: int) -> int:
    """First row of the band that must stay free of pattern for the given number of MRZ lines."""
    last_baseline = height - MRZ_BASELINE_FROM_BOTTOM
    return last_baseline - (line_count - 1) * MRZ_LINE_PITCH - 30 - MRZ_CLEAR_BAND


def draw_signature(draw: ImageDraw.ImageDraw, rng: random.Random, box: Box) -> None:
    """A cursive-looking scribble: a few superposed sine loops along the box."""
    x0, y0, w, h = box
    waves = [
        (rng.uniform(0.02, 0.06), rng.uniform(0, 6.3), rng.uniform(0.15, 0.35)) for _ in range(3)
    ]
    points = []
    for step in range(0, int(w * rng.uniform(0.6, 1.0)), 3):
        dy = sum(a * math.sin(f * step + p) for f, p, a in waves)
        points.append((x0 + step, y0 + h / 2 + dy * h))
    draw.line(points, fill=(30, 40, 120), width=3, joint="curve")


def draw_specimen_mark(draw: ImageDraw.ImageDraw, xy: tuple[int, int], size: int) -> None:
    """Every generated document says SPECIMEN: it must never pass for a real one."""
    draw.text(xy, "SPECIMEN", font=font("bold", size), fill=RED)


def draw_generator_mark(image: Image.Image, xy: tuple[int, int], module: int) -> None:
    """The QR code that tells idflow's reader this picture came from here (generated.py).

    Only its dark modules are printed: the pale background is its quiet zone. A pure white patch
    would pass for glare next to the MRZ.
    """
    symbol = zxingcpp.create_barcode(
        GENERATOR_MARK, zxingcpp.BarcodeFormat.QRCode, options="ecLevel=Q"
    )
    modules = np.asarray(symbol.to_image(scale=1), dtype=np.uint8)[2:-2, 2:-2]
    dark = np.kron(modules < 128, np.ones((module, module), dtype=bool))
    ink = Image.new("RGB", (dark.shape[1], dark.shape[0]), INK)
    image.paste(ink, xy, Image.fromarray(dark.astype(np.uint8) * 255, "L"))


def _paste_portrait(image: Image.Image, face: Image.Image, box: Box) -> None:
    x, y, w, h = box
    image.paste(fit_portrait(face, (w, h)), (x, y))


def render_td3(
    identity: Identity,
    mrz: Sequence[str],
    face: Image.Image,
    rng: random.Random,
    *,
    unmarked_for_tests: bool = False,
) -> tuple[Image.Image, Box]:
    """Passport data page (ID-3)."""
    size = canonical_size("ID3")
    image = security_background(size, rng, mrz_clear_from(size[1], 2))
    draw = ImageDraw.Draw(image)
    size_state = _fitted(identity.state_name, 32, 1300)
    draw.text((70, 26), identity.state_name, font=font("bold", size_state), fill=LABEL)
    draw.text((520, 80), "PASSPORT / PASSEPORT", font=font("bold", 34), fill=LABEL)
    if not unmarked_for_tests:
        draw_specimen_mark(draw, (1190, 84), 30)
        draw_generator_mark(image, (1262, 380), 8)
    _paste_portrait(image, face, (70, 150, 390, 500))
    draw_signature(draw, rng, (90, 680, 340, 80))
    x0, x1, col = 520, 1000, 440
    draw_field(draw, (x0, 140), "Type / Type", "P", max_width=150)
    draw_field(draw, (x0 + 180, 140), "Code / Code", identity.issuing_country, max_width=250)
    draw_field(
        draw, (x1, 140), "Passport No. / N° du passeport", identity.document_number, max_width=col
    )
    draw_field(draw, (x0, 215), "Surname / Nom", identity.surname)
    draw_field(draw, (x0, 290), "Given names / Prénoms", identity.given_names)
    draw_field(
        draw, (x0, 365), "Nationality / Nationalité", identity.nationality_name, max_width=720
    )
    draw_field(
        draw,
        (x0, 440),
        "Date of birth / Date de naissance",
        viz_date(identity.birth_date),
        max_width=col,
    )
    draw_field(draw, (x1, 440), "Sex / Sexe", identity.sex, max_width=col)
    draw_field(
        draw,
        (x0, 515),
        "Place of birth / Lieu de naissance",
        identity.place_of_birth,
        max_width=720,
    )
    draw_field(
        draw,
        (x0, 590),
        "Date of issue / Date de délivrance",
        viz_date(identity.issue_date),
        max_width=col,
    )
    draw_field(draw, (x1, 590), "Authority / Autorité", identity.authority, max_width=col)
    draw_field(
        draw,
        (x0, 665),
        "Date of expiry / Date d'expiration",
        viz_date(identity.expiry_date),
        max_width=col,
    )
    if identity.personal_number:
        draw_field(
            draw, (x1, 665), "Personal No. / N° personnel", identity.personal_number, max_width=255
        )
    return image, draw_mrz(image, mrz)


def render_td2(
    identity: Identity,
    mrz: Sequence[str],
    face: Image.Image,
    rng: random.Random,
    *,
    unmarked_for_tests: bool = False,
) -> tuple[Image.Image, Box]:
    """ID-2 card: one side carries everything, the 2x36 MRZ at the bottom."""
    size = canonical_size("ID2")
    image = security_background(size, rng, mrz_clear_from(size[1], 2))
    draw = ImageDraw.Draw(image)
    size_state = _fitted(identity.state_name, 28, 1120)
    draw.text((50, 20), identity.state_name, font=font("bold", size_state), fill=LABEL)
    draw.text((390, 62), "IDENTITY CARD / CARTE D'IDENTITÉ", font=font("bold", 26), fill=LABEL)
    if not unmarked_for_tests:
        draw_specimen_mark(draw, (1000, 64), 24)
        draw_generator_mark(image, (1100, 300), 5)
    _paste_portrait(image, face, (50, 130, 300, 386))
    draw_signature(draw, rng, (60, 530, 280, 60))
    x0, x1, col, full = 390, 820, 400, 820
    field = partial(draw_field, draw, label_size=16, value_size=26)
    field((x0, 118), "Type / Type", "I", max_width=100)
    field((x0 + 150, 118), "Code / Code", identity.issuing_country, max_width=200)
    field((x1, 118), "Document No. / N° du document", identity.document_number, max_width=col)
    field((x0, 180), "Surname / Nom", identity.surname, max_width=full)
    field((x0, 242), "Given names / Prénoms", identity.given_names, max_width=full)
    field((x0, 304), "Nationality / Nationalité", identity.nationality_name, max_width=col)
    field((x1, 304), "Sex / Sexe", identity.sex, max_width=col)
    field(
        (x0, 366), "Date of birth / Date de naissance", viz_date(identity.birth_date), max_width=col
    )
    field((x1, 366), "Place of birth / Lieu de naissance", identity.place_of_birth, max_width=250)
    field(
        (x0, 428),
        "Date of issue / Date de délivrance",
        viz_date(identity.issue_date),
        max_width=col,
    )
    field(
        (x1, 428),
        "Date of expiry / Date d'expiration",
        viz_date(identity.expiry_date),
        max_width=col,
    )
    field((x0, 490), "Authority / Autorité", identity.authority, max_width=680)
    return image, draw_mrz(image, mrz)


def render_td1_front(
    identity: Identity, face: Image.Image, rng: random.Random, *, unmarked_for_tests: bool = False
) -> Image.Image:
    """ID-1 card front: portrait and visual zone, no MRZ."""
    size = canonical_size("ID1")
    image = security_background(size, rng, None)
    draw = ImageDraw.Draw(image)
    size_state = _fitted(identity.state_name, 26, 940)
    draw.text((36, 14), identity.state_name, font=font("bold", size_state), fill=LABEL)
    draw.text((340, 50), "IDENTITY CARD / CARTE D'IDENTITÉ", font=font("bold", 22), fill=LABEL)
    if not unmarked_for_tests:
        draw_specimen_mark(draw, (800, 596), 22)
        draw_generator_mark(image, (850, 440), 6)
    _paste_portrait(image, face, (36, 100, 280, 360))
    draw_signature(draw, rng, (50, 490, 250, 70))
    x0, x1, col, full = 340, 700, 330, 640
    field = partial(draw_field, draw, label_size=15, value_size=25)
    field((x0, 100), "Surname / Nom", identity.surname, max_width=full)
    field((x0, 162), "Given names / Prénoms", identity.given_names, max_width=full)
    field(
        (x0, 224), "Date of birth / Date de naissance", viz_date(identity.birth_date), max_width=col
    )
    field((x1, 224), "Sex / Sexe", identity.sex, max_width=280)
    field((x0, 286), "Nationality / Nationalité", identity.nationality_name, max_width=col)
    field((x1, 286), "Document No.", identity.document_number, max_width=280)
    field(
        (x0, 348),
        "Date of expiry / Date d'expiration",
        viz_date(identity.expiry_date),
        max_width=col,
    )
    field((x0, 410), "Place of birth / Lieu de naissance", identity.place_of_birth, max_width=500)
    return image


def render_td1_back(
    identity: Identity, mrz: Sequence[str], rng: random.Random, *, unmarked_for_tests: bool = False
) -> tuple[Image.Image, Box]:
    """ID-1 card back: issuing details above the 3x30 MRZ."""
    size = canonical_size("ID1")
    image = security_background(size, rng, mrz_clear_from(size[1], 3))
    draw = ImageDraw.Draw(image)
    x0, x1 = 50, 520
    field = partial(draw_field, draw, label_size=15, value_size=24, max_width=440)
    field((x0, 30), "Date of issue / Date de délivrance", viz_date(identity.issue_date))
    field((x1, 30), "Authority / Autorité", identity.authority, max_width=320)
    field((x0, 95), "Height / Taille", f"{identity.height_cm / 100:.2f} m")
    field((x1, 95), "Eyes / Yeux", identity.eyes, max_width=320)
    field((x0, 160), "Personal No. / N° personnel", identity.personal_number or "-")
    if not unmarked_for_tests:
        draw_specimen_mark(draw, (x1, 170), 22)
        draw_generator_mark(image, (850, 20), 6)
    draw_signature(draw, rng, (x1, 240, 300, 60))
    return image, draw_mrz(image, mrz)


def _height_us(height_cm: int) -> str:
    inches = round(height_cm / 2.54)
    return f"{inches // 12}'-{inches % 12:02d}\""


def render_dl_front(
    identity: Identity, face: Image.Image, rng: random.Random, *, unmarked_for_tests: bool = False
) -> Image.Image:
    """US driving licence front with AAMVA field numbers as labels."""
    size = canonical_size("ID1")
    image = security_background(size, rng, None)
    draw = ImageDraw.Draw(image)
    band = (rng.randint(20, 90), rng.randint(20, 90), rng.randint(110, 170))
    draw.rectangle((0, 0, size[0], 92), fill=band)
    draw.text((30, 16), identity.state_name, font=font("bold", 44), fill=(255, 255, 255))
    draw.text((640, 14), "DRIVER LICENSE", font=font("bold", 30), fill=(255, 255, 255))
    draw.text((640, 52), "USA", font=font("bold", 24), fill=(255, 255, 255))
    _paste_portrait(image, face, (30, 115, 290, 370))
    draw_signature(draw, rng, (345, 540, 330, 60))
    if not unmarked_for_tests:
        draw_specimen_mark(draw, (690, 598), 24)
        draw_generator_mark(image, (870, 482), 5)
    street, _, rest = (identity.address or "").partition(", ")
    x0 = 345
    draw_inline(draw, (x0, 108), "4d DLN", identity.document_number)
    draw_inline(draw, (x0, 150), "1", identity.surname, value_size=32)
    draw_inline(draw, (x0, 192), "2", identity.given_names, value_size=30)
    draw_inline(draw, (x0, 236), "8", street, value_size=24)
    draw_inline(draw, (x0 + 17, 268), "", rest, value_size=24)
    draw_inline(draw, (x0, 312), "3 DOB", us_date(identity.birth_date), value_size=32, color=RED)
    draw_inline(draw, (x0, 360), "4a ISS", us_date(identity.issue_date), max_width=320)
    draw_inline(
        draw, (x0 + 330, 360), "4b EXP", us_date(identity.expiry_date), max_width=320, color=RED
    )
    draw_inline(draw, (x0, 405), "15 SEX", identity.sex, max_width=160)
    draw_inline(draw, (x0 + 170, 405), "16 HGT", _height_us(identity.height_cm), max_width=200)
    draw_inline(draw, (x0 + 400, 405), "18 EYES", identity.eyes, max_width=240)
    draw_inline(draw, (x0, 450), "9 CLASS", "C", max_width=160)
    draw_inline(draw, (x0 + 170, 450), "12 RESTR", "NONE", max_width=230)
    draw_inline(draw, (x0 + 400, 450), "9a END", "NONE", max_width=240)
    return image


def render_dl_back(
    identity: Identity, payload: str, rng: random.Random, *, unmarked_for_tests: bool = False
) -> tuple[Image.Image, Box]:
    """US driving licence back: a few lines of conditions above the PDF417 symbol."""
    size = canonical_size("ID1")
    image = security_background(size, rng, None)
    draw = ImageDraw.Draw(image)
    small = font("text", 17)
    notes: tuple[str, ...] = (
        f"Issued by the {identity.state_name.title()} Department of Motor Vehicles.",
        "CLASS C: any non-commercial vehicle under 26,001 lbs. RESTRICTIONS: NONE.",
        "SPECIMEN - not valid for identification.",
    )
    if unmarked_for_tests:
        notes = notes[:2]
    else:
        draw_generator_mark(image, (890, 10), 4)
    for row, note in enumerate(notes):
        draw.text((40, 24 + row * 26), note, font=small, fill=INK)
    symbol = pdf417_image(payload, size[0] - 80)
    height, width = symbol.shape
    left = (size[0] - width) // 2
    top = min(size[1] - height - 20, 120 + (size[1] - 140 - height) // 2)
    image.paste(Image.fromarray(symbol, "L").convert("RGB"), (left, top))
    return image, (left, top, width, height)
