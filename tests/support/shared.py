"""Where the optional shared material (specimens, faces, models) is; tests skip what is absent."""

import os
from pathlib import Path

SHARED = Path(os.environ.get("IDFLOW_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
