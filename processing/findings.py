"""Findings: one observation about a photo, with a code for machines and a sentence for people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """`error` findings make a document unreadable or unusable; `warning`s lower confidence."""

    code: str  # e.g. "image_blurry", "glare_on_mrz"
    message: str  # a sentence the person holding the phone can act on
    severity: Severity = "error"
    measured: float | None = None  # the figure that triggered it, for operators and tuning
