"""Is this a photo of a screen, or of a black-and-white copy, rather than of the document itself?

A screen is a grid of red, green and blue sub-pixels. Photographed, the grid either shows directly
or, finer than the camera resolves, folds into moiré; either way it is a strictly periodic pattern,
which the 2-D spectrum shows as isolated peaks far above everything around them at the same
frequency. Paper, print and skin spread their energy over many frequencies. The colour-difference
channels carry the sub-pixel stripes most clearly (R, G and B sit side by side), and they ignore
the black text, whose rows and character pitch are periodic too.

A photocopy or a laser printout in black and white has lost the document's colour: the flattened
document's chroma, measured after removing the light's colour cast, is almost nil, where every
identity document prints colour (backgrounds, flags, the portrait's skin).

Thresholds and the rates behind them: docs/authenticity.md.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.authenticity.edits import compression_inconsistency, editing_software
from processing.authenticity.evidence import Evidence
from processing.authenticity.signal import AuthenticitySignal

Image = NDArray[np.uint8]

SCREEN_THRESHOLD = 3.6  # log10 of a peak over its ring, averaged over tiles; docs/authenticity.md
GREY_THRESHOLD = 0.75  # 1 - chroma spread / 10 CIELAB a*b* units; docs/authenticity.md

_TILE = 256  # FFT tile, at the loaded image's resolution (where the grid is finest)
_TILES_PER_SIDE = 3  # a 3 x 3 grid of tiles over the middle of the photo
_MIN_RADIUS = 6  # spectrum bins: periods longer than 256/6 px are lighting, not a grid
_AXIS_BAND = 1  # bins either side of the axes left out: JPEG's 8 px blocks, text rows, edges
_GREY_SIDE = 400  # the flattened document is judged on a copy this wide: colour is not fine detail
_CHROMA_SPAN = 10.0  # CIELAB a*b* units; a faded colour document still spreads more than this


def _window() -> NDArray[np.float32]:
    hann = np.hanning(_TILE).astype(np.float32)
    return np.outer(hann, hann)


_WINDOW = _window()


def _ring_index() -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Each bin's integer radius in the half spectrum (x frequency >= 0), and the bins searched."""
    fy = np.fft.fftfreq(_TILE, 1.0 / _TILE)[:, None]
    fx = np.arange(_TILE // 2 + 1)[None, :]
    radius = np.rint(np.hypot(fx, fy)).astype(np.int64)
    usable = (
        (radius >= _MIN_RADIUS)
        & (radius < _TILE // 2)
        & (np.abs(fx) > _AXIS_BAND)
        & (np.abs(fy) > _AXIS_BAND)
    )
    return radius, usable


_RADIUS, _USABLE = _ring_index()
_RING = _RADIUS[_USABLE]
_RING_SIZES = np.maximum(np.bincount(_RING, minlength=_TILE // 2), 1)
_NEIGHBOURS = np.ones((3, 3), np.uint8)


def _relative_spectrum(channel: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each bin's log10 power above the mean log10 power of its frequency ring (0 off-search).

    Power spectra of paper, print and noise are close to exponentially distributed within a
    ring: their strongest bin stands about 1.3 above the ring's mean. A periodic grid puts its
    energy in a few bins, thousands of times above their ring. Dilated by one bin, so that the
    same grid seen slightly differently in two tiles still lines up.
    """
    centred = (channel - channel.mean()) * _WINDOW
    spectrum = cv2.dft(centred, flags=cv2.DFT_COMPLEX_OUTPUT)[:, : _TILE // 2 + 1]
    power = spectrum[..., 0] ** 2 + spectrum[..., 1] ** 2
    logs = np.log10(power[_USABLE] + 1e-6)
    ring_mean = np.bincount(_RING, weights=logs, minlength=_TILE // 2) / _RING_SIZES
    relative = np.zeros(power.shape, np.float32)
    relative[_USABLE] = logs - ring_mean[_RING]
    return np.asarray(cv2.dilate(relative, _NEIGHBOURS), np.float32)


def _tiles(image: Image) -> list[Image]:
    """Up to nine full-resolution tiles over the middle of the photo, where the document is."""
    height, width = image.shape[:2]
    if min(height, width) < _TILE:
        return []
    ys = np.linspace(height * 0.2, height * 0.8 - _TILE, _TILES_PER_SIDE)
    xs = np.linspace(width * 0.2, width * 0.8 - _TILE, _TILES_PER_SIDE)
    ys = np.clip(ys, 0, height - _TILE).astype(int)
    xs = np.clip(xs, 0, width - _TILE).astype(int)
    return [image[y : y + _TILE, x : x + _TILE] for y in sorted(set(ys)) for x in sorted(set(xs))]


def screen_score(image: Image) -> float:
    """The strongest colour-channel peak that all nine tiles share (their mean relative spectrum).

    A screen's grid covers the whole frame at one frequency; the fine print of a document peaks
    at other frequencies in each tile, and averaging spreads it out.
    """
    spectra = []
    for tile in _tiles(image):
        blue, green, red = cv2.split(tile.astype(np.float32))
        spectra.append(
            np.maximum(
                _relative_spectrum(red - green), _relative_spectrum(blue - (red + green) / 2)
            )
        )
    if len(spectra) < 2:
        return 0.0
    return float(max(0.0, np.mean(spectra, axis=0).max()))


def screen_recapture(image: Image) -> AuthenticitySignal:
    """Fires on a sub-pixel grid or its moiré: the document was photographed off a screen."""
    score = screen_score(image)
    fired = score >= SCREEN_THRESHOLD
    return AuthenticitySignal(
        "screen_recapture",
        round(score, 3),
        SCREEN_THRESHOLD,
        "This looks like a photo of a screen (its pixel grid shows). "
        "Photograph the document itself, not a picture of it on a screen."
        if fired
        else None,
    )


def chroma_spread(document: Image) -> float:
    """How far the flattened document's colours spread around its own grey (CIELAB a*b* units).

    The 95th percentile of the distance from the median a*b*: the light's colour cast moves the
    median, not the spread; a few coloured specks (dust, the table at a corner) stay under it.
    """
    height, width = document.shape[:2]
    # A margin in from the edges: a loose outline lets in a strip of the table.
    inner = document[height // 20 : height - height // 20, width // 20 : width - width // 20]
    height, width = inner.shape[:2]
    scale = min(1.0, _GREY_SIDE / max(width, 1))
    small = cv2.resize(
        inner,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    lightness = lab[:, 0]
    # Near black and near white, chroma is noise of the camera, not the paper's colour.
    lit = lab[(lightness > 40) & (lightness < 245)]
    if lit.shape[0] < 100:
        lit = lab
    ab = lit[:, 1:] - np.median(lit[:, 1:], axis=0)
    return float(np.percentile(np.hypot(ab[:, 0], ab[:, 1]), 95))


def photocopy(document: Image) -> AuthenticitySignal:
    """Fires when the flattened document has no colour: a black-and-white copy or printout."""
    score = max(0.0, 1.0 - chroma_spread(document) / _CHROMA_SPAN)
    fired = score >= GREY_THRESHOLD
    return AuthenticitySignal(
        "photocopy",
        round(score, 3),
        GREY_THRESHOLD,
        "The document has no colour: this looks like a black-and-white copy or printout. "
        "Photograph the original document."
        if fired
        else None,
    )


def recapture_and_edit_signals(
    raw: bytes, image: Image, flattened: Image | None, *, portrait_side: bool = True
) -> list[AuthenticitySignal]:
    """Every recapture and edit signal for one uploaded side, in a fixed order.

    `raw`: the uploaded file's bytes (metadata, JPEG block grid); `image`: it loaded, upright BGR
    (the screen's pixel grid is finest there); `flattened`: the document cut out and flattened,
    or None when it was not found. The photocopy check needs that cut-out (the table around a
    document would lend it colour) and a side that must be in colour: the portrait side. Backs
    of cards and licences are often black print on a pale ground, so `portrait_side=False`
    leaves it out. A named editor counts only with a pasted patch (`editing_software`).
    """
    signals = [screen_recapture(image)]
    if flattened is not None and portrait_side:
        signals.append(photocopy(flattened))
    pasted = compression_inconsistency(raw)
    signals.append(editing_software(raw, pasted=pasted.fired))
    signals.append(pasted)
    return signals


def _worse(a: AuthenticitySignal, b: AuthenticitySignal) -> AuthenticitySignal:
    """Of one signal on two sides, the one to report: one that refuses, else one that fired,
    else the higher score."""
    return max(a, b, key=lambda s: (s.fired and s.refusing, s.fired, s.score))


def check(evidence: Evidence) -> list[AuthenticitySignal]:
    """Each side's recapture and edit signals, one per name: the worse side's.

    Colour is judged on the side the reader found the portrait on (every document prints that
    side in colour; backs often are not); a side without it leaves the photocopy signal out.
    Nothing is reported without the uploads (a verdict on a reading alone).
    """
    worst: dict[str, AuthenticitySignal] = {}
    for upload in evidence.uploads:
        for signal in recapture_and_edit_signals(
            upload.raw, upload.image, upload.flattened, portrait_side=upload.portrait
        ):
            seen = worst.get(signal.name)
            worst[signal.name] = signal if seen is None else _worse(seen, signal)
    return list(worst.values())
