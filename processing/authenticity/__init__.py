"""Is the document genuine? One named signal per way a fake shows itself.

Each check module returns `AuthenticitySignal`s for an `Evidence` (the reading plus the uploaded
bytes); `assess` runs every check in `CHECKS`, and `verify` puts all the signals in the report's
document section and refuses the document (`document_unverified_other`) on the first that fired.
A new check is one function `check(evidence) -> list[AuthenticitySignal]` appended to `CHECKS`.

Some signals only report (`AuthenticitySignal.refusing` False): the recapture check's
compression grid and a named editor, which genuine photos show too often to refuse on alone; the
report shows them fired and `waived`, for a reviewer.

Test mode accepts what idflow's own generator makes: for a document whose generator code was
read, the signals the generator sets off by design (its code, its SPECIMEN print, its drawn
portrait) are waived (`GENERATOR_TRAITS`), and so are the ways QA shows a sample to a phone (a
screen, a black-and-white printout: `QA_CAPTURES`); every other signal still counts. A
government specimen carries no generator code, so test mode refuses it like live mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from processing.authenticity import dates, generated, portrait, recapture, specimen
from processing.authenticity.evidence import Evidence
from processing.authenticity.signal import AuthenticitySignal

Check = Callable[[Evidence], list[AuthenticitySignal]]
CHECKS: list[Check] = [
    generated.check,
    specimen.check,
    portrait.check,
    dates.check,
    recapture.check,
]
GENERATOR_TRAITS = frozenset({"generated", "specimen", "portrait"})
# How QA shows a sample to a phone: on the screen it was downloaded to, or printed on an office
# printer in black and white. Waived with the traits, on the generator's own documents only.
QA_CAPTURES = frozenset({"screen_recapture", "photocopy"})


def assess(evidence: Evidence) -> tuple[AuthenticitySignal, ...]:
    """Every check's signals, in `CHECKS` order."""
    return tuple(signal for check in CHECKS for signal in check(evidence))


def waived(signals: Sequence[AuthenticitySignal], *, accept_generated: bool) -> frozenset[str]:
    """The signal names that do not count: on the generator's own documents, in test mode only,
    its traits and the ways QA shows a sample."""
    made_here = any(s.name == "generated" and s.fired for s in signals)
    return GENERATOR_TRAITS | QA_CAPTURES if accept_generated and made_here else frozenset()


def refusal(
    signals: Sequence[AuthenticitySignal], *, accept_generated: bool
) -> AuthenticitySignal | None:
    """The first signal that fired and counts, or None when the document may be genuine.

    A signal that only reports (`refusing` False) never counts, whatever it scored.
    """
    ignored = waived(signals, accept_generated=accept_generated)
    return next((s for s in signals if s.fired and s.refusing and s.name not in ignored), None)


__all__ = ["CHECKS", "AuthenticitySignal", "Check", "Evidence", "assess", "refusal", "waived"]
