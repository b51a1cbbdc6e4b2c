"""Recapture and edit signals: each fires on its attack and stays quiet on genuine photos.

Attacks are made in code (processing.samples.attacks); genuine stand-ins are generated documents
photographed on a table, and the real specimen and face photos of ../shared (skipped without it).
The last part judges whole verifications: the attacks made from a genuine stand-in (an unmarked
document with a real face, tests/support/stand_ins.py) are refused with document_unverified_other.
Rates and thresholds: docs/authenticity.md, measured by scripts/measure_recapture.py.
"""

from __future__ import annotations

import functools
import io
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from processing.authenticity import AuthenticitySignal
from processing.authenticity.edits import (
    compression_inconsistency,
    editing_software,
    editor_named,
)
from processing.authenticity.recapture import (
    photocopy,
    recapture_and_edit_signals,
    screen_recapture,
)
from processing.load import load_image
from processing.locate import warp_to
from processing.model_files import YUNET_FILE
from processing.samples import Kind, SampleDocument, attacks, make_document, photograph
from processing.samples.portrait import load_face
from processing.verify import ProvidedDetails, SignalCheck, Verdict, VerifyOptions, verify
from tests.support.shared import SHARED
from tests.support.stand_ins import stand_in

Picture = NDArray[np.uint8]
SPECIMENS = SHARED / "samples" / "specimens"
FACES = SHARED / "samples" / "faces"
YUNET = SHARED / "models" / YUNET_FILE
TODAY = date(2026, 11, 25)
RECAPTURE_AND_EDITS = {
    "screen_recapture",
    "photocopy",
    "editing_software",
    "compression_inconsistency",
}
needs_faces = pytest.mark.skipif(
    not (FACES.is_dir() and YUNET.is_file()), reason="shared face photos or YuNet model absent"
)
# Files whose own metadata says an image editor saved them (read with exiftool-like eyes: EXIF
# Software or XMP CreatorTool "Adobe Photoshop ..."): published images, not camera originals.
SAVED_BY_PHOTOSHOP = {
    "0_id-esp.png",
    "100_pass-chn.jpg",
    "100_visa-usa.jpg",
    "kit_with_rose.jpg",
    "alex_lacamoire1.jpg",
    "biden.jpg",
    "obama.jpg",
    "obama2.jpg",
    "obama3.jpg",
}
# The one real specimen that is a black-and-white card back (no portrait, no colour printed).
BLACK_AND_WHITE_BACKS = {"77_card-cmw.png"}
# two_people.jpg is two press photos put side by side: each half keeps its own JPEG grid.
# obama.jpg and obama2.jpg went through Photoshop (their XMP history) and were saved again with
# part of an older grid at another offset. The check is right about all three files.
COMPOSED_OR_RESAVED = {"two_people.jpg", "obama.jpg", "obama2.jpg"}


def _real(folder: Path) -> list[Path]:
    if not folder.is_dir():
        pytest.skip(f"{folder} is not available")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


@functools.cache
def _front(kind: Kind, seed: int = 1) -> Picture:
    return make_document(kind, seed).front


@functools.cache
def _photographed(kind: Kind, seed: int = 1) -> bytes:
    """A generated front photographed on a table: the genuine stand-in, as the phone sends it."""
    shot, _ = photograph(_front(kind, seed), np.random.default_rng(seed))
    return attacks.jpeg(shot, 90)


def _loaded(data: bytes) -> Picture:
    return load_image(data, min_side=150, max_side=3000).image


def _photographed_flat(document: Picture, rng: np.random.Generator) -> tuple[bytes, Picture]:
    """`document` photographed on a table (JPEG), and it cut out again along its true outline,
    as the pipeline does when it finds the outline."""
    shot, info = photograph(document, rng, strength=0.5)
    raw = attacks.jpeg(shot, 88)
    corners = np.array(info["corners"], np.float32)
    height, width = document.shape[:2]
    return raw, warp_to(_loaded(raw), corners, (width, height))


def _assert_fired(signal: AuthenticitySignal) -> None:
    assert signal.fired, signal
    assert signal.reason


def _assert_quiet(signal: AuthenticitySignal, label: str) -> None:
    assert not signal.fired, (label, signal)
    assert signal.reason is None


# --- screen recapture -------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "ratio", "angle"), [("td3", 1.3, 2.0), ("td1", 2.5, -3.0)])
def test_screen_recapture_fires_on_a_document_photographed_off_a_screen(
    kind: Kind, ratio: float, angle: float
) -> None:
    rng = np.random.default_rng(5)
    shot = attacks.screen_photo(
        _front(kind), rng, camera_px_per_screen_px=ratio, angle_deg=angle, bands=0.06
    )
    _assert_fired(screen_recapture(_loaded(attacks.jpeg(shot, 90))))


def test_screen_recapture_fires_on_a_real_specimen_shown_on_a_screen() -> None:
    specimen = SPECIMENS / "100_pass-bdr.jpg"
    if not specimen.is_file():
        pytest.skip("the shared specimens are not available")
    shot = attacks.screen_photo(
        _loaded(specimen.read_bytes()), np.random.default_rng(2), camera_px_per_screen_px=1.8
    )
    _assert_fired(screen_recapture(_loaded(attacks.jpeg(shot, 92))))


@pytest.mark.parametrize("kind", ["td3", "td1", "td2", "dl"])
def test_screen_recapture_is_quiet_on_a_document_photographed_directly(kind: Kind) -> None:
    _assert_quiet(screen_recapture(_loaded(_photographed(kind))), kind)


@pytest.mark.parametrize("folder", [SPECIMENS, FACES], ids=["specimens", "faces"])
def test_screen_recapture_is_quiet_on_real_photos_and_scans(folder: Path) -> None:
    for path in _real(folder):
        _assert_quiet(screen_recapture(_loaded(path.read_bytes())), path.name)


# --- photocopy or printout --------------------------------------------------------------------


@pytest.mark.parametrize("halftone", [True, False], ids=["halftone", "toner-grain"])
def test_photocopy_fires_on_a_black_and_white_copy(halftone: bool) -> None:
    copy = attacks.photocopy(_front("td3"), np.random.default_rng(3), halftone=halftone)
    _assert_fired(photocopy(copy))


def test_photocopy_fires_on_a_copy_photographed_on_a_table() -> None:
    rng = np.random.default_rng(4)
    _, flat = _photographed_flat(attacks.photocopy(_front("td1"), rng), rng)
    _assert_fired(photocopy(flat))


@pytest.mark.parametrize("kind", ["td3", "td1", "td2", "dl"])
def test_photocopy_is_quiet_on_a_colour_document_photographed(kind: Kind) -> None:
    _, flat = _photographed_flat(_front(kind), np.random.default_rng(6))
    _assert_quiet(photocopy(flat), kind)


def test_photocopy_is_quiet_on_real_specimens_with_a_portrait() -> None:
    for path in _real(SPECIMENS):
        if path.name not in BLACK_AND_WHITE_BACKS:
            _assert_quiet(photocopy(_loaded(path.read_bytes())), path.name)


def test_a_back_side_is_not_judged_for_colour() -> None:
    """A licence back is black print on a pale ground: only the portrait side must be colour."""
    copy = attacks.photocopy(_front("dl"), np.random.default_rng(1))
    raw = attacks.jpeg(copy, 90)
    names = [s.name for s in recapture_and_edit_signals(raw, copy, copy, portrait_side=False)]
    assert "photocopy" not in names
    front = recapture_and_edit_signals(raw, copy, copy, portrait_side=True)
    _assert_fired(next(s for s in front if s.name == "photocopy"))


# --- digital edits: editing software ----------------------------------------------------------


@pytest.mark.parametrize(
    "software",
    ["Adobe Photoshop 25.0 (Windows)", "GIMP 2.10.36", "Snapseed 2.0", "PicsArt", "Canva"],
)
def test_editing_software_alone_is_reported_but_does_not_refuse(software: str) -> None:
    """An editor's save without a pasted patch: 9 genuine published images measured are that."""
    signal = editing_software(attacks.with_software(_photographed("td3"), software))
    assert signal.fired and not signal.refusing
    assert signal.reason is not None and software[:20] in signal.reason


def test_editing_software_refuses_when_the_pixels_back_it() -> None:
    edited = attacks.with_software(_photographed("td3"), "Adobe Photoshop 25.0 (Windows)")
    signal = editing_software(edited, pasted=True)
    _assert_fired(signal)
    assert signal.refusing
    _assert_quiet(editing_software(_photographed("td3"), pasted=True), "no editor named")


def test_editing_software_reads_png_text_xmp_and_jpeg_comments() -> None:
    image = Image.new("RGB", (600, 400), (200, 180, 160))
    out = io.BytesIO()
    info = PngInfo()
    info.add_text("Software", "GIMP 2.10")
    image.save(out, "PNG", pnginfo=info)
    assert editor_named(out.getvalue()) == "GIMP 2.10"
    xmp = b'<x:xmpmeta><rdf:Description xmp:CreatorTool="Picsart Photo Studio"/></x:xmpmeta>'
    out = io.BytesIO()
    image.save(out, "JPEG", xmp=xmp)
    assert editor_named(out.getvalue()) == "Picsart Photo Studio"
    out = io.BytesIO()
    image.save(out, "JPEG", comment=b"Created with GIMP")  # GIMP's JPEG comment by default
    assert editor_named(out.getvalue()) == "Created with GIMP"


@pytest.mark.parametrize(
    "software", ["iPhone 15 Pro 17.1.2", "G991BXXU5CVK1", "HDR+ 1.0.5", "HTML5 canvas export"]
)
def test_editing_software_is_quiet_on_camera_firmware(software: str) -> None:
    _assert_quiet(editing_software(attacks.with_software(_photographed("td1"), software)), software)


def test_editing_software_is_quiet_on_files_without_metadata_or_not_images() -> None:
    _assert_quiet(editing_software(_photographed("dl")), "no metadata")
    _assert_quiet(editing_software(b"not an image at all"), "garbage")


def test_editing_software_names_exactly_the_real_files_an_editor_saved() -> None:
    named = {
        path.name for path in _real(SPECIMENS) + _real(FACES) if editor_named(path.read_bytes())
    }
    assert named == SAVED_BY_PHOTOSHOP


def test_editing_software_never_refuses_a_real_specimen() -> None:
    """Three of them were saved by Photoshop; none has a patch of another grid to back it."""
    for path in _real(SPECIMENS):
        raw = path.read_bytes()
        signal = editing_software(raw, pasted=compression_inconsistency(raw).fired)
        assert not (signal.fired and signal.refusing), (path.name, signal)


# --- digital edits: regions compressed differently --------------------------------------------


def _portrait_patch(width: int) -> Picture:
    """A face-like patch from another document's portrait area: skin tones and edges."""
    source = _front("td2", 7)
    patch = source[150:650, 100:480]
    return np.asarray(
        np.ascontiguousarray(
            np.asarray(Image.fromarray(patch).resize((width, width * 13 // 10)), np.uint8)
        ),
        np.uint8,
    )


@pytest.mark.parametrize(("kind", "quality"), [("td3", 55), ("td1", 70)])
def test_compression_inconsistency_fires_on_a_pasted_portrait(kind: Kind, quality: int) -> None:
    photo = _photographed(kind)
    height, width = attacks.decode(photo).shape[:2]
    forged = attacks.paste_jpeg_region(
        photo,
        _portrait_patch(width // 5),
        (width * 2 // 5 + 3, height * 2 // 5 + 5),
        patch_quality=quality,
        final_quality=92,
    )
    _assert_fired(compression_inconsistency(forged))


def test_compression_inconsistency_fires_on_a_text_block_pasted_from_another_image() -> None:
    photo = _photographed("td3")
    height, width = attacks.decode(photo).shape[:2]
    box = (width * 3 // 10 + 3, height * 45 // 100 + 5, width // 3, height // 20)
    forged = attacks.paste_text_block(
        photo, "MUSTERMANN ERIKA", box, final_quality=92, source_quality=60
    )
    _assert_fired(compression_inconsistency(forged))


@pytest.mark.parametrize("kind", ["td3", "td1", "td2", "dl"])
def test_compression_inconsistency_is_quiet_on_an_unedited_photo(kind: Kind) -> None:
    _assert_quiet(compression_inconsistency(_photographed(kind)), kind)


def test_compression_inconsistency_is_quiet_on_real_photos_not_composed() -> None:
    for path in _real(SPECIMENS) + _real(FACES):
        if path.name not in COMPOSED_OR_RESAVED:
            _assert_quiet(compression_inconsistency(path.read_bytes()), path.name)


def test_compression_inconsistency_is_quiet_on_what_has_no_jpeg_grid() -> None:
    """A PNG, a cut-off JPEG, a tiny one or no image at all: nothing to compare, score 0."""
    photo = _photographed("td1")
    out = io.BytesIO()
    Image.fromarray(attacks.decode(photo)[..., ::-1]).save(out, "PNG")
    for label, data in [
        ("png", out.getvalue()),
        ("cut off", photo[: len(photo) // 3]),
        ("tiny", attacks.jpeg(np.full((60, 90, 3), 128, np.uint8), 50)),
        ("garbage", b"\xff\xd8 not really a jpeg"),
    ]:
        signal = compression_inconsistency(data)
        _assert_quiet(signal, label)
        assert signal.score == 0 or label == "cut off", (label, signal)


def test_compression_inconsistency_sees_the_two_photos_in_a_composite() -> None:
    composite = FACES / "_multiple_or_partial" / "two_people.jpg"
    if not composite.is_file():
        pytest.skip("the shared faces are not available")
    _assert_fired(compression_inconsistency(composite.read_bytes()))


# --- the hook ---------------------------------------------------------------------------------


def test_recapture_and_edit_signals_reports_every_signal_quiet_on_a_genuine_photo() -> None:
    raw, flat = _photographed_flat(_front("td3"), np.random.default_rng(8))
    image = _loaded(raw)
    signals = recapture_and_edit_signals(raw, image, flat)
    assert [s.name for s in signals] == [
        "screen_recapture",
        "photocopy",
        "editing_software",
        "compression_inconsistency",
    ]
    assert not any(s.fired for s in signals), signals
    without_document = recapture_and_edit_signals(raw, image, None)
    assert "photocopy" not in [s.name for s in without_document]


# --- in the verdict ---------------------------------------------------------------------------


@functools.cache
def _genuine(kind: Kind) -> SampleDocument:
    return stand_in(kind, 3, today=TODAY)


def _verify_live(front: bytes, document: SampleDocument) -> Verdict:
    """Verified live, claiming the document's own printed details."""
    holder = document.truth_front["holder"]
    claims = ProvidedDetails(
        first_name=holder["given_names"].split()[0],
        last_name=holder["surname"],
        dob=date.fromisoformat(holder["birth_date"]),
    )
    return verify(front, None, None, VerifyOptions(), claims, today=TODAY, detector_model=YUNET)


def _signals(verdict: Verdict) -> dict[str, SignalCheck]:
    return {s.name: s for s in verdict.report.document.authenticity}


def _assert_refused(verdict: Verdict, signal: str, words: str) -> None:
    assert verdict.status == "requires_input"
    assert verdict.last_error is not None
    assert verdict.last_error.code == "document_unverified_other", verdict.last_error
    assert words in verdict.last_error.reason, verdict.last_error
    check = _signals(verdict)[signal]
    assert check.fired and not check.waived and check.reason == verdict.last_error.reason


@needs_faces
@pytest.mark.parametrize(("kind", "photographed"), [("td3", True), ("td2", True), ("td3", False)])
def test_a_genuine_stand_in_verifies_with_every_recapture_and_edit_signal_reported(
    kind: Kind, photographed: bool
) -> None:
    """Photographed on a table, or a clean scan (whose square print the compression signal may
    report: it never refuses on its own)."""
    document = _genuine(kind)
    side = document.front
    if photographed:
        side = photograph(side, np.random.default_rng(11))[0]
    verdict = _verify_live(attacks.jpeg(side, 90), document)
    assert verdict.status == "verified", verdict.last_error
    signals = _signals(verdict)
    assert set(signals) >= RECAPTURE_AND_EDITS
    assert not [s for s in signals.values() if s.fired and not s.waived]
    for name in ("screen_recapture", "photocopy", "editing_software"):
        assert not signals[name].fired and signals[name].reason is None, signals[name]


@needs_faces
def test_a_photo_saved_by_an_editor_verifies_with_the_editor_reported() -> None:
    document = _genuine("td3")
    # Not seed 12: that photograph's MRZ reads JDERGENSEN for JOERGENSEN since the band's
    # Tesseract model changed (a name misread refuses; this test is about the editor).
    shot, _ = photograph(document.front, np.random.default_rng(13))
    saved = attacks.with_software(attacks.jpeg(shot, 90), "Adobe Photoshop 25.0")
    verdict = _verify_live(saved, document)
    assert verdict.status == "verified", verdict.last_error
    noted = _signals(verdict)["editing_software"]
    assert noted.fired and noted.waived
    assert noted.reason is not None and "Adobe Photoshop" in noted.reason


@needs_faces
def test_a_stand_in_photographed_off_a_screen_is_refused() -> None:
    document = _genuine("td3")
    shot = attacks.screen_photo(
        document.front, np.random.default_rng(5), camera_px_per_screen_px=1.3, angle_deg=2.0
    )
    verdict = _verify_live(attacks.jpeg(shot, 90), document)
    _assert_refused(verdict, "screen_recapture", "photo of a screen")


@needs_faces
def test_a_black_and_white_copy_of_a_stand_in_is_refused() -> None:
    document = _genuine("td3")
    copy = attacks.photocopy(document.front, np.random.default_rng(3))
    verdict = _verify_live(attacks.jpeg(copy, 92), document)
    _assert_refused(verdict, "photocopy", "no colour")


@needs_faces
def test_a_stand_in_with_another_face_pasted_in_an_editor_is_refused() -> None:
    document = _genuine("td3")
    photo = attacks.jpeg(document.front, 92)
    height, width = document.front.shape[:2]
    face = np.asarray(load_face(FACES / "biden" / "biden.jpg").convert("RGB"))[..., ::-1]
    patch = np.ascontiguousarray(face[: face.shape[1] * 13 // 10])
    patch = np.asarray(Image.fromarray(patch).resize((width // 5, width // 5 * 13 // 10)))
    forged = attacks.paste_jpeg_region(
        photo, patch, (width * 2 // 5 + 3, height * 2 // 5 + 5), patch_quality=60, final_quality=92
    )
    verdict = _verify_live(attacks.with_software(forged, "Adobe Photoshop 25.0"), document)
    _assert_refused(verdict, "editing_software", "compressed separately")
    pasted = _signals(verdict)["compression_inconsistency"]
    assert pasted.fired and pasted.waived  # reported; the editor's name makes it count


@needs_faces
def test_test_mode_accepts_a_sample_shown_on_a_screen_and_live_mode_refuses_it() -> None:
    """QA points the phone at the sample on its screen; only the generator's own documents."""
    document = make_document("td3", 4, today=TODAY)
    shot = attacks.screen_photo(
        document.front,
        np.random.default_rng(5),
        screen_width=1400,
        camera_px_per_screen_px=1.8,
        bands=0.03,
    )
    photo = attacks.jpeg(shot, 92)
    live = _verify_live(photo, document)
    _assert_refused(live, "generated", "generator")
    assert _signals(live)["screen_recapture"].fired
    holder = document.truth_front["holder"]
    claims = ProvidedDetails(holder["given_names"].split()[0], holder["surname"])
    test = verify(photo, None, None, VerifyOptions(accept_generated=True), claims, today=TODAY)
    assert test.status == "verified", test.last_error
    screen = _signals(test)["screen_recapture"]
    assert screen.fired and screen.waived
