"""Measure the quality metrics on synthetic photos and on the real specimens; prints tables.

The figures behind the thresholds in processing/quality.py (see docs/quality-thresholds.md):
    .venv/bin/python scripts/measure_quality.py [--specimens ../shared/samples/specimens]

Synthetic cards are OCR-B text on a pale, guilloche-printed ID-1 card rendered at 300 dpi, then
"photographed": placed on a dark desk at a given size, tilted, blurred, lit, noised, JPEG-saved.
Tesseract's character accuracy on the MRZ says where blur stops being readable.
"""

from __future__ import annotations

import argparse
import difflib
import string
from pathlib import Path

import cv2
import numpy as np
import pytesseract
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from processing.locate import DocumentQuad, find_document_quad, order_corners, warp_document
from processing.mrz.zone import find_mrz_bands
from processing.quality import assess_quality

FONT = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"
CARD = (1011, 638)
MRZ_CHARS = string.ascii_uppercase + string.digits + "<<<<<<"


def make_card(rng: np.random.Generator) -> tuple[NDArray[np.uint8], list[str], tuple[int, ...]]:
    """A flat ID-1 card: pale guilloche ground, portrait, text, a 3-line MRZ; and the MRZ box."""
    w, h = CARD
    tint = rng.integers(205, 235, 3)
    yy, xx = np.mgrid[0:h, 0:w]
    waves = 12 * np.sin(xx / rng.uniform(9, 15) + 6 * np.sin(yy / rng.uniform(30, 60)))
    ground = np.clip(tint[None, None, :] + waves[..., None], 0, 255).astype(np.uint8)
    image = Image.fromarray(ground)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 90, 290, 400), fill=tuple(int(v) for v in rng.integers(90, 160, 3)))
    small = ImageFont.truetype(FONT, 30)
    for row in range(5):
        word = "".join(rng.choice(list(string.ascii_uppercase), int(rng.integers(5, 14))))
        draw.text((330, 100 + 55 * row), word, font=small, fill=(30, 30, 40))
    mrz_font = ImageFont.truetype(FONT, 42)
    lines = ["".join(rng.choice(list(MRZ_CHARS), 30)) for _ in range(3)]
    for row, line in enumerate(lines):
        draw.text((50, 460 + 50 * row), line, font=mrz_font, fill=(15, 15, 20))
    x0, y0, x1, y1 = draw.multiline_textbbox((50, 460), "\n".join(lines), font=mrz_font, spacing=8)
    box = (round(x0), round(y0), round(x1 - x0), round(y1 - y0))
    return np.asarray(image, np.uint8)[..., ::-1].copy(), lines, box


def photograph(
    card: NDArray[np.uint8],
    rng: np.random.Generator,
    *,
    width: int,
    blur: float = 0.0,
    gain: float = 1.0,
    glare_at: tuple[float, float] | None = None,
    glare_radius: float = 0.0,
    frame_share: float = 0.8,
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """Card on a desk: `width` px wide, blur sigma in 300-dpi card pixels, light gain, glare."""
    scale = width / CARD[0]
    frame_w = round(width / frame_share)
    frame_h = round(frame_w * 0.75)
    desk = rng.integers(40, 80, (frame_h, frame_w, 3)).astype(np.uint8)
    desk = cv2.GaussianBlur(desk, (0, 0), 3)
    ox, oy = (frame_w - width) / 2, (frame_h - CARD[1] * scale) / 2
    src = np.array([[0, 0], [CARD[0], 0], [CARD[0], CARD[1]], [0, CARD[1]]], np.float32)
    dst = src * scale + np.array([ox, oy], np.float32)
    dst += rng.uniform(-0.03, 0.03, (4, 2)).astype(np.float32) * width
    matrix = cv2.getPerspectiveTransform(src, dst)
    flat = cv2.warpPerspective(card, matrix, (frame_w, frame_h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.ones(card.shape[:2], np.uint8), matrix, (frame_w, frame_h))
    photo = np.where(mask[..., None] > 0, flat, desk).astype(np.float32)
    if blur > 0:
        photo = cv2.GaussianBlur(photo, (0, 0), blur * scale)
    # Under-exposure scales everything down; over-exposure (with lens flare) lifts everything
    # towards white, print included, which is what washes the characters out.
    photo = photo * gain if gain <= 1 else 255 - (255 - photo) / gain
    if glare_at is not None:
        centre = cv2.perspectiveTransform(np.array([[glare_at]], np.float32), matrix)[0, 0]
        yy, xx = np.mgrid[0:frame_h, 0:frame_w]
        dist = np.hypot(xx - centre[0], yy - centre[1]) / (glare_radius * scale)
        photo += 400 * np.clip(1.3 - dist, 0, 1)[..., None]
    photo += rng.normal(0, 3, photo.shape)
    pixels = np.clip(photo, 0, 255).astype(np.uint8)
    _, jpeg = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), np.uint8), order_corners(dst)


def quad_of(corners: NDArray[np.float32], image: NDArray[np.uint8]) -> DocumentQuad:
    area = float(cv2.contourArea(corners)) / (image.shape[0] * image.shape[1])
    return DocumentQuad(corners, area, "edges")


def mrz_accuracy(
    image: NDArray[np.uint8], quad: DocumentQuad, lines: list[str], box: tuple[int, ...]
) -> float:
    flat = warp_document(image, quad.corners, "ID1")
    x, y, w, h = box
    band = cv2.cvtColor(flat[y - 15 : y + h + 15, x - 15 : x + w + 15], cv2.COLOR_BGR2GRAY)
    text = pytesseract.image_to_string(
        band, config="--psm 6 -c tessedit_char_whitelist=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
    )
    read = "".join(text.split())
    return difflib.SequenceMatcher(None, read, "".join(lines)).ratio()


def box_in_photo(box: tuple[int, ...], corners: NDArray[np.float32]) -> tuple[int, int, int, int]:
    src = np.array([[0, 0], [CARD[0], 0], [CARD[0], CARD[1]], [0, CARD[1]]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, corners)
    x, y, w, h = box
    pts = np.array([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]], np.float32)
    bx, by, bw, bh = cv2.boundingRect(cv2.perspectiveTransform(pts, matrix))
    return int(bx), int(by), int(bw), int(bh)


def blur_table(seeds: int) -> None:
    print("## blur: measured blur_sigma (mean [min-max]) and Tesseract MRZ accuracy")
    print("width_px  true_sigma  blur_sigma            mrz_accuracy")
    for width in (500, 1000, 2000):
        for sigma in (0.0, 1.0, 2.0, 2.5, 3.0, 3.5, 4.0):
            measured, accuracy = [], []
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                card, lines, box = make_card(rng)
                photo, corners = photograph(card, rng, width=width, blur=sigma)
                quad = quad_of(corners, photo)
                measured.append(assess_quality(photo, document_quad=quad).metrics["blur_sigma"])
                accuracy.append(mrz_accuracy(photo, quad, lines, box))
            print(
                f"{width:8d}  {sigma:10.1f}  {np.mean(measured):5.2f} "
                f"[{min(measured):.2f}-{max(measured):.2f}]   {np.mean(accuracy):.3f} "
                f"(min {min(accuracy):.3f})"
            )


def exposure_table(seeds: int) -> None:
    print("## exposure: gain on the whole photo")
    print("gain   paper_p95  ink_p1  clipped  findings")
    for gain in (0.15, 0.25, 0.35, 0.5, 1.0, 1.4, 1.8, 2.5, 3.5):
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            card, _, _ = make_card(rng)
            photo, corners = photograph(card, rng, width=1000, gain=gain)
            report = assess_quality(photo, document_quad=quad_of(corners, photo))
            m = report.metrics
            codes = [f.code for f in report.findings if f.code.startswith("image_")]
            print(
                f"{gain:4.2f}  {m['paper_level']:9.1f}  {m['ink_level']:6.1f}  "
                f"{m['clipped_share']:7.3f}  {codes}"
            )


def glare_table(seeds: int) -> None:
    print("## glare: a reflection of the given radius (300-dpi card px) on the MRZ or the portrait")
    print("where     radius  glare_share  glare_on_mrz_share  codes")
    for where, spot in (("mrz", (500.0, 530.0)), ("portrait", (165.0, 245.0))):
        for radius in (0.0, 15.0, 30.0, 60.0, 100.0):
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                card, _, box = make_card(rng)
                photo, corners = photograph(
                    card, rng, width=1000, glare_at=spot if radius else None, glare_radius=radius
                )
                report = assess_quality(
                    photo, document_quad=quad_of(corners, photo), mrz_box=box_in_photo(box, corners)
                )
                m = report.metrics
                print(
                    f"{where:8s}  {radius:6.0f}  {m['glare_share']:11.4f}  "
                    f"{m['glare_on_mrz_share']:18.4f}  {[f.code for f in report.findings]}"
                )


def framing_table() -> None:
    print("## framing: card width as a share of the frame width")
    print("frame_share  area_share  codes")
    for share in (0.25, 0.4, 0.5, 0.6, 0.8):
        rng = np.random.default_rng(0)
        card, _, _ = make_card(rng)
        photo, _ = photograph(card, rng, width=1000, frame_share=share)
        quad = find_document_quad(photo)
        report = assess_quality(photo, document_quad=quad)
        area = report.metrics.get("document_area_share", float("nan"))
        print(f"{share:11.2f}  {area:10.3f}  {[f.code for f in report.findings]}")


def specimen_table(folder: Path) -> None:
    print("## real specimens (all readable): every metric, every finding")
    for path in sorted(folder.glob("*.*")):
        if path.suffix == ".md":
            continue
        image = np.asarray(Image.open(path).convert("RGB"))[..., ::-1].copy()
        quad = find_document_quad(image)
        bands = find_mrz_bands(image, char_height=0.02)
        box = bands[0].box if bands else None
        report = assess_quality(image, document_quad=quad, mrz_box=box)
        metrics = " ".join(f"{k}={v:.3f}" for k, v in report.metrics.items())
        findings = [(f.code, f.severity) for f in report.findings]
        print(f"{path.name:22s} quad={quad is not None!s:5s} {metrics}\n    {findings}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--specimens", type=Path, default=Path("../shared/samples/specimens"))
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    blur_table(args.seeds)
    exposure_table(args.seeds)
    glare_table(args.seeds)
    framing_table()
    if args.specimens.is_dir():
        specimen_table(args.specimens)


if __name__ == "__main__":
    main()
