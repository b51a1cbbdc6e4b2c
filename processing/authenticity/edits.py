"""Was the photo edited on a computer or phone before it was uploaded?

Two independent traces, each its own signal:

- `editing_software`: the file's own metadata (EXIF Software, PNG text, XMP creator and history)
  names an image editor. Cameras and phones write their firmware there; editors write themselves.
  Published images are often saved by an editor without being forged (9 of 60 genuine files
  measured), so a named editor alone is reported, not refused: it refuses only when the pixels
  back it (the compression signal below fired on the same file).
- `compression_inconsistency`: a JPEG is compressed in 8 x 8 blocks, and every save leaves a faint
  grid of block edges. A region pasted from another JPEG brings its own grid, shifted against the
  photo's: cells whose grid sits at another offset than the rest, side by side, are a paste.
  Axis-aligned print (a clean scan, a photo taken square-on) can look the same, so this too is
  only reported by itself.

Thresholds and the rates behind them: docs/authenticity.md.
"""

from __future__ import annotations

import io
import re
import warnings

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from processing.authenticity.signal import AuthenticitySignal

Picture = NDArray[np.uint8]

# Names as editors write them into metadata (whole words, any case); a camera or phone writes
# its firmware there instead.
EDITORS = (
    "photoshop",
    "imageready",
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "canva",
    "pixlr",
    "photopea",
    "affinity photo",
    "paint.net",
    "paintshop",
    "pixelmator",
    "krita",
    "facetune",
    "faceapp",
    "fotor",
    "befunky",
    "meitu",
    "photodirector",
    "airbrush",
    "photoroom",
    "inshot",
    "remini",
)
_SOFTWARE_TAGS = (0x0131, 0x000B)  # EXIF Software, ProcessingSoftware
_XMP_TOOL = re.compile(rb"(?:CreatorTool|softwareAgent)(?:=\"|>)([^\"<]{1,200})", re.IGNORECASE)
_METADATA_ERRORS = (OSError, ValueError, SyntaxError, TypeError, KeyError, IndexError)

GRID_THRESHOLD = 10.0  # cells in the largest patch with its own block grid; docs/authenticity.md

_GRID_CELL = 32  # block-grid cells, in pixels of the (half-size) decoded JPEG
_GRID_CLIP = 24  # neighbour differences above this are edges of the content, not of blocks
_GRID_MIN_SHARE = 0.15  # a grid: its offset's jump this share of the mean jump above the median
_GRID_MIN_LEVELS = 0.4  # ... and this many grey levels above it (flat areas barely jump at all)
_HALF_DECODE_PIXELS = 4_000_000  # above this, decode the JPEG at half size (its grid: 4 px)


def _metadata_texts(raw: bytes) -> list[str]:
    """Every place a file names the program that wrote it; nothing is decoded but the headers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            image = Image.open(io.BytesIO(raw))
        except (UnidentifiedImageError, *_METADATA_ERRORS):
            return []
        with image:
            texts: list[str] = []
            try:
                exif = image.getexif()
                texts.extend(str(exif.get(tag, "")) for tag in _SOFTWARE_TAGS)
            except _METADATA_ERRORS:
                pass
            for key in ("Software", "software", "comment", "Comment"):
                value = image.info.get(key)
                if isinstance(value, bytes | str):
                    texts.append(value.decode("latin-1") if isinstance(value, bytes) else value)
            xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
            if isinstance(xmp, str):
                xmp = xmp.encode("utf-8", "replace")
            if isinstance(xmp, bytes):
                texts.extend(m.decode("latin-1") for m in _XMP_TOOL.findall(xmp))
    return [text.strip("\x00 ") for text in texts if text and text.strip("\x00 ")]


_EDITOR_NAME = re.compile(
    r"\b(?:" + "|".join(re.escape(name) for name in EDITORS) + r")\b", re.IGNORECASE
)


def editor_named(raw: bytes) -> str | None:
    """The first metadata text that names an image editor, or None."""
    return next((text for text in _metadata_texts(raw) if _EDITOR_NAME.search(text)), None)


def editing_software(raw: bytes, *, pasted: bool = False) -> AuthenticitySignal:
    """Fires when the file's metadata names an image editor; refuses only when the pixels back
    it (`pasted`: the compression signal fired on the same file). An editor's save alone is no
    forgery, and a patch of another grid alone is too common on genuine photos (docs)."""
    named = editor_named(raw)
    if named is None:
        return AuthenticitySignal("editing_software", 0.0, 1.0)
    if pasted:
        return AuthenticitySignal(
            "editing_software",
            1.0,
            1.0,
            f"The photo file was saved by an image editor ({named[:60]}) and part of it was "
            "compressed separately from the rest: it was edited. "
            "Upload the photo as the camera took it, without editing it.",
        )
    return AuthenticitySignal(
        "editing_software",
        1.0,
        1.0,
        f"The photo file was saved by an image editor ({named[:60]}); nothing in its pixels "
        "shows an edit, so this alone is only reported.",
        refusing=False,
    )


def _largest_patch(mask: NDArray[np.bool_]) -> int:
    """Cells in the largest 4-connected group of flagged cells."""
    if not mask.any():
        return 0
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    return int(stats[1:count, cv2.CC_STAT_AREA].max()) if count > 1 else 0


def _decode_grey(raw: bytes) -> tuple[Picture, int] | None:
    """The JPEG's pixels in stored orientation (the grid is the file's), and the block size seen."""
    if not raw.startswith(b"\xff\xd8"):
        return None
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            width, height = probe.size
    except (UnidentifiedImageError, *_METADATA_ERRORS):
        return None
    flags, block = cv2.IMREAD_GRAYSCALE, 8
    if width * height > _HALF_DECODE_PIXELS:
        # The decoder scales each 8 x 8 block to 4 x 4 on its own: the grid stays, halved.
        flags, block = cv2.IMREAD_REDUCED_GRAYSCALE_2, 4
    grey = cv2.imdecode(np.frombuffer(raw, np.uint8), flags | cv2.IMREAD_IGNORE_ORIENTATION)
    return (np.asarray(grey, np.uint8), block) if grey is not None else None


def _offset_jumps(grey: Picture, block: int, axis: int) -> NDArray[np.float32]:
    """Per cell and per offset within the block, the mean jump between neighbouring pixels.

    Shape (rows, cols, block); `axis` 1 compares each column with the one before it. Jumps are
    clipped: a sharp edge of the content is not a block's edge.
    """
    cell = _GRID_CELL
    rows, cols = grey.shape[0] // cell, grey.shape[1] // cell
    trimmed = grey[: rows * cell, : cols * cell]
    if axis == 1:
        jump = np.pad(cv2.absdiff(trimmed[:, 1:], trimmed[:, :-1]), ((0, 0), (1, 0)))
    else:
        jump = np.pad(cv2.absdiff(trimmed[1:], trimmed[:-1]), ((1, 0), (0, 0)))
    np.minimum(jump, _GRID_CLIP, out=jump)
    jump_f = jump.astype(np.float32)
    height, width = jump.shape
    if axis == 1:  # average over each cell's rows (OpenCV's area resize), then fold the columns
        by_rows = cv2.resize(jump_f, (width, rows), interpolation=cv2.INTER_AREA)
        return np.asarray(by_rows.reshape(rows, cols, cell // block, block).mean(axis=2))
    by_cols = cv2.resize(jump_f, (cols, height), interpolation=cv2.INTER_AREA)
    folded = by_cols.reshape(rows, cell // block, block, cols).mean(axis=1)
    return np.ascontiguousarray(folded.transpose(0, 2, 1))


def grid_patch(raw: bytes) -> int:
    """Cells in the largest patch whose block grid sits at one other offset than the photo's.

    Per cell and offset: how far the offset's mean jump stands above the cell's median jump, as a
    share of its mean jump and in grey levels, averaged over 3 x 3 cells so that a patch's grid
    outweighs the content's edges. A cell is in a patch when its strongest offsets (across and
    down) both stand out and are not both the photo's; a patch is 4-connected cells with the same
    pair of offsets.
    """
    decoded = _decode_grey(raw)
    if decoded is None:
        return 0
    grey, block = decoded
    if min(grey.shape) < 4 * _GRID_CELL:
        return 0
    offsets, strong, foreign = [], [], []
    for axis in (0, 1):
        jumps = _offset_jumps(grey, block, axis)  # (rows, cols, block)
        photo_offset = int(np.argmax(jumps.sum(axis=(0, 1))))
        above = jumps - np.median(jumps, axis=2, keepdims=True)
        share = cv2.blur(above / (jumps.mean(axis=2, keepdims=True) + 0.5), (3, 3))
        levels = cv2.blur(above, (3, 3))
        offset = np.argmax(share, axis=2)
        picked = np.take_along_axis(levels, offset[..., None], axis=2)[..., 0]
        offsets.append(offset)
        strong.append((share.max(axis=2) > _GRID_MIN_SHARE) & (picked > _GRID_MIN_LEVELS))
        foreign.append(offset != photo_offset)
    in_patch = strong[0] & strong[1] & (foreign[0] | foreign[1])
    label = np.where(in_patch, offsets[0] * block + offsets[1], -1)
    values = np.unique(label[label >= 0])
    return max((_largest_patch(label == value) for value in values), default=0)


def compression_inconsistency(raw: bytes) -> AuthenticitySignal:
    """Fires on a patch whose JPEG block grid is not the photo's, as a paste from another image
    leaves. Reported, never refusing by itself: clean renders of documents saved as JPEG reach 55
    cells and squarely photographed ones 37 (axis-aligned print reads as a grid), so only a named
    editor makes it count (`editing_software`)."""
    score = grid_patch(raw)
    fired = score >= GRID_THRESHOLD
    return AuthenticitySignal(
        "compression_inconsistency",
        float(score),
        GRID_THRESHOLD,
        "Part of the photo seems compressed separately from the rest, as when a picture or text "
        "is pasted in; reported for review, not refused on its own."
        if fired
        else None,
        refusing=False,
    )
