"""An operator's own second factor: set it up (QR code and secret, then a first code that proves
the app holds it), or turn it off with a code. A lost app is reset by
`idflow operator reset-totp` or by an admin of the platform."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from webapp import operators, totp
from webapp.console import bp
from webapp.console.access import refuse_stale_form, signed_in
from webapp.console.forms import TwoFactorForm
from webapp.db import db_session


@bp.route("/two-factor", methods=["GET", "POST"])
def two_factor() -> ResponseReturnValue:
    operator = signed_in()
    db = db_session()
    form = TwoFactorForm()
    failed = False
    if form.validate_on_submit():
        code = form.code.data or ""
        if operators.has_totp(operator):
            done = operators.turn_off_totp(db, operator, code)
        elif operator.totp_secret is None:
            operators.start_totp(operator)
            done = True
        else:
            done = operators.enable_totp(db, operator, code)
        db.commit()
        if done:
            return redirect(url_for("console.two_factor"), 303)
        failed = True
    refuse_stale_form(form)
    secret = None if operators.has_totp(operator) else operator.totp_secret
    uri = totp.provisioning_uri(secret, operator.email) if secret else None
    page = render_template(
        "console/two_factor.html",
        form=form,
        failed=failed,
        enabled=operators.has_totp(operator),
        secret=secret,
        qr=Markup(totp.qr_svg(uri)) if uri else None,  # segno's markup, the URI in its modules
    )
    return page, 422 if failed else 200
