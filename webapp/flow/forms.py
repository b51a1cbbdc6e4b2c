"""One form per screen; Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import HiddenField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from processing.id_numbers import OTHER, parse_id_number

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


# Stripe's three kinds of id number, then any other country's; each with how it is written.
ID_NUMBER_KINDS = {
    "us_ssn": (_l("US Social Security number (SSN)"), _l("9 digits, or the last 4: 123-45-6789")),
    "br_cpf": (_l("Brazilian CPF"), _l("11 digits: 123.456.789-09")),
    "sg_nric": (_l("Singapore NRIC or FIN"), _l("A letter, 7 digits and a letter: S1234567D")),
    OTHER: (_l("Another country's ID number"), _l("As printed on your document")),
}


class IdNumberForm(FlaskForm):  # type: ignore[misc]
    """The person's id number, checked by the rules of the kind they chose (a CPF's check digits,
    an NRIC's check letter) so a typo is caught here, not as a failed verification."""

    id_number_type = RadioField(
        _l("Type of number"),
        validators=[InputRequired(_l("Choose the type of number."))],
        choices=[SelectChoice(kind, label) for kind, (label, _hint) in ID_NUMBER_KINDS.items()],
    )
    id_number = StringField(
        _l("ID number"), validators=[InputRequired(_l("Enter your ID number."))]
    )
    submit = SubmitField(_l("Continue"))

    def validate_id_number(self, field: StringField) -> None:
        if self.number() is None:
            raise ValidationError(
                _l("This is not a valid number of this type. Check it and try again.")
            )

    def number(self) -> str | None:
        """The number as compared, or None when it is not valid for the chosen kind."""
        return parse_id_number(str(self.id_number_type.data), str(self.id_number.data or ""))


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
