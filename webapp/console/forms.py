"""The console's forms; Flask-WTF adds the CSRF token to each. Labels and messages are lazy
catalog strings, so each request reads them in its own language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from webapp.models import OperatorRole
from webapp.operators import MIN_PASSWORD_LENGTH, ROLES
from webapp.webhooks.endpoints import EVENT_TYPES


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(_l("Email"), validators=[InputRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=200)])
    submit = SubmitField(_l("Sign in"))


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField(_l("Current password"), validators=[InputRequired()])
    new = PasswordField(
        _l("New password"),
        validators=[
            InputRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l("Use at least %(count)s characters.", count=MIN_PASSWORD_LENGTH),
            ),
        ],
    )
    repeat = PasswordField(
        _l("New password again"),
        validators=[InputRequired(), EqualTo("new", message=_l("The two new passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


class CodeForm(FlaskForm):  # type: ignore[misc]
    """The sign-in's second step: the six digits of the operator's authenticator app."""

    code = StringField(
        _l("Code from your authenticator app"), validators=[InputRequired(), Length(max=12)]
    )
    submit = SubmitField(_l("Sign in"))


class TwoFactorForm(FlaskForm):  # type: ignore[misc]
    """Setting up, confirming or turning off the second factor: which one the page's state
    says; confirming and turning off want a code."""

    code = StringField(
        _l("Code from your authenticator app"), validators=[Optional(), Length(max=12)]
    )
    submit = SubmitField(_l("Continue"))


class LogoutForm(FlaskForm):  # type: ignore[misc]
    submit = SubmitField(_l("Sign out"))


class ReviewForm(FlaskForm):  # type: ignore[misc]
    """Two buttons, one note: the note is required and stays with the staff (sealed)."""

    note = TextAreaField(_l("Note (why)"), validators=[InputRequired(), Length(max=2000)])
    approve = SubmitField(_l("Approve"))
    decline = SubmitField(_l("Decline"))


class CancelForm(FlaskForm):  # type: ignore[misc]
    submit = SubmitField(_l("Cancel this session"))


class RedactForm(FlaskForm):  # type: ignore[misc]
    """Redaction cannot be undone: the box must be ticked, so a stray click deletes nothing."""

    confirm = BooleanField(
        _l("I understand that this deletes its photos and personal data for good."),
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("Redact this session"))


class RedeliverForm(FlaskForm):  # type: ignore[misc]
    """One per delivery row: which delivery to send again rides in a hidden field."""

    delivery = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=1, max=2**63 - 1)]
    )
    submit = SubmitField(_l("Send again"))


class FunnelForm(FlaskForm):  # type: ignore[misc]
    """The funnel's choices, read from the query string (a GET changes nothing: no CSRF)."""

    class Meta:
        csrf = False

    platform = SelectField(_l("Platform"), default="")
    mode = SelectField(
        _l("Mode"),
        choices=[
            SelectChoice("live", _l("live")),
            SelectChoice("test", _l("test")),
            SelectChoice("", _l("any")),
        ],
        default="live",
    )
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    submit = SubmitField(_l("Show"))


def _modes() -> list[SelectChoice]:
    return [SelectChoice("live", _l("live")), SelectChoice("test", _l("test"))]


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button on a row of an admin page (disable, revoke, delete): only its CSRF token; each
    button says what it does."""


class OperatorForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(_l("Email"), validators=[InputRequired(), Length(max=320)])
    role = SelectField(
        _l("Role"), choices=[SelectChoice(role, role) for role in ROLES], default="viewer"
    )
    submit = SubmitField(_l("Add operator"))

    def chosen_role(self) -> OperatorRole:
        role: OperatorRole = self.role.data
        return role


class WebhookForm(FlaskForm):  # type: ignore[misc]
    url = StringField(_l("URL"), validators=[InputRequired(), Length(max=2000)])
    events = SelectMultipleField(
        _l("Events (none ticked: all)"),
        # the part after "identity.verification_session.": what a phone's width can show
        choices=[SelectChoice(kind, kind.rpartition(".")[2]) for kind in EVENT_TYPES],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[Optional()],
    )
    mode = SelectField(_l("Mode"), choices=_modes(), default="live")
    submit = SubmitField(_l("Add endpoint"))


class KeyForm(FlaskForm):  # type: ignore[misc]
    mode = SelectField(_l("Mode"), choices=_modes(), default="live")
    submit = SubmitField(_l("Create key"))


class BrandForm(FlaskForm):  # type: ignore[misc]
    """Only what is filled in changes (`branding.set_brand` keeps the rest)."""

    name = StringField(_l("Display name"), validators=[Optional(), Length(max=200)])
    color = StringField(
        _l("Accent colour (#RRGGBB)"),
        validators=[Optional(), Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("Write it as #1f5fd6."))],
    )
    icon = FileField(_l("Icon (PNG, JPEG or WebP, at most 1 MB)"))
    submit = SubmitField(_l("Save"))
