"""Hosted-flow routes: find the session by its link token, call `webapp.verification`, render.

Every step page redirects to the step the person has actually reached when asked for one ahead
of it, so a bookmarked or shared URL (desktop to phone) always lands somewhere sensible. Earlier
steps stay open, so a photo can be retaken from the review page. The order, and which steps a
session needs, are the table in `webapp.steps`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import segno
from flask import (
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response

from processing.capture import document_crop
from processing.errors import SampleGenerationError
from processing.locate import SIZES_MM, SizeClass
from webapp import (
    branding,
    funnel,
    i18n,
    liveness,
    reviews,
    steps,
    test_mode,
    thumbnails,
    verification,
)
from webapp.config import settings
from webapp.db import db_session
from webapp.errors import ApiError, StorageUnavailable
from webapp.flow import bp
from webapp.flow.forms import (
    DOCUMENT_LABELS,
    ID_NUMBER_KINDS,
    BurstForm,
    CaptureForm,
    ConsentForm,
    DeclineForm,
    DocumentTypeForm,
    IdNumberForm,
    SubmitForm,
    TestSubmitForm,
)
from webapp.links import hosted_url, link_hash
from webapp.models import Platform, UploadedFile, VerificationSession, utcnow
from webapp.storage import storage

_TOKEN_LENGTH = 64  # the column's width; anything longer cannot be a link token
# The QR code's link carries `?via=qr`; the phone that opens it keeps this cookie (scoped to the
# link's path), so its last page sends the person back to the computer they started on.
HANDOFF_COOKIE = "idflow_handoff"
_HANDOFF_QUERY = ("via", "qr")
# The review shows each photo across a phone's width, sharp at 2-3 device pixels a CSS pixel;
# tapped, as large as the reader reads a document (300 dpi: 1476 px for a passport page).
_THUMBNAIL_SIDE = 1200
_LARGE_SIDE = 2000
# Phones and tablets; everything else is offered the QR code to move to a phone.
_HANDHELD = re.compile(
    r"Mobi|Android|iPhone|iPad|iPod|Tablet|Silk|Kindle|IEMobile|Opera Mini", re.I
)

# Why a link cannot be used: (HTTP status, heading, what the person can do).
_GONE: dict[str, tuple[int, str, str]] = {
    "unknown": (
        404,
        _l("This link does not work"),
        _l(
            "Check that you opened the whole link. If it still does not work, ask the service "
            "that sent it to you for a new one."
        ),
    ),
    "expired": (
        410,
        _l("This link has expired"),
        _l(
            "Verification links only work for a limited time. Ask the service that sent it to "
            "you for a new one."
        ),
    ),
    "verified": (
        410,
        _l("You are already verified"),
        _l("This verification is complete. There is nothing more to do here."),
    ),
    "canceled": (
        410,
        _l("This verification was stopped"),
        _l(
            "If you still need to verify your identity, ask the service that sent the link for "
            "a new one."
        ),
    ),
    "too_many_attempts": (
        410,
        _l("Too many attempts"),
        _l(
            "This verification stopped after too many unsuccessful tries, to protect you. Ask "
            "the service that sent the link for a new one."
        ),
    ),
    "redacted": (
        410,
        _l("This verification was closed"),
        _l(
            "Its photos and details have been deleted. Ask the service that sent the link for a "
            "new one if you still need to verify."
        ),
    ),
}


def _find(token: str) -> VerificationSession | None:
    """The session of a link; its return URL is left in `g` for the page's security headers."""
    if len(token) > _TOKEN_LENGTH:
        return None
    db = db_session()
    session = db.scalar(
        select(VerificationSession).where(
            VerificationSession.link_token_hash == link_hash(db, token)
        )
    )
    g.return_url = session.return_url if session is not None else None
    g.platform_id = session.platform_id if session is not None else None
    return session


@bp.app_context_processor
def _brand() -> dict[str, Any]:
    """The brand of the platform whose session this page belongs to, idflow's own without one
    (and on every page outside the flow, so the shared layout always has one)."""
    platform_id = g.get("platform_id")
    platform = db_session().get(Platform, platform_id) if platform_id else None
    return {"brand": branding.brand(platform), "brand_platform": platform_id}


def _problem(session: VerificationSession, *, finished: bool) -> str | None:
    """The `_GONE` key that stops this link, or None; `finished` lets a verified one through."""
    if session.redacted_at is not None:
        return "redacted"
    if session.expires_at <= utcnow():
        return "expired"
    if session.status == "canceled":
        if session.last_error_code == verification.TOO_MANY_ATTEMPTS:
            return "too_many_attempts"
        return "canceled"
    if session.status == "verified" and not finished:
        return "verified"
    return None


def _gone(kind: str, session: VerificationSession | None = None) -> NoReturn:
    status, title, text = _GONE[kind]
    back = (
        return_link(session.return_url, session.id)
        if session is not None and session.return_url and kind != "unknown"
        else None
    )
    page = render_template("flow/gone.html", title=title, text=text, return_url=back)
    abort(make_response(page, status))


def _session(token: str, *, finished: bool = False) -> VerificationSession:
    session = _find(token)
    if session is None:
        _gone("unknown")
    kind = _problem(session, finished=finished)
    if kind is not None:
        _gone(kind, session)
    return session


def return_link(return_url: str, session_id: str) -> str:
    """The platform's return URL with `session_id` added to whatever query it already has."""
    parts = urlsplit(return_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "session_id"]
    query.append(("session_id", session_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _ahead(session: VerificationSession, step: steps.StepName) -> Response | None:
    """A redirect to where the person really is when `step` is not open to them yet."""
    current = verification.current_step(db_session(), session)
    if steps.is_open(session, step, current):
        return None
    return redirect(steps.url(session, current))


def _to_entry(session: VerificationSession) -> Response:
    return redirect(url_for("flow.entry", token=session.link_token), 303)


# Marks a POST refused for its form token alone: flow.js then reads a fresh token from the page
# (only this origin can) and sends the same photo again, instead of the person losing it.
FORM_EXPIRED_HEADER = "Idflow-Form-Expired"


def _submitted(form: Any) -> bool:
    """A valid POST; a POST without a valid CSRF token is refused outright."""
    if form.validate_on_submit():
        return True
    if request.method == "POST" and "csrf_token" in form.errors:
        page = render_template(
            "error.html",
            title=_("Something went wrong"),
            message=_(
                "This page was open for too long or in another browser. "
                "Go back, reload the page and try again."
            ),
            back_url=request.path,
        )
        refused = make_response(page, 400)
        refused.headers[FORM_EXPIRED_HEADER] = "1"
        abort(refused)
    return False


@lru_cache(maxsize=256)
def qr_svg(link: str) -> str:
    """Encoding takes ~10 ms, most of a page's time; a session's pages all show the same one."""
    svg: str = segno.make(link, error="m").svg_inline(
        scale=4, border=2, dark="#111", light="#fff", svgclass="qr-code", omitsize=True
    )
    return svg


def _handheld() -> bool:
    return _HANDHELD.search(request.user_agent.string or "") is not None


def handoff_link(session: VerificationSession) -> str:
    """The link a computer hands to the phone (QR code, or written out)."""
    name, value = _HANDOFF_QUERY
    return f"{hosted_url(settings().base_url, session)}?{name}={value}"


def _handed_off() -> bool:
    """This browser is the phone a computer handed the session to."""
    return request.cookies.get(HANDOFF_COOKIE) == "1"


def _qr_code(session: VerificationSession) -> Markup | None:
    """On a computer, the same link as a QR code, drawn here so the page needs nothing else."""
    if _handheld():
        return None
    return Markup(qr_svg(handoff_link(session)))  # segno's markup: the link is only encoded


# Where the person is when no step of the flow is: they declined, or a verdict sent them back
# and they have not moved on from the step it sent them to (its page says why, or that only the
# platform can fix the details): the pages a computer following them shows too.
_DECLINED = "declined"
_VERDICT = "result"


def _where(session: VerificationSession) -> tuple[str | None, str]:
    """The step the person is at and its page, for a computer that follows them; a link that
    stopped (canceled, expired) has no step, its own page says why and leads back."""
    token = session.link_token
    if _problem(session, finished=True) is not None:
        return None, url_for("flow.entry", token=token)
    if session.last_error_code == "consent_declined":
        return _DECLINED, url_for("flow.decline", token=token)
    step = verification.current_step(db_session(), session)
    if session.last_error_code is not None and step == session.last_error_step:
        return _VERDICT, url_for("flow.result", token=token)
    return step, steps.url(session, step)


def _follow(session: VerificationSession) -> dict[str, str] | None:
    """On a computer, what the page's script polls to follow the phone: the status URL and
    where the person was when the page was drawn (an open earlier step, a retake, stays)."""
    if _handheld():
        return None
    at, _ = _where(session)
    return {"url": url_for("flow.status", token=session.link_token), "at": at or ""}


def _platform_name(session: VerificationSession) -> str:
    """The name the pages show for the platform: its brand's display name, else its own."""
    platform = db_session().get(Platform, session.platform_id)
    if platform is None:
        return str(_("The service you came from"))
    name: str = platform.brand_name or platform.name
    return name


def _page(template: str, session: VerificationSession, step: str, **context: Any) -> str:
    return render_template(
        template,
        session=session,
        token=session.link_token,
        step=step,
        position=steps.position(session, step),
        follow=_follow(session),
        **context,
    )


def _verdict_reason(session: VerificationSession) -> str:
    return i18n.verdict_message(
        session.last_error_code, session.last_error_reason, settings().min_age
    )


@bp.errorhandler(ApiError)
def _domain_error(error: ApiError) -> tuple[str, int]:
    """A rule of the domain refused the action (a double submit, a stale page), or the file
    store is down (nothing was changed, the photos sent before are kept): say so kindly."""
    db_session().rollback()
    if isinstance(error, StorageUnavailable):
        title = _("Please try again in a minute")
        message = _(
            "We cannot save or open photos right now. The photos you sent before are kept; "
            "nothing is lost. Wait a minute, then go back and try again."
        )
    else:
        title = _("That did not work")
        message = (
            error.message if i18n.english_page() else _("Go back, reload the page and try again.")
        )
    page = render_template(
        "error.html",
        title=title,
        message=message,
        back_url=request.path if request.method == "POST" else None,
    )
    return page, error.status


@bp.get("/<token>")
def entry(token: str) -> ResponseReturnValue:
    """Where the link leads: on to the person's step; its first open is the funnel's first."""
    session = _session(token)
    response = redirect(steps.url(session, verification.current_step(db_session(), session)))
    funnel.note_opened(session)
    db_session().commit()
    name, value = _HANDOFF_QUERY
    if request.args.get(name) == value:  # opened from the computer's QR code
        seconds = max(0, int((session.expires_at - utcnow()).total_seconds()))
        response.set_cookie(
            HANDOFF_COOKIE,
            "1",
            max_age=seconds,
            path=f"/v/{token}",
            samesite="Lax",
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    return response


@bp.route("/<token>/consent", methods=["GET", "POST"])
def consent(token: str) -> ResponseReturnValue:
    session = _session(token)
    if (moved := _ahead(session, "consent")) is not None:
        return moved
    form = ConsentForm()
    db = db_session()
    if _submitted(form):
        if not form.accept.data:  # an older page's Decline button: ask first
            return redirect(url_for("flow.decline", token=token), 303)
        verification.give_consent(session)
        db.commit()
        return _to_entry(session)
    return _page(
        "flow/consent.html",
        session,
        "consent",
        form=form,
        platform_name=_platform_name(session),
        documents=[DOCUMENT_LABELS[kind] for kind in steps.allowed_types(session)],
        selfie=steps.needs_selfie(session),
        qr=_qr_code(session),
    )


@bp.route("/<token>/decline", methods=["GET", "POST"])
def decline(token: str) -> ResponseReturnValue:
    """Asks before declining; once declined, says so (or goes back to the platform)."""
    session = _session(token)
    if session.last_error_code == "consent_declined" and request.method == "GET":
        return _declined(session)
    if (moved := _ahead(session, "consent")) is not None:
        return moved
    form = DeclineForm()
    if _submitted(form):
        db = db_session()
        verification.decline_consent(db, session)
        db.commit()
        if session.return_url and not _handed_off():
            return redirect(return_link(session.return_url, session.id), 303)
        return redirect(url_for("flow.decline", token=token), 303)
    return _page(
        "flow/decline.html",
        session,
        "consent",
        form=form,
        platform_name=_platform_name(session),
        consent_url=url_for("flow.consent", token=token),
    )


def _declined(session: VerificationSession) -> str:
    """Said on the phone that declined, and on the computer that follows it, which leads back
    to the platform (a handed-off phone sends the person back to that computer instead)."""
    handed_off = _handed_off()
    return render_template(
        "flow/declined.html",
        platform_name=_platform_name(session),
        return_url=(
            return_link(session.return_url, session.id)
            if session.return_url and not handed_off
            else None
        ),
        handed_off=handed_off,
        follow=_follow(session),
    )


@bp.route("/<token>/document", methods=["GET", "POST"])
def document_type(token: str) -> ResponseReturnValue:
    session = _session(token)
    if (moved := _ahead(session, "document_type")) is not None:
        return moved
    db = db_session()
    allowed = steps.allowed_types(session)
    if allowed == [session.document_type]:  # consent chose the only type: nothing to ask
        return _to_entry(session)
    form = DocumentTypeForm().offer(allowed)
    if _submitted(form):
        verification.choose_document_type(db, session, form.document_type.data)
        db.commit()
        return _to_entry(session)
    if request.method == "GET" and session.document_type in allowed:
        form.document_type.data = session.document_type
    failed = session.last_error_step == "document_type" and request.method == "GET"
    message = _verdict_reason(session) if failed else None
    page = _page("flow/document_type.html", session, "document_type", form=form, message=message)
    return page, 422 if request.method == "POST" else 200


def _capture_page(
    session: VerificationSession,
    step: steps.CaptureStep,
    form: CaptureForm,
    message: str | None,
    attempts_left: int | None,
) -> ResponseReturnValue:
    guide = "passport" if session.document_type == "passport" else "card"
    live_selfie = step == "selfie" and session.livemode
    token = session.link_token
    page = _page(
        "flow/capture.html",
        session,
        step,
        form=form,
        message=message,
        attempts_left=attempts_left,
        guide="face" if step == "selfie" else guide,
        facing="user" if step == "selfie" else "environment",
        live_only=verification.requires_live_capture(session),
        live_selfie=live_selfie,
        burst_form=BurstForm() if live_selfie else None,
        challenge_url=url_for("flow.selfie_challenge", token=token) if live_selfie else None,
        handoff_link=handoff_link(session) if live_selfie else None,
        qr=_qr_code(session) if step != "selfie" or live_selfie else None,
    )
    return page, 422 if request.method == "POST" else 200


@bp.get("/<token>/selfie/challenge")
def selfie_challenge(token: str) -> ResponseReturnValue:
    """A fresh head-turn challenge for the live selfie (JSON for the page's script)."""
    session = _session(token)
    verification.check_capture_step(session, "selfie")
    issued = liveness.issue_challenge(session)
    instruction = str(i18n.INSTRUCTIONS[issued.direction])
    response = jsonify(token=issued.token, direction=issued.direction, instruction=instruction)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<token>/selfie/burst")
def selfie_burst(token: str) -> ResponseReturnValue:
    """The frames the page filmed while the person followed the challenge."""
    session = _session(token)
    if (moved := _ahead(session, "selfie")) is not None:
        return moved
    form = BurstForm()
    times = form.capture_times() if _submitted(form) else None
    if times is None:
        return _capture_page(session, "selfie", CaptureForm(), _("Start the selfie again."), None)
    db = db_session()
    files = storage()
    frames = [(frame.stream.read(), at) for frame, at in zip(form.frames.data, times, strict=True)]
    outcome = liveness.save_burst(
        db, files, session, form.challenge.data, frames, settings().max_attempts
    )
    try:
        db.commit()
    except BaseException:
        for key in outcome.storage_keys:  # no row will ever point to them
            files.delete(key)
        raise
    if outcome.accepted or session.status != "requires_input":
        return _to_entry(session)
    message = i18n.capture_message(outcome.reason, outcome.message, session.document_type, "selfie")
    return _capture_page(session, "selfie", CaptureForm(), message, outcome.attempts_left)


@bp.route("/<token>/<any(front, back, selfie):step>", methods=["GET", "POST"])
def capture(token: str, step: steps.CaptureStep) -> ResponseReturnValue:
    session = _session(token)
    if (moved := _ahead(session, step)) is not None:
        return moved
    form = CaptureForm()
    message, attempts_left = None, None
    if _submitted(form):
        db = db_session()
        photo = form.photo.data
        files = storage()
        outcome = verification.save_upload(
            db,
            files,
            session,
            step,
            photo.stream,
            photo.mimetype or "application/octet-stream",
            settings().max_attempts,
        )
        try:
            db.commit()
        except BaseException:
            files.delete(outcome.storage_key)  # no row will ever point to it
            raise
        if outcome.accepted or session.status != "requires_input":
            return _to_entry(session)
        message = i18n.capture_message(outcome.code, outcome.message, session.document_type, step)
        attempts_left = outcome.attempts_left
    elif session.last_error_step == step and session.last_error_reason:
        message = _verdict_reason(session)
    return _capture_page(session, step, form, message, attempts_left)


@bp.route("/<token>/id_number", methods=["GET", "POST"])
def id_number(token: str) -> ResponseReturnValue:
    """The id number the session checks, when the platform gave none (Stripe's `id_number`)."""
    session = _session(token)
    if (moved := _ahead(session, "id_number")) is not None:
        return moved
    form = IdNumberForm()
    if _submitted(form):
        db = db_session()
        verification.give_id_number(db, session, form.id_number_type.data, form.number() or "")
        db.commit()
        return _to_entry(session)
    failed = session.last_error_step == "id_number" and request.method == "GET"
    page = _page(
        "flow/id_number.html",
        session,
        "id_number",
        form=form,
        hints={kind: hint for kind, (_label, hint) in ID_NUMBER_KINDS.items()},
        message=_verdict_reason(session) if failed else None,
    )
    return page, 422 if request.method == "POST" else 200


@bp.route("/<token>/review", methods=["GET", "POST"])
def review(token: str) -> ResponseReturnValue:
    session = _session(token)
    if (moved := _ahead(session, "review")) is not None:
        return moved
    db = db_session()
    if session.livemode:
        form: SubmitForm = SubmitForm()
    else:
        form = TestSubmitForm().offer(verification.offered_outcomes(session))
    if _submitted(form):
        outcome = None if session.livemode else form.outcome.data
        verification.submit(db, session, outcome, address=request.remote_addr)
        db.commit()
        return redirect(url_for("flow.processing", token=token), 303)
    uploads = verification.latest_uploads(db, session)
    shots = [
        {
            "step": step,
            "src": url_for("flow.file", token=token, file_id=uploads[step].id),
            "large": url_for("flow.photo", token=token, file_id=uploads[step].id),
            "retake": steps.url(session, step),
        }
        for step in steps.capture_steps(session)
    ]
    page = _page(
        "flow/review.html",
        session,
        "review",
        form=form,
        shots=shots,
        document=DOCUMENT_LABELS.get(session.document_type or "", _("Document")),
        samples_url=None if session.livemode else url_for("flow.samples", token=token),
    )
    return page, 422 if request.method == "POST" else 200


@bp.get("/<token>/processing")
def processing(token: str) -> ResponseReturnValue:
    session = _session(token, finished=True)
    if session.status != "processing" or reviews.waiting(session):
        return redirect(url_for("flow.result", token=token))
    return render_template(
        "flow/processing.html",
        token=token,
        status_url=url_for("flow.status", token=token),
        selfie=steps.needs_selfie(session),
    )


@bp.get("/<token>/status")
def status(token: str) -> ResponseReturnValue:
    """What the processing page polls (the status, and where to go once it is decided) and a
    computer's pages poll to follow the phone (the step the person is at, and its page)."""
    session = _find(token)
    if session is None:
        return jsonify(status=None, step=None, url=None, next=None), 404
    step, step_url = _where(session)
    if step is None:
        next_url: str | None = step_url
    else:
        deciding = session.status == "processing" and not reviews.waiting(session)
        next_url = None if deciding else url_for("flow.result", token=token)
    response = jsonify(status=session.status, step=step, url=step_url, next=next_url)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<token>/result")
def result(token: str) -> ResponseReturnValue:
    """The verdict. On a phone a computer handed the session to, the way back to the platform is
    the computer's (it followed the phone here): the phone says to return to it."""
    session = _session(token, finished=True)
    handed_off = _handed_off()
    back = (
        return_link(session.return_url, session.id)
        if session.return_url and not handed_off
        else None
    )
    platform_name = _platform_name(session)
    if reviews.waiting(session):
        return render_template(
            "flow/in_review.html",
            platform_name=platform_name,
            return_url=back,
            follow=_follow(session),
        )
    if session.status == "processing":
        return redirect(url_for("flow.processing", token=token))
    if session.status == "verified":
        return render_template(
            "flow/result.html",
            verified=True,
            return_url=back,
            handed_off=handed_off,
            platform_name=platform_name,
        )
    if session.last_error_code in (None, "consent_declined"):
        return redirect(url_for("flow.entry", token=token))
    if steps.fixed_by_platform(session.last_error_code):
        return render_template(
            "flow/details_differ.html",
            code=session.last_error_code,
            platform_name=platform_name,
            return_url=back,
            handed_off=handed_off,
            follow=_follow(session),
        )
    retry = verification.current_step(db_session(), session)
    return render_template(
        "flow/result.html",
        verified=False,
        reason=_verdict_reason(session),
        attempts_left=verification.attempts_left(session, settings().max_attempts),
        retry_url=steps.url(session, retry),
        return_url=back,
        handed_off=handed_off,
        platform_name=platform_name,
        follow=_follow(session),
    )


def _crop(check: dict[str, Any] | None) -> tuple[list[tuple[float, float]], SizeClass] | None:
    """Where a photo's check would cut the document (`CaptureCheck.document_corners` and
    `document_size`), if it found it; photos checked before it kept this have none."""
    found, size = (check or {}).get("document_corners"), (check or {}).get("document_size")
    if not isinstance(found, list) or len(found) != 4 or size not in SIZES_MM:
        return None
    try:
        return [(float(x), float(y)) for x, y in found], size
    except (TypeError, ValueError):
        return None


@bp.get("/<token>/photos/<file_id>")
def photo(token: str, file_id: str) -> ResponseReturnValue:
    """One photo large, on a page of its own with the way back: the review's "enlarge"."""
    session = _session(token)
    if (moved := _ahead(session, "review")) is not None:
        return moved
    return render_template(
        "flow/photo.html",
        src=url_for("flow.file", token=token, file_id=file_id, size="large"),
        back_url=url_for("flow.review", token=token),
    )


@bp.get("/<token>/files/<file_id>")
def file(token: str, file_id: str) -> ResponseReturnValue:
    """A copy of one of this session's captures, cut to the document where its check found
    one (`?size=large` to enlarge); other sessions' files are not there."""
    session = _session(token)
    upload = db_session().scalar(
        select(UploadedFile).where(
            UploadedFile.id == file_id, UploadedFile.session_id == session.id
        )
    )
    if upload is None or upload.storage_key is None:
        abort(404)
    crop = _crop(upload.check)
    side = _LARGE_SIDE if request.args.get("size") == "large" else _THUMBNAIL_SIDE
    small = thumbnails.small_copy(
        storage(),
        upload.storage_key,
        side,
        # the document as the check found it, flattened: not the table
        None if crop is None else lambda image: document_crop(image, *crop),
    )
    if small is None:  # retention deleted it, or a lost key
        abort(404)
    response = make_response(small)
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _test_session(token: str) -> VerificationSession:
    """Samples exist for test sessions only; for a live one the page is simply not there."""
    session = _session(token, finished=True)
    if session.livemode:
        abort(404)
    return session


def _person(session: VerificationSession) -> test_mode.Person | None:
    folder = test_mode.faces_dir(settings().shared_dir)
    return test_mode.person(folder, session.id)


@bp.get("/<token>/samples")
def samples(token: str) -> ResponseReturnValue:
    """Specimens to photograph (or save and upload) so QA can run the flow from a phone."""
    session = _test_session(token)
    with_selfie = _person(session) is not None
    items = [
        {"name": name, "label": label, "src": url_for("flow.sample", token=token, name=name)}
        for name, label in test_mode.SAMPLES.items()
        if name != "selfie" or with_selfie
    ]
    return render_template(
        "flow/samples.html",
        items=items,
        with_selfie=with_selfie,
        back_url=url_for("flow.entry", token=token),
    )


@bp.get("/<token>/samples/<name>.jpg")
def sample(token: str, name: str) -> ResponseReturnValue:
    session = _test_session(token)
    if name not in test_mode.SAMPLES:
        abort(404)
    try:
        min_age = settings().min_age
        data = test_mode.sample_jpeg(name, session.id, _person(session), min_age)
    except SampleGenerationError:
        abort(404)
    response = make_response(data)
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Content-Disposition"] = f'attachment; filename="idflow-sample-{name}.jpg"'
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _brand_asset(data: bytes, content_type: str) -> Response:
    """Versioned URLs, so a change of brand is a new URL and these can be cached for good."""
    response = make_response(data)
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/brand/<platform_id>/<version>.png")
def brand_icon(platform_id: str, version: str) -> ResponseReturnValue:
    """A platform's icon, re-encoded as PNG when it was set (`webapp.branding.icon_png`)."""
    platform = db_session().get(Platform, platform_id)
    if platform is None or platform.brand_icon_version != version or platform.brand_icon is None:
        abort(404)  # the version first: the icon itself is loaded only when it is wanted
    return _brand_asset(platform.brand_icon, "image/png")


@bp.get("/brand/<platform_id>/<color>.css")
def brand_style(platform_id: str, color: str) -> ResponseReturnValue:
    """The accent as CSS custom properties: the CSP allows no inline style."""
    platform = db_session().get(Platform, platform_id)
    if platform is None or platform.brand_color != f"#{color}":
        abort(404)
    shown = branding.brand(platform)
    css = f":root{{--accent:{shown.accent};--accent-active:{shown.accent_active}}}\n"
    return _brand_asset(css.encode(), "text/css; charset=utf-8")
