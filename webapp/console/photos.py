"""A session's photos for reviewers and admins: a small copy for the session page, a page that
shows one at full size, and the file as the person sent it behind that page.

Every photo sent is written to the audit log (which file, which size), and a viewer's request is
refused (403) and audited too. The answer is never cached (no-store) and is only served as an
image when its bytes are one (a rejected upload may be anything): what is not a JPEG, PNG or
WebP goes out as a download, never rendered by the browser.
"""

from __future__ import annotations

from flask import abort, make_response, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import operators, thumbnails
from webapp.console import bp
from webapp.console.access import outline, require_reviewer
from webapp.crypto import EncryptionError
from webapp.db import db_session
from webapp.models import Operator, UploadedFile
from webapp.storage import storage

SMALL_SIDE = 320  # the session page's thumbnails, twice their CSS size for sharp phone screens


def _kind(data: bytes) -> tuple[str, str] | None:
    """The image type and file extension the bytes really are, whatever the upload claimed."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def _stored(session_id: str, file_id: str) -> tuple[Operator, UploadedFile, str]:
    """The reviewer, the upload and its storage key; 404 when it is not this session's or is
    deleted, 403 (audited) for a viewer."""
    row = outline(session_id)
    operator = require_reviewer(
        "photo_refused", _("Your role (viewer) does not show photos."), row.id
    )
    upload = db_session().scalar(
        select(UploadedFile).where(UploadedFile.id == file_id, UploadedFile.session_id == row.id)
    )
    if upload is None or upload.storage_key is None:
        abort(404)
    return operator, upload, upload.storage_key


def _sent(operator: Operator, upload: UploadedFile, size: str, data: bytes) -> ResponseReturnValue:
    db = db_session()
    operators.audit(
        db, operator, "photo_viewed", session_id=upload.session_id, file=upload.id, size=size
    )
    db.commit()
    response = make_response(data)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/sessions/<session_id>/photos/<file_id>")
def photo(session_id: str, file_id: str) -> ResponseReturnValue:
    """The file as it was uploaded, decrypted."""
    operator, upload, key = _stored(session_id, file_id)
    try:
        data = storage().read(key)
    except (FileNotFoundError, EncryptionError):  # retention deleted it, or a lost key
        abort(404)
    response = make_response(_sent(operator, upload, "full", data))
    kind = _kind(data)
    name = f"{upload.session_id}-{upload.step}-{upload.id}"
    if kind is None:
        response.headers["Content-Type"] = "application/octet-stream"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.bin"'
    else:
        response.headers["Content-Type"] = kind[0]
        response.headers["Content-Disposition"] = f'inline; filename="{name}.{kind[1]}"'
    return response


@bp.get("/sessions/<session_id>/photos/<file_id>/view")
def photo_page(session_id: str, file_id: str) -> ResponseReturnValue:
    """The photo at full size inside the console's page (a browser's own image page would break
    the CSP with its inline styles); the image it loads is what is audited."""
    _, upload, _ = _stored(session_id, file_id)
    return render_template("console/photo.html", upload=upload)


@bp.get("/sessions/<session_id>/photos/<file_id>/small")
def photo_small(session_id: str, file_id: str) -> ResponseReturnValue:
    """A small JPEG copy for the session page; 404 when the file is no image."""
    operator, upload, key = _stored(session_id, file_id)
    small = thumbnails.small_copy(storage(), key, SMALL_SIDE)
    if small is None:
        abort(404)
    response = make_response(_sent(operator, upload, "small", small))
    response.headers["Content-Type"] = "image/jpeg"
    return response
