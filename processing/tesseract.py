"""Tesseract in this process, through its C API: the MRZ band and the printed zone.

The printed zone is read with Debian's English model. The MRZ band is read with a model trained
only on MRZ lines (`processing/mrz/models`, BSD-3-Clause, see its NOTICE): the English model read
filler runs as K's and took names for words (CELIK as GCEEIK), which the MRZ model does not; on
457 photographed and scanned MRZ sides it made 14 more reads exact and 10 fewer misread
(docs/performance.md, change 7).

Starting the `tesseract` program for every read cost a process and the loading of its model
(about 0.15 s of CPU) before it read anything, more than reading an MRZ band itself. An engine
initialised once reads each image with the same library, model and settings as the program run
as `tesseract IMAGE stdout [--tessdata-dir DIR] -l LANGUAGE --oem 1 --psm N -c <VARIABLES>`, on the
same pixels, so its text is the same. Engines are kept for the next read, one per image being
read at the same moment (an engine reads one image at a time), at most `_MAX_READS` reads at
once; ctypes lets other threads run while Tesseract reads, so the glyph templates can read
meanwhile.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import functools
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from processing.errors import OCREngineError
from processing.model_files import shipped_file_problem
from processing.mrz.model import MRZ_ALPHABET

ENGINE_MODE = 1  # --oem 1: the LSTM recogniser


@dataclass(frozen=True)
class Model:
    """A Tesseract language: Debian's (`folder` None: where the `tesseract` program looks) or
    one shipped with idflow, whose bytes are checked before Tesseract loads them."""

    language: str
    folder: Path | None = None
    sha256: str = ""

    @property
    def path(self) -> Path | None:
        return None if self.folder is None else self.folder / f"{self.language}.traineddata"


ENGLISH = Model("eng")
MRZ_MODEL = Model(
    "mrz",
    Path(__file__).resolve().parent / "mrz" / "models",
    "ece2a54f125a73792f9cec74e6f8e62f6e5e00c7f19153ba865af689be5b5f01",
)


@dataclass(frozen=True)
class Settings:
    """How an engine is started: its model, page segmentation mode and `-c` variables (set at
    initialisation, as the program's are: the dictionaries only load then)."""

    page_segmentation: int
    variables: tuple[tuple[str, str], ...] = ()
    model: Model = field(default=ENGLISH)


# --psm 6, one uniform block of text, MRZ characters only, no dictionaries.
MRZ_BAND = Settings(
    6,
    (
        ("tessedit_char_whitelist", MRZ_ALPHABET),
        ("load_system_dawg", "0"),
        ("load_freq_dawg", "0"),
    ),
    MRZ_MODEL,
)
# --psm 11, sparse text: a card's captions and values are scattered runs.
PRINTED_TEXT = Settings(11)

# Tesseract's notes ("Estimating resolution as 306") went to the program's own stderr, which
# pytesseract kept; in this process they would fill the server's log.
_QUIET = (("debug_file", "/dev/null"),)

# Leptonica, Tesseract's image library, prints its own ("Error in pixScanForForeground: invalid
# box" when Tesseract clips a box to the image, harmless): also for the program's stderr only.
_LEPTONICA_SEVERITY_NONE = 6  # L_SEVERITY_NONE in leptonica's environ.h


def _quiet_leptonica() -> None:
    name = ctypes.util.find_library("lept") or ctypes.util.find_library("leptonica")
    if name is None:
        return  # Tesseract linked it under another name: its notes reach stderr, nothing worse
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).setMsgSeverity(_LEPTONICA_SEVERITY_NONE)


_MISSING = "Tesseract could not run: install Debian's tesseract-ocr and tesseract-ocr-eng."


@functools.cache
def _checked(model: Model) -> None:
    """A shipped model must be the published file: a damaged or swapped one loads and misreads."""
    path = model.path
    problem = None if path is None else shipped_file_problem(path, model.sha256)
    if problem is not None:
        raise OCREngineError(f"Tesseract model {path} {problem}")


@functools.cache
def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("tesseract")
    if name is None:
        raise OCREngineError(_MISSING)
    try:
        library = ctypes.CDLL(name)
    except OSError as exc:
        raise OCREngineError(_MISSING) from exc
    handle, text = ctypes.c_void_p, ctypes.c_char_p
    library.TessBaseAPICreate.restype = handle
    library.TessBaseAPIInit4.argtypes = [
        handle,
        text,
        text,
        ctypes.c_int,
        ctypes.POINTER(text),
        ctypes.c_int,
        ctypes.POINTER(text),
        ctypes.POINTER(text),
        ctypes.c_size_t,
        ctypes.c_int,
    ]
    library.TessBaseAPISetPageSegMode.argtypes = [handle, ctypes.c_int]
    library.TessBaseAPISetImage.argtypes = [handle, handle, *[ctypes.c_int] * 4]
    library.TessBaseAPIRecognize.argtypes = [handle, handle]
    library.TessBaseAPIGetUTF8Text.argtypes = [handle]
    library.TessBaseAPIGetUTF8Text.restype = handle  # freed with TessDeleteText, not by ctypes
    library.TessBaseAPIGetTsvText.argtypes = [handle, ctypes.c_int]
    library.TessBaseAPIGetTsvText.restype = handle  # freed with TessDeleteText too
    library.TessDeleteText.argtypes = [handle]
    library.TessBaseAPIClear.argtypes = [handle]
    library.TessBaseAPIEnd.argtypes = [handle]
    library.TessBaseAPIDelete.argtypes = [handle]
    _quiet_leptonica()
    return library


class _Engine:
    """One initialised TessBaseAPI."""

    def __init__(self, settings: Settings) -> None:
        library = _library()
        model = settings.model
        _checked(model)
        self._handle = library.TessBaseAPICreate()
        variables = (*settings.variables, *_QUIET)
        names = [name.encode() for name, _ in variables]
        values = [value.encode() for _, value in variables]
        failed = library.TessBaseAPIInit4(
            self._handle,
            None if model.folder is None else str(model.folder).encode(),
            model.language.encode(),
            ENGINE_MODE,
            None,
            0,
            (ctypes.c_char_p * len(names))(*names),
            (ctypes.c_char_p * len(values))(*values),
            len(names),
            0,
        )
        if failed:
            library.TessBaseAPIDelete(self._handle)
            fix = "install tesseract-ocr-eng" if model.folder is None else "reinstall idflow"
            raise OCREngineError(f"Tesseract could not load its '{model.language}' model: {fix}.")
        library.TessBaseAPISetPageSegMode(self._handle, settings.page_segmentation)

    def read(self, image: NDArray[np.uint8], tsv: bool) -> str:
        """The image's text, or its words as the program's TSV rows (`tsv`)."""
        library = _library()
        pixels = np.ascontiguousarray(image, dtype=np.uint8)
        height, width = pixels.shape
        library.TessBaseAPISetImage(self._handle, pixels.ctypes.data, width, height, 1, width)
        try:
            if library.TessBaseAPIRecognize(self._handle, None):
                return ""  # this image defeats Tesseract
            found = (
                library.TessBaseAPIGetTsvText(self._handle, 0)
                if tsv
                else library.TessBaseAPIGetUTF8Text(self._handle)
            )
            if not found:
                return ""
            try:
                return ctypes.string_at(found).decode("utf-8")
            finally:
                library.TessDeleteText(found)
        finally:
            library.TessBaseAPIClear(self._handle)

    def close(self) -> None:
        library = _library()
        library.TessBaseAPIEnd(self._handle)
        library.TessBaseAPIDelete(self._handle)


_IDLE: dict[Settings, queue.SimpleQueue[_Engine]] = {}  # idle engines by how they were started
# An engine holds about 28 MB: more reads at once than this wait for one (2 cores gain nothing).
_MAX_READS = 4
_READS = threading.BoundedSemaphore(_MAX_READS)


def _read(image: NDArray[np.uint8], settings: Settings, tsv: bool) -> str:
    with _READS:
        idle = _IDLE.setdefault(settings, queue.SimpleQueue())  # one step: threads share it
        try:
            engine = idle.get_nowait()
        except queue.Empty:
            engine = _Engine(settings)
        try:
            return engine.read(image, tsv)
        finally:
            idle.put(engine)


def read_text(image: NDArray[np.uint8], settings: Settings = MRZ_BAND) -> str:
    """Tesseract's text of a grey image, from an idle engine (a new one when all are reading)."""
    return _read(image, settings, tsv=False)


def read_tsv(image: NDArray[np.uint8], settings: Settings = PRINTED_TEXT) -> str:
    """Tesseract's words of a grey image with their boxes and confidences: the rows of the
    program's `tsv` output (level, page, block, paragraph, line, word, left, top, width,
    height, confidence, text), without its header."""
    return _read(image, settings, tsv=True)


@atexit.register
def _close_idle() -> None:
    """Free the engines before the library's own exit checks report them as leaks."""
    for idle in _IDLE.values():
        while True:
            try:
                idle.get_nowait().close()
            except queue.Empty:
                break
