"""One form per screen; Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import HiddenField, RadioField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

DOCUMENT_LABELS = {
    "passport": _l("Passport"),
    "id_card": _l("Identity card"),
    "driving_license": _l("Driving licence"),
}


class ConsentForm(FlaskForm):  # type: ignore[misc]
    accept = SubmitField(_l("Continue"))


class DeclineForm(FlaskForm):  # type: ignore[misc]
    """Declining ends the verification: it is asked on a page of its own, never one tap away."""

    confirm = SubmitField(_l("Yes, decline"))


class DocumentTypeForm(FlaskForm):  # type: ignore[misc]
    document_type = RadioField(
        _l("Which document will you use?"),
        validators=[InputRequired(_l("Choose a document."))],
        choices=[],
    )
    submit = SubmitField(_l("Continue"))

    def offer(self, allowed: list[str]) -> DocumentTypeForm:
        """Only the types the platform accepts are choices, so nothing else validates."""
        self.document_type.choices = [(kind, DOCUMENT_LABELS[kind]) for kind in allowed]
        return self


class CaptureForm(FlaskForm):  # type: ignore[misc]
    photo = FileField(_l("Photo"), validators=[FileRequired(_l("Take or choose a photo first."))])
    submit = SubmitField(_l("Upload photo"))


class BurstForm(FlaskForm):  # type: ignore[misc]
    """The live selfie: the frames the page filmed, their capture times, the challenge answered."""

    challenge = HiddenField(validators=[InputRequired(_l("Start the selfie again."))])
    times = HiddenField(validators=[InputRequired(_l("Start the selfie again."))])
    frames = MultipleFileField(validators=[FileRequired(_l("Start the selfie again."))])

    def capture_times(self) -> list[float] | None:
        """The capture times in ms, or None when they are not one number per frame."""
        try:
            times = [float(value) for value in str(self.times.data).split(",")]
        except ValueError:
            return None
        return times if len(times) == len(self.frames.data or []) else None


class SubmitForm(FlaskForm):  # type: ignore[misc]
    submit = SubmitField(_l("Submit for verification"))


class TestSubmitForm(SubmitForm):
    """A test session's review: QA picks the verdict, or lets the real checks decide."""

    outcome = RadioField(
        _l("Outcome (test mode)"),
        validators=[InputRequired(_l("Choose an outcome."))],
        choices=[],
        default="verified",
    )

    def offer(self, outcomes: dict[str, LazyString]) -> TestSubmitForm:
        """Only the outcomes this session could reach are choices."""
        self.outcome.choices = [SelectChoice(value, label) for value, label in outcomes.items()]
        return self
