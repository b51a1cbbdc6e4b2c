"""Tesseract in this process, through its C API, for the MRZ band.

Starting the `tesseract` program for every band cost a process and the loading of its model
(about 0.15 s of CPU) before it read anything, more than reading the band itself. An engine
initialised once reads each band with the same library, model and settings as
`tesseract BAND stdout -l eng --oem 1 --psm 6 -c <VARIABLES>` (what pytesseract ran), on the same
pixels, so its text is the same. Engines are kept for the next band, one per band being read at
the same moment (an engine reads one image at a time), at most `_MAX_ENGINES`; ctypes lets other
threads run while Tesseract reads, so the glyph templates can read meanwhile.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import functools
import queue
import threading

import numpy as np
from numpy.typing import NDArray

from processing.errors import OCREngineError
from processing.mrz.model import MRZ_ALPHABET

LANGUAGE = "eng"
ENGINE_MODE = 1  # --oem 1: the LSTM recogniser
PAGE_SEGMENTATION = 6  # --psm 6: one uniform block of text
# Set at initialisation, as the program's `-c` options are: the dictionaries only load then.
VARIABLES = {
    "tessedit_char_whitelist": MRZ_ALPHABET,
    "load_system_dawg": "0",
    "load_freq_dawg": "0",
}

_MISSING = "Tesseract could not run: install Debian's tesseract-ocr and tesseract-ocr-eng."


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
    library.TessDeleteText.argtypes = [handle]
    library.TessBaseAPIClear.argtypes = [handle]
    library.TessBaseAPIEnd.argtypes = [handle]
    library.TessBaseAPIDelete.argtypes = [handle]
    return library


class _Engine:
    """One initialised TessBaseAPI."""

    def __init__(self) -> None:
        library = _library()
        self._handle = library.TessBaseAPICreate()
        names = [name.encode() for name in VARIABLES]
        values = [value.encode() for value in VARIABLES.values()]
        failed = library.TessBaseAPIInit4(
            self._handle,
            None,  # the data folder the `tesseract` program would use
            LANGUAGE.encode(),
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
            raise OCREngineError(
                f"Tesseract could not load its '{LANGUAGE}' model: install tesseract-ocr-eng."
            )
        library.TessBaseAPISetPageSegMode(self._handle, PAGE_SEGMENTATION)

    def read(self, image: NDArray[np.uint8]) -> str:
        library = _library()
        pixels = np.ascontiguousarray(image, dtype=np.uint8)
        height, width = pixels.shape
        library.TessBaseAPISetImage(self._handle, pixels.ctypes.data, width, height, 1, width)
        try:
            if library.TessBaseAPIRecognize(self._handle, None):
                return ""  # this band defeats Tesseract; the templates still read it
            found = library.TessBaseAPIGetUTF8Text(self._handle)
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


_IDLE: queue.SimpleQueue[_Engine] = queue.SimpleQueue()
# An engine holds about 28 MB: more reading at once than this wait for one (2 cores gain nothing).
_MAX_ENGINES = 4
_ENGINES = threading.BoundedSemaphore(_MAX_ENGINES)


def read_text(image: NDArray[np.uint8]) -> str:
    """Tesseract's text of a grey image, from an idle engine (a new one when all are reading)."""
    with _ENGINES:
        try:
            engine = _IDLE.get_nowait()
        except queue.Empty:
            engine = _Engine()
        try:
            return engine.read(image)
        finally:
            _IDLE.put(engine)


@atexit.register
def _close_idle() -> None:
    """Free the engines before the library's own exit checks report them as leaks."""
    while True:
        try:
            _IDLE.get_nowait().close()
        except queue.Empty:
            return
