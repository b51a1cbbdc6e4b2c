"""The funnel page: per platform and period, how many sessions reached each step of the hosted
flow and why people stopped (`webapp.funnel`). Counts and codes only, so viewers see it too."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from webapp import funnel
from webapp.console import bp
from webapp.console.access import signed_in
from webapp.console.forms import FunnelForm
from webapp.db import db_session
from webapp.models import Platform

DEFAULT_DAYS = 30
STEP_LABELS = {
    "opened": _l("Link opened"),
    "consented": _l("Consented"),
    "front": _l("Front photo"),
    "back": _l("Back photo"),
    "selfie": _l("Selfie"),
    "submitted": _l("Submitted"),
    "verified": _l("Verified"),
}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@bp.route("/funnel")
def funnel_page() -> ResponseReturnValue:
    """An operator of a platform sees its own; an instance-wide one chooses (all by default)."""
    operator = signed_in()
    db = db_session()
    form = FunnelForm(formdata=request.args)
    if operator.platform_id is None:
        platforms = db.execute(select(Platform.id, Platform.name).order_by(Platform.name)).all()
        form.platform.choices = [SelectChoice("", _l("All platforms"))] + [
            SelectChoice(row.id, f"{row.name} ({row.id})") for row in platforms
        ]
    else:
        form.platform.choices = [SelectChoice(operator.platform_id, operator.platform_id)]
    form.validate()
    today = datetime.now(UTC).date()
    end = form.end.data if not form.end.errors and form.end.data else today
    start = form.start.data if not form.start.errors and form.start.data else None
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    form.start.data, form.end.data = start, end
    platform_id = operator.platform_id or (form.platform.data or None)
    mode = form.mode.data if form.mode.data in ("live", "test", "") else "live"
    counted = funnel.count(
        db,
        platform_id,
        None if mode == "" else mode == "live",
        _midnight(start),
        _midnight(end + timedelta(days=1)),
    )
    return render_template("console/funnel.html", form=form, funnel=counted, labels=STEP_LABELS)
