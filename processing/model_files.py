"""Where the optional model files live, and how to tell a good copy from a damaged one.

Models are not shipped in the repository (binaries) nor fetched at run time (the service must work
offline). An operator drops them into one folder: `$IDFLOW_MODELS_DIR` when set, otherwise
`<project>/models`. Everything that uses a model degrades to a model-free path when it is absent,
so `models_dir()` and `yunet_path()` answer None rather than raising.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

YUNET_FILE = "face_detection_yunet_2023mar.onnx"

# File name -> sha256 of the published bytes; a `make models` step checks copies against these.
KNOWN_MODELS: dict[str, str] = {
    YUNET_FILE: "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
}

_PROJECT_MODELS = Path(__file__).resolve().parents[1] / "models"


def models_dir() -> Path | None:
    """`$IDFLOW_MODELS_DIR` if set, else `<project>/models`; None when that folder does not exist.

    An explicitly set but missing folder also gives None: a typo must not break face detection,
    it only switches to the model-free fallback.
    """
    configured = os.environ.get("IDFLOW_MODELS_DIR")
    folder = Path(configured) if configured else _PROJECT_MODELS
    return folder if folder.is_dir() else None


def yunet_path() -> Path | None:
    """The YuNet face detector file, if the operator has installed it."""
    folder = models_dir()
    if folder is None:
        return None
    path = folder / YUNET_FILE
    return path if path.is_file() else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def shipped_file_problem(path: Path, sha256: str) -> str | None:
    """Why a model file shipped inside the package cannot be used, or None: a damaged or swapped
    copy loads and then scores or reads differently, so its bytes are checked first."""
    if not path.is_file():
        return "is missing: reinstall idflow."
    if sha256_of(path) != sha256:
        return "is not the published file."
    return None


def verify_model(path: Path) -> bool:
    """True when `path` holds exactly the published bytes of a model listed in `KNOWN_MODELS`.

    A truncated download or a different release loads fine in OpenCV yet scores differently, so
    the install step compares hashes instead of trusting that the file opens.
    """
    expected = KNOWN_MODELS.get(path.name)
    return expected is not None and path.is_file() and sha256_of(path) == expected
