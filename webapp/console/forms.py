"""The console's forms; Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField, TextAreaField
from wtforms.validators import EqualTo, InputRequired, Length

from webapp.operators import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[InputRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=200)])
    submit = SubmitField("Sign in")


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField("Current password", validators=[InputRequired()])
    new = PasswordField(
        "New password",
        validators=[
            InputRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
    )
    repeat = PasswordField(
        "New password again",
        validators=[InputRequired(), EqualTo("new", message="The two new passwords differ.")],
    )
    submit = SubmitField("Change password")


class LogoutForm(FlaskForm):  # type: ignore[misc]
    submit = SubmitField("Sign out")


class ReviewForm(FlaskForm):  # type: ignore[misc]
    """Two buttons, one note: the note is required and stays with the staff (sealed)."""

    note = TextAreaField("Note (why)", validators=[InputRequired(), Length(max=2000)])
    approve = SubmitField("Approve")
    decline = SubmitField("Decline")
