"""Database tables. Alembic migrations in `webapp/migrations` create them; a test keeps them equal.

Public ids look like Stripe's (`vs_...`, `vr_...`) and are random, so they reveal neither counts
nor order; sessions also carry an integer `pk` that gives lists a stable order for pagination.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    event,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, QueryContext, mapped_column

from webapp.crypto import EncryptedJSON, Sealed, open_sealed

# A session's life cycle (`webapp.lifecycle` holds the moves between them).
SessionStatus = Literal["requires_input", "processing", "verified", "canceled"]
# What an operator of the console may do (`webapp.operators`): each role adds to the one before.
OperatorRole = Literal["viewer", "reviewer", "admin"]
# A job's way through the queue: "pending" in the outbox, "sent" once Redis holds its id.
JobStatus = Literal["pending", "sent", "running", "done", "failed"]


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database; SQLite would otherwise hand back naive ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


@event.listens_for(Base, "load", propagate=True)
def _open_sealed(target: Base, _context: QueryContext) -> None:
    open_sealed(target)


class PlatformOwned:
    """What one platform owns in one mode (sessions, reports, webhook endpoints, events): every
    API read is scoped by these columns (`Caller.owns`). Each model maps them itself."""

    id: Mapped[str]
    platform_id: Mapped[str]
    livemode: Mapped[bool]


class Platform(Base):
    __tablename__ = "platforms"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the hosted pages show the person instead of "idflow" (`webapp.branding`): the colour
    # as the platform chose it ("#rrggbb", made readable when shown), the icon re-encoded as PNG
    # and the start of its SHA-256, which versions its URL so it can be cached for good.
    brand_name: Mapped[str | None] = mapped_column(String(200), default=None)
    brand_color: Mapped[str | None] = mapped_column(String(7), default=None)
    brand_icon: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    brand_icon_version: Mapped[str | None] = mapped_column(String(16), default=None)


class ApiKey(Base):
    """Only a hash of the secret is kept: keys are 256 random bits, so SHA-256 suffices."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    prefix: Mapped[str] = mapped_column(String(16))  # "sk_live_ab12": enough to recognise it
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class VerificationSession(PlatformOwned, Base):
    __tablename__ = "verification_sessions"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[SessionStatus] = mapped_column(String(20), index=True)
    options: Mapped[dict[str, Any]]
    _provided_details: Mapped[Any] = mapped_column(
        "provided_details", EncryptedJSON("verification_sessions.provided_details")
    )
    provided_details = Sealed[dict[str, Any]]("_provided_details")
    # Platforms often put their user's id or other personal data in these three, so they are
    # encrypted too (migration 0005); nothing queries by them, which encryption would rule out.
    _return_url: Mapped[Any | None] = mapped_column(
        "return_url", EncryptedJSON("verification_sessions.return_url")
    )
    return_url = Sealed[str | None]("_return_url")
    _client_reference_id: Mapped[Any | None] = mapped_column(
        "client_reference_id", EncryptedJSON("verification_sessions.client_reference_id")
    )
    client_reference_id = Sealed[str | None]("_client_reference_id")
    _metadata: Mapped[Any] = mapped_column(
        "metadata", EncryptedJSON("verification_sessions.metadata")
    )
    metadata_ = Sealed[dict[str, Any]]("_metadata")
    # A hosted link finds its session by a keyed hash of its token (`crypto.lookup_hash`); the
    # token itself is kept only encrypted, to give out `url` and `client_secret` while open
    # (migration 0007). The column is nullable only so SQLite could add it to existing tables.
    link_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    _link_token: Mapped[Any | None] = mapped_column(
        "link_token", EncryptedJSON("verification_sessions.link_token")
    )
    link_token = Sealed[str]("_link_token")
    expires_at: Mapped[datetime]
    document_type: Mapped[str | None] = mapped_column(String(20), default=None)
    # The first open of the hosted link (`webapp.funnel`): the funnel's first step.
    opened_at: Mapped[datetime | None] = mapped_column(default=None)
    consented_at: Mapped[datetime | None] = mapped_column(default=None)
    rejections: Mapped[int] = mapped_column(Integer, default=0)
    last_error_code: Mapped[str | None] = mapped_column(String(60), default=None)
    last_error_reason: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_step: Mapped[str | None] = mapped_column(String(20), default=None)
    last_report_id: Mapped[str | None] = mapped_column(String(40), default=None)
    # The id number the person typed in the hosted flow when the session asks for one and the
    # platform gave none: {"type": "br_cpf" | "sg_nric" | "us_ssn" | "other", "number": ...}.
    _id_number_given: Mapped[Any | None] = mapped_column(
        "id_number_given", EncryptedJSON("verification_sessions.id_number_given"), default=None
    )
    id_number_given = Sealed[dict[str, str] | None]("_id_number_given")
    _verified_outputs: Mapped[Any | None] = mapped_column(
        "verified_outputs", EncryptedJSON("verification_sessions.verified_outputs"), default=None
    )
    verified_outputs = Sealed[dict[str, Any] | None]("_verified_outputs")
    # The verdict worked out before Submit, unpublished, with what it was worked out from
    # (`webapp.prepared`); personal data, so sealed, and gone once published or redacted.
    _prepared: Mapped[Any | None] = mapped_column(
        "prepared", EncryptedJSON("verification_sessions.prepared"), default=None
    )
    prepared = Sealed[dict[str, Any] | None]("_prepared")
    # A redaction wipes the rows at once (`redacted_at`) and is `processing` until its job has
    # deleted the stored files too, then `redacted` (Stripe's `redaction.status`).
    redacted_at: Mapped[datetime | None] = mapped_column(default=None)
    redaction_status: Mapped[str | None] = mapped_column(String(10), default=None)
    # The last verdict's signals across sessions and whether an operator must review it
    # (`webapp.risk`); names, reasons and session ids only, no personal data.
    risk: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UploadedFile(Base):
    """One capture; the newest accepted one per step is what gets verified."""

    __tablename__ = "uploaded_files"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("verification_sessions.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(10))
    storage_key: Mapped[str | None] = mapped_column(String(200))  # None once redacted
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[bool] = mapped_column(Boolean)
    _check: Mapped[Any] = mapped_column("check", EncryptedJSON("uploaded_files.check"))
    check = Sealed[dict[str, Any]]("_check")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VerificationReport(PlatformOwned, Base):
    __tablename__ = "verification_reports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("verification_sessions.id", ondelete="CASCADE"), index=True
    )
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    _payload: Mapped[Any] = mapped_column("payload", EncryptedJSON("verification_reports.payload"))
    payload = Sealed[dict[str, Any]]("_payload")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RiskMark(PlatformOwned, Base):
    """What a later session of the same platform and mode is compared with (`webapp.risk`):
    keyed hashes and an encrypted face descriptor, never the values. A verified session leaves
    one `verified` mark, a submit from the hosted flow one `address` mark; redaction and
    retention delete them."""

    __tablename__ = "risk_marks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("verification_sessions.id", ondelete="CASCADE"), index=True
    )
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(10))  # verified address
    # The document's issuing country and number (verified) or the client's address (address).
    value_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    name_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    dob_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    _descriptor: Mapped[Any | None] = mapped_column(
        "descriptor", EncryptedJSON("risk_marks.descriptor"), default=None
    )
    descriptor = Sealed[list[float] | None]("_descriptor")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Job(Base):
    """Work done off the request by whichever runner claims it first (see `webapp.jobs`)."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]]
    status: Mapped[JobStatus] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class IdempotencyRecord(Base):
    """A POST's response kept under its Idempotency-Key, so a retried request does nothing twice."""

    __tablename__ = "idempotency_records"

    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)  # test keys never see live
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)  # None: in progress
    _response: Mapped[Any | None] = mapped_column(
        "response",
        EncryptedJSON("idempotency_records.response", row=("platform_id", "livemode", "key")),
        default=None,
    )
    response = Sealed[dict[str, Any] | None]("_response")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEndpoint(PlatformOwned, Base):
    """Where a platform wants events; the signing secret is encrypted like personal data, since
    whoever reads it can forge events (every delivery decrypts it to sign)."""

    __tablename__ = "webhook_endpoints"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    url: Mapped[str] = mapped_column(Text)
    enabled_events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    # Stripe's: the platform's own keys, and the API version it asked for (shown, not applied:
    # idflow renders one version, `webapp.representations.API_VERSION`).
    metadata_: Mapped[dict[str, str]] = mapped_column(
        "metadata", JSON, default=dict, server_default=text("'{}'")
    )
    api_version: Mapped[str | None] = mapped_column(String(40), default=None)
    _secret: Mapped[Any] = mapped_column("secret", EncryptedJSON("webhook_endpoints.secret"))
    secret = Sealed[str]("_secret")
    status: Mapped[str] = mapped_column(String(10), default="enabled")  # enabled disabled
    disabled_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(PlatformOwned, Base):
    """A change worth telling platforms about, stored before any delivery is tried."""

    __tablename__ = "events"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    type: Mapped[str] = mapped_column(String(60), index=True)
    object_id: Mapped[str] = mapped_column(String(40), index=True)
    _data: Mapped[Any] = mapped_column("data", EncryptedJSON("events.data"))  # personal data
    data = Sealed[dict[str, Any]]("_data")
    # The API request that caused it (`{"id": "req_...", "idempotency_key": ...}`); None when
    # the person or a job did (a verdict, the hosted flow).
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event on its way to one endpoint: pending until a 2xx, or failed once retries end.

    `job_id` is the `deliver_event` job that holds it now (a redelivery replaces it); while the
    delivery is pending, that job's `run_at` is its next attempt."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10))  # pending succeeded failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    job_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    """One HTTP request of a delivery, kept so a platform can see why its endpoint failed."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Operator(Base):
    """A staff account of the console. The email is personal data: kept encrypted, and found at
    login by a keyed hash of its lower-cased form (`crypto.lookup_hash`), as hosted links are.
    Without a platform the operator sees every platform (instance-wide)."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    _email: Mapped[Any] = mapped_column("email", EncryptedJSON("operators.email"))
    email = Sealed[str]("_email")
    role: Mapped[OperatorRole] = mapped_column(String(10))
    platform_id: Mapped[str | None] = mapped_column(ForeignKey("platforms.id"), default=None)
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # The console's sign-in cookie carries this number; signing out or a new password moves it
    # on, which ends every copy of the cookie (the cookie alone is no server-side state).
    sign_in_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The optional second factor (`webapp.totp`): the secret sealed like the email, on once
    # confirmed, and the time step of the last code accepted (an older or equal one is refused).
    _totp_secret: Mapped[Any | None] = mapped_column(
        "totp_secret", EncryptedJSON("operators.totp_secret"), default=None
    )
    totp_secret = Sealed[str | None]("_totp_secret")
    totp_enabled_at: Mapped[datetime | None] = mapped_column(default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what, when: logins (also failed ones), every view of personal data, every refusal.
    Append-only: the ORM refuses to change or delete a row (see the listeners below). `detail`
    holds ids and reasons only; a failed login for an unknown email keeps the email's keyed hash,
    never the email; a review decision's note is sealed."""

    __tablename__ = "audit_log"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    operator_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id"), index=True, default=None
    )
    action: Mapped[str] = mapped_column(String(40), index=True)
    session_id: Mapped[str | None] = mapped_column(String(40), index=True, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A reviewer's note may name the person: encrypted like other personal data.
    _note: Mapped[Any | None] = mapped_column("note", EncryptedJSON("audit_log.note"), default=None)
    note = Sealed[str | None]("_note")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(_mapper: Any, _connection: Any, target: AuditEntry) -> None:
    raise PermissionError(f"the audit log is append-only (entry {target.id})")
