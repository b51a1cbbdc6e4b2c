"""The one shape every authenticity check reports in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AuthenticitySignal:
    """One check's finding: its score against a threshold measured in docs/authenticity.md.

    `score` grows with suspicion; the signal fires at `score >= threshold`. `reason` says in plain
    words what was seen, for the person and the reviewer; None while the signal is quiet.
    `refusing` False: a finding that genuine photos also show too often to refuse on by itself
    (an editor's name in the metadata, a patch of another JPEG grid): it is reported, fired, for
    a reviewer, but the verdict does not act on it (`processing.authenticity.refusal`).
    """

    name: str  # e.g. "specimen", "generated", "portrait", "screen_recapture", "photocopy"
    score: float
    threshold: float
    reason: str | None = None
    refusing: bool = True

    @property
    def fired(self) -> bool:
        return self.score >= self.threshold
