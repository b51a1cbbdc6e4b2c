"""Signing in (with the second factor's code when the operator set one up), signing out and
changing one's password."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from webapp import operators
from webapp.console import bp
from webapp.console.access import (
    EPOCH,
    OPERATOR,
    SEEN,
    forget_sign_in,
    refuse_stale_form,
    ring,
    signed_in,
)
from webapp.console.forms import CodeForm, LoginForm, LogoutForm, PasswordForm
from webapp.db import db_session
from webapp.errors import InvalidRequest
from webapp.models import Operator

# Between the password and the code: who, since when, at which sign-in epoch.
PENDING = "console_pending"
PENDING_AT = "console_pending_at"
PENDING_EPOCH = "console_pending_epoch"
CODE_SECONDS = 300  # the code must follow the password within this long


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: a login link must not send anyone elsewhere."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return url_for("console.sessions")
    return target or url_for("console.sessions")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        db = db_session()
        operator = operators.authenticate(db, ring(), form.email.data, form.password.data)
        db.commit()
        if operator is not None:
            session.clear()  # nothing from before the sign-in carries over
            if operators.has_totp(operator):
                session[PENDING] = operator.id
                session[PENDING_AT] = int(time.time())
                session[PENDING_EPOCH] = operator.sign_in_epoch
                return redirect(url_for("console.login_code", next=request.args.get("next")), 303)
            return _signed_in(operator)
        failed = True
    refuse_stale_form(form)
    return render_template("console/login.html", form=form, failed=failed), 401 if failed else 200


def _signed_in(operator: Operator) -> ResponseReturnValue:
    session.clear()
    session[OPERATOR] = operator.id
    session[SEEN] = int(time.time())
    session[EPOCH] = operator.sign_in_epoch
    return redirect(_safe_next(request.args.get("next")), 303)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> ResponseReturnValue:
    """The second step: only after the right password, for a few minutes, and only while the
    account's sign-ins have not been ended since (a new password, a sign-out elsewhere)."""
    db = db_session()
    operator_id = session.get(PENDING)
    operator = db.get(Operator, operator_id) if operator_id else None
    if (
        operator is None
        or time.time() - session.get(PENDING_AT, 0) > CODE_SECONDS
        or session.get(PENDING_EPOCH) != operator.sign_in_epoch
    ):
        session.clear()
        return redirect(url_for("console.login", next=request.args.get("next")))
    form = CodeForm()
    failed = False
    if form.validate_on_submit():
        confirmed = operators.confirm_code(db, operator, form.code.data)
        db.commit()
        if confirmed:
            return _signed_in(operator)
        failed = True
    refuse_stale_form(form)
    page = render_template("console/login_code.html", form=form, failed=failed)
    return page, 401 if failed else 200


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    """Only a POST with its CSRF token signs out (no page elsewhere can); a GET (the error
    page's way back) leads to the console."""
    if request.method == "GET":
        return redirect(url_for("console.sessions"))
    form = LogoutForm()
    if not form.validate_on_submit():
        refuse_stale_form(form)
    signed_in().sign_in_epoch += 1  # copies of this sign-in's cookie end too
    db_session().commit()
    forget_sign_in()
    return redirect(url_for("console.login"), 303)


@bp.route("/password", methods=["GET", "POST"])
def password() -> ResponseReturnValue:
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        db = db_session()
        try:
            operators.change_password(db, signed_in(), form.current.data, form.new.data)
        except InvalidRequest as exc:
            error = exc.message
        else:
            db.commit()
            session[EPOCH] = signed_in().sign_in_epoch  # this sign-in stays, the others end
            return redirect(url_for("console.sessions"), 303)
    refuse_stale_form(form)
    forced = signed_in().must_change_password
    return render_template("console/password.html", form=form, error=error, forced=forced)
