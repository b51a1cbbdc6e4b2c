"""The hosted flow's steps, in order, in one table: what each asks, when it is needed, when it is
done, and where a failure sends the person back to.

The person is at the first step that is needed and not done among the steps of the session's
status (`current`), so someone who comes back, or moves from a computer to a phone, lands where
they were; the steps before it stay open (a photo can be retaken from the review page). The
views, the pages' "Step 2 of 3" (`position`) and the verdict's reopening of a step all ask this
table; the statuses and the moves between them are `webapp.lifecycle`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from flask import url_for

from webapp.models import SessionStatus, VerificationSession

StepName = Literal[
    "consent",
    "document_type",
    "front",
    "back",
    "selfie",
    "id_number",
    "review",
    "processing",
    "done",
]
CaptureStep = Literal["front", "back", "selfie"]
CAPTURE_STEPS: tuple[CaptureStep, ...] = ("front", "back", "selfie")
_CAPTURE_ENDPOINT = "flow.capture"  # one route for the photo steps, the step in its URL
_INPUT: tuple[SessionStatus, ...] = ("requires_input",)


def allowed_types(session: VerificationSession) -> list[str]:
    types: list[str] = session.options["document"]["allowed_types"]
    return types


def needs_back(document_type: str | None) -> bool:
    return document_type in ("id_card", "driving_license")


def needs_selfie(session: VerificationSession) -> bool:
    return bool(session.options["document"]["require_matching_selfie"])


def needs_id_number(session: VerificationSession) -> bool:
    """The person is asked for their id number: the session checks one (Stripe's `id_number`
    type, or `require_id_number`) and the platform gave none."""
    asked = session.type == "id_number" or bool(session.options["document"]["require_id_number"])
    return asked and "id_number" not in session.provided_details


def _asks_document_type(session: VerificationSession) -> bool:
    """With one allowed type, consent chooses it: the step is done but never shown."""
    return len(allowed_types(session)) > 1


def _always(_session: VerificationSession) -> bool:
    return True


def _never(_session: VerificationSession) -> bool:
    return False


class Progress:
    """What a step's `done` looks at: the session, and the steps it has an accepted photo of
    (read once, when a photo step first asks)."""

    def __init__(
        self, session: VerificationSession, captures: Callable[[], Collection[str]]
    ) -> None:
        self.session = session
        self._captures = captures

    @cached_property
    def captured(self) -> Collection[str]:
        return self._captures()


def _captured(step: CaptureStep) -> Callable[[Progress], bool]:
    return lambda progress: step in progress.captured


@dataclass(frozen=True)
class Step:
    name: StepName
    endpoint: str
    statuses: tuple[SessionStatus, ...]  # the session's statuses in which a person can be here
    needed: Callable[[VerificationSession], bool] = _always
    done: Callable[[Progress], bool] | None = None  # None: left only when the status moves on
    asks: Callable[[VerificationSession], bool] = _always  # a page that is counted in the steps
    retakes: tuple[CaptureStep, ...] = ()  # the photos taken again when a failure sends here
    counted_as: StepName | None = None  # shown with that step's number, not counted on its own

    @property
    def capture(self) -> bool:
        return self.endpoint == _CAPTURE_ENDPOINT


STEPS: tuple[Step, ...] = (
    Step("consent", "flow.consent", _INPUT, done=lambda p: p.session.consented_at is not None),
    Step(
        "document_type",
        "flow.document_type",
        _INPUT,
        done=lambda p: p.session.document_type is not None,
        asks=_asks_document_type,
        retakes=CAPTURE_STEPS,  # another document: none of the photos are of it
    ),
    Step("front", _CAPTURE_ENDPOINT, _INPUT, done=_captured("front"), retakes=("front", "back")),
    Step(
        "back",
        _CAPTURE_ENDPOINT,
        _INPUT,
        needed=lambda session: needs_back(session.document_type),
        done=_captured("back"),
        retakes=("back",),
        # Whether there is a back is known only once the document is chosen: counted on its
        # own, the total would change under the person ("2 of 4", then "4 of 5").
        counted_as="front",
    ),
    Step(
        "selfie",
        _CAPTURE_ENDPOINT,
        _INPUT,
        needed=needs_selfie,
        done=_captured("selfie"),
        retakes=("selfie",),
    ),
    Step(
        "id_number",
        "flow.id_number",
        _INPUT,
        needed=needs_id_number,
        done=lambda p: p.session.id_number_given is not None,
    ),
    Step("review", "flow.review", _INPUT),  # left by submitting
    Step("processing", "flow.processing", ("processing",), asks=_never),
    Step("done", "flow.result", ("verified", "canceled"), asks=_never),
)
STEP: dict[StepName, Step] = {step.name: step for step in STEPS}

# Where a failure sends the person: a document that cannot pass (wrong type, expired, someone
# else's) needs another document, a bad photo only a new photo, a refused selfie a new selfie.
RETRY: dict[str, StepName] = {
    "consent_declined": "consent",
    "document_type_not_supported": "document_type",
    "country_not_supported": "document_type",
    "document_expired": "document_type",
    "under_supported_age": "document_type",
    "document_name_mismatch": "review",  # fixed by the platform (below): nothing to retake
    "document_dob_mismatch": "review",
    "id_number_mismatch": "document_type",
    "document_unverified_other": "front",
    "id_number_insufficient_document_data": "front",
    "selfie_document_missing_photo": "selfie",
    "selfie_face_mismatch": "selfie",
    "selfie_face_not_found": "selfie",
    "selfie_manipulated": "selfie",
    "selfie_unverified_other": "selfie",
    "processing_failed": "review",
}
_RETRY_UNKNOWN: StepName = "front"  # a code this table does not know: a new photo
# The details the platform sent (`provided_details`) differ from the document: no photo the
# person takes can change them, so the failure costs no try and the person is sent back to the
# platform; the photos wait at review in case the platform corrects its claim.
FIXED_BY_PLATFORM = frozenset({"document_name_mismatch", "document_dob_mismatch"})


def retry_step(code: str) -> StepName:
    return RETRY.get(code, _RETRY_UNKNOWN)


def fixed_by_platform(code: str | None) -> bool:
    return code in FIXED_BY_PLATFORM


def walk(session: VerificationSession) -> list[StepName]:
    """The steps this session's person goes through while it requires input, in order."""
    return [s.name for s in STEPS if "requires_input" in s.statuses and s.needed(session)]


def capture_steps(session: VerificationSession) -> list[CaptureStep]:
    return [name for name in CAPTURE_STEPS if STEP[name].needed(session)]


def current(progress: Progress) -> StepName:
    """Where the person is: the first step of the session's status that is needed, not done."""
    session = progress.session
    return next(
        step.name
        for step in STEPS
        if session.status in step.statuses
        and step.needed(session)
        and (step.done is None or not step.done(progress))
    )


def is_open(session: VerificationSession, step: str, at: StepName) -> bool:
    """Whether the person, at step `at`, may see `step`: it and every step before it."""
    order: list[str] = list(walk(session))
    return at in order and step in order and order.index(step) <= order.index(at)


def landing(session: VerificationSession, name: StepName) -> StepName:
    """The page a failure sent to step `name` shows: the step, or the next that asks something
    (another document when only one type is allowed is a new photo of it)."""
    if STEP[name].asks(session):
        return name
    order = walk(session)
    return next(s for s in order[order.index(name) + 1 :] if STEP[s].asks(session))


@dataclass(frozen=True)
class Position:
    number: int
    count: int


def position(session: VerificationSession, step: str) -> Position | None:
    """The page of `step` as "Step 2 of 3"; None on pages that are not counted. Only the
    session's options decide what is counted, never the person's answers, so the total is the
    same on every page and the number never jumps (the back shares the front's)."""
    counted: list[str] = [
        name for name in walk(session) if STEP[name].counted_as is None and STEP[name].asks(session)
    ]
    shown = STEP[step].counted_as or step if step in STEP else step
    if shown not in counted:
        return None
    return Position(counted.index(shown) + 1, len(counted))


def url(session: VerificationSession, name: StepName) -> str:
    step = STEP[name]
    if step.capture:
        return url_for(step.endpoint, token=session.link_token, step=name)
    return url_for(step.endpoint, token=session.link_token)
