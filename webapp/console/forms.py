"""The console's forms; Flask-WTF adds the CSRF token to each. Labels and messages are lazy
catalog strings, so each request reads them in its own language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import EqualTo, InputRequired, Length, NumberRange
from wtforms.widgets import HiddenInput

from webapp.operators import MIN_PASSWORD_LENGTH


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
