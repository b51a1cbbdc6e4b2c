"""What an admin manages for its platform (an instance-wide admin: for any platform): operators,
webhook endpoints, API keys and the brand of the hosted pages.

Each action calls the domain function the commands and the API call (`webapp.operators`,
`webapp.webhooks`, `webapp.platforms`, `webapp.branding`) and writes an audit entry in the same
transaction. A valid POST redirects, except the three that make a secret (a one-time password,
a webhook signing secret, an API key): their answer is the page that shows it, once, so it is
never kept anywhere, not even in the cookie. Reviewers and viewers, and an admin of another
platform, are refused (403) and the attempt is audited. An instance-wide admin also manages the
instance-wide operators, on the operators page whose platform is `instance`.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from webapp import branding, operators, platforms, webhooks
from webapp.console import bp
from webapp.console.access import refuse_stale_form, ring, signed_in
from webapp.console.forms import ActionForm, BrandForm, KeyForm, OperatorForm, WebhookForm
from webapp.db import db_session
from webapp.errors import ApiError
from webapp.models import Operator, Platform, WebhookEndpoint
from webapp.platforms import Caller

INSTANCE = "instance"  # in place of a platform id: the operators without a platform


def _admin_of(platform_id: str | None, *, instance: bool = False) -> Operator:
    """The signed-in admin, if it may manage `platform_id` (None: the page that leads to one;
    `INSTANCE`, where `instance` allows it: only an instance-wide admin, as no platform has that
    id)."""
    operator = signed_in()
    scope = operator.platform_id
    if operator.role != "admin" or (platform_id is not None and scope not in (None, platform_id)):
        db = db_session()
        operators.audit(db, operator, "admin_refused", platform=platform_id, page=request.endpoint)
        db.commit()
        abort(403, description=_("Only an admin of this platform manages it."))
    if platform_id == INSTANCE and instance:
        return operator
    if platform_id is not None and db_session().get(Platform, platform_id) is None:
        abort(404)
    return operator


def _accounts_of(platform_id: str) -> str | None:
    """The `platform_id` of the operators an operators page manages."""
    return None if platform_id == INSTANCE else platform_id


def _valid(form: Any) -> bool:
    if form.validate_on_submit():
        return True
    refuse_stale_form(form)
    return False


def _action(form: ActionForm) -> None:
    """A row's button: without its valid CSRF token nothing happens."""
    if not form.validate_on_submit():
        refuse_stale_form(form)
        abort(400)


def _back(endpoint: str, platform_id: str) -> Response:
    return redirect(url_for(endpoint, platform_id=platform_id), 303)


def _page(
    template: str, platform_id: str, status: int = 200, **context: Any
) -> ResponseReturnValue:
    platform = db_session().get(Platform, platform_id)
    page = render_template(
        template, platform=platform, scope=platform_id, action_form=ActionForm(), **context
    )
    return page, status


@bp.route("/admin")
def admin_index() -> ResponseReturnValue:
    """A platform's admin goes to its platform; an instance-wide admin chooses one."""
    operator = _admin_of(None)
    if operator.platform_id is not None:
        return redirect(url_for("console.admin_operators", platform_id=operator.platform_id))
    rows = db_session().execute(select(Platform.id, Platform.name).order_by(Platform.name)).all()
    return render_template("console/admin_index.html", platforms=rows)


def _operator_of(platform_id: str, operator_id: str) -> Operator:
    found = db_session().get(Operator, operator_id)
    if found is None or found.platform_id != _accounts_of(platform_id):
        abort(404)
    return found


@bp.route("/admin/<platform_id>/operators", methods=["GET", "POST"])
def admin_operators(platform_id: str) -> ResponseReturnValue:
    admin = _admin_of(platform_id, instance=True)
    db = db_session()
    form = OperatorForm()
    error, one_time = None, None
    if _valid(form):
        try:
            added = operators.add(
                db, ring(), form.email.data, form.chosen_role(), _accounts_of(platform_id), None
            )
        except ApiError as exc:
            db.rollback()
            error = exc.message
        else:
            operators.audit(
                db, admin, "operator_added", account=added.operator.id, role=added.operator.role
            )
            db.commit()
            one_time = (added.operator, added.one_time_password)
            form = OperatorForm(formdata=None)
    return _operators_page(platform_id, form, error, one_time)


def _operators_page(
    platform_id: str,
    form: OperatorForm,
    error: str | None = None,
    one_time: tuple[Operator, str | None] | None = None,
) -> ResponseReturnValue:
    accounts = db_session().scalars(
        select(Operator)
        .where(Operator.platform_id == _accounts_of(platform_id))  # None: IS NULL
        .order_by(Operator.created_at)
    )
    return _page(
        "console/admin_operators.html",
        platform_id,
        422 if error else 200,
        form=form,
        error=error,
        one_time=one_time,
        accounts=list(accounts),
        has_totp=operators.has_totp,
    )


@bp.post("/admin/<platform_id>/operators/<operator_id>/disable")
def admin_disable_operator(platform_id: str, operator_id: str) -> ResponseReturnValue:
    admin = _admin_of(platform_id, instance=True)
    _action(ActionForm())
    account = _operator_of(platform_id, operator_id)
    if account.id == admin.id:
        abort(409, description=_("You cannot disable your own account."))
    db = db_session()
    operators.disable_account(account)
    operators.audit(db, admin, "operator_disabled", account=account.id)
    db.commit()
    return _back("console.admin_operators", platform_id)


@bp.post("/admin/<platform_id>/operators/<operator_id>/password")
def admin_reset_password(platform_id: str, operator_id: str) -> ResponseReturnValue:
    admin = _admin_of(platform_id, instance=True)
    _action(ActionForm())
    account = _operator_of(platform_id, operator_id)
    db = db_session()
    one_time = operators.reset_password(db, admin, account)
    db.commit()
    return _operators_page(platform_id, OperatorForm(formdata=None), None, (account, one_time))


@bp.post("/admin/<platform_id>/operators/<operator_id>/two-factor")
def admin_reset_two_factor(platform_id: str, operator_id: str) -> ResponseReturnValue:
    admin = _admin_of(platform_id, instance=True)
    _action(ActionForm())
    account = _operator_of(platform_id, operator_id)
    db = db_session()
    operators.reset_totp(db, admin, account)
    db.commit()
    return _back("console.admin_operators", platform_id)


def _endpoint_of(platform_id: str, endpoint_id: str) -> WebhookEndpoint:
    found = db_session().scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.platform_id == platform_id
        )
    )
    if found is None:
        abort(404)
    return found


@bp.route("/admin/<platform_id>/webhooks", methods=["GET", "POST"])
def admin_webhooks(platform_id: str) -> ResponseReturnValue:
    admin = _admin_of(platform_id)
    db = db_session()
    form = WebhookForm()
    error, created = None, None
    if _valid(form):
        caller = Caller(platform_id, form.mode.data == "live")
        try:
            wanted = webhooks.parse_endpoint(
                {"url": form.url.data, "enabled_events": form.events.data or ["*"]}
            )
            created = webhooks.create_endpoint(db, caller, wanted)
        except ApiError as exc:
            db.rollback()
            error = exc.message
        else:
            operators.audit(db, admin, "webhook_endpoint_added", endpoint=created.id)
            db.commit()
            form = WebhookForm(formdata=None)
    endpoints = webhooks.list_endpoints(db, Caller(platform_id, True)) + webhooks.list_endpoints(
        db, Caller(platform_id, False)
    )
    return _page(
        "console/admin_webhooks.html",
        platform_id,
        422 if error else 200,
        form=form,
        error=error,
        created=created,
        endpoints=endpoints,
    )


@bp.post("/admin/<platform_id>/webhooks/<endpoint_id>/disable")
def admin_toggle_webhook(platform_id: str, endpoint_id: str) -> ResponseReturnValue:
    """Disables an enabled endpoint, enables a disabled one (as the API's `disabled`)."""
    admin = _admin_of(platform_id)
    _action(ActionForm())
    endpoint = _endpoint_of(platform_id, endpoint_id)
    disable = endpoint.status == "enabled"
    db = db_session()
    webhooks.update_endpoint(endpoint, {"disabled": disable})
    action = "webhook_endpoint_disabled" if disable else "webhook_endpoint_enabled"
    operators.audit(db, admin, action, endpoint=endpoint.id)
    db.commit()
    return _back("console.admin_webhooks", platform_id)


@bp.post("/admin/<platform_id>/webhooks/<endpoint_id>/delete")
def admin_delete_webhook(platform_id: str, endpoint_id: str) -> ResponseReturnValue:
    admin = _admin_of(platform_id)
    _action(ActionForm())
    endpoint = _endpoint_of(platform_id, endpoint_id)
    db = db_session()
    operators.audit(db, admin, "webhook_endpoint_deleted", endpoint=endpoint.id)
    webhooks.delete_endpoint(db, endpoint)
    db.commit()
    return _back("console.admin_webhooks", platform_id)


@bp.route("/admin/<platform_id>/keys", methods=["GET", "POST"])
def admin_keys(platform_id: str) -> ResponseReturnValue:
    admin = _admin_of(platform_id)
    db = db_session()
    form = KeyForm()
    secret = None
    if _valid(form):
        platform = db.get(Platform, platform_id)
        assert platform is not None  # `_admin_of` answered 404 otherwise
        secret = platforms.issue_key(db, platform, livemode=form.mode.data == "live")
        operators.audit(db, admin, "api_key_created", prefix=platforms.shown_prefix(secret))
        db.commit()
    return _page(
        "console/admin_keys.html",
        platform_id,
        form=form,
        secret=secret,
        keys=platforms.list_keys(db, platform_id),
    )


@bp.post("/admin/<platform_id>/keys/<key_id>/revoke")
def admin_revoke_key(platform_id: str, key_id: str) -> ResponseReturnValue:
    admin = _admin_of(platform_id)
    _action(ActionForm())
    db = db_session()
    try:
        key = platforms.revoke_key(db, platform_id, key_id)
    except ApiError:
        abort(404)
    operators.audit(db, admin, "api_key_revoked", key=key.id)
    db.commit()
    return _back("console.admin_keys", platform_id)


@bp.route("/admin/<platform_id>/brand", methods=["GET", "POST"])
def admin_brand(platform_id: str) -> ResponseReturnValue:
    admin = _admin_of(platform_id)
    db = db_session()
    form = BrandForm()
    error = None
    if _valid(form):
        given = {
            "name": form.name.data or None,
            "color": form.color.data or None,
            "icon": (form.icon.data.read() or None) if form.icon.data else None,
        }
        operators.audit(db, admin, "brand_changed", fields=[k for k, v in given.items() if v])
        try:  # commits the brand and the audit entry together
            branding.set_brand(
                db, platform_id, name=given["name"], color=given["color"], icon=given["icon"]
            )
        except ApiError as exc:
            db.rollback()
            error = exc.message
        else:
            return _back("console.admin_brand", platform_id)
    platform = db.get(Platform, platform_id)
    assert platform is not None
    if request.method == "GET":
        form.name.data, form.color.data = platform.brand_name, platform.brand_color
    return _page(
        "console/admin_brand.html",
        platform_id,
        422 if error else 200,
        form=form,
        error=error,
        brand=branding.brand(platform),
    )
