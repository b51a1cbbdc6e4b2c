"""The person's link to a session (`/v/<token>`): where it points, whether it still opens, and
the keyed hash a session is found by from it (the token itself is never looked up in clear)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from webapp import crypto
from webapp.models import VerificationSession, utcnow


def link_hash(db: Session, token: str) -> str:
    """What a session is found by from its link (never the token itself)."""
    return crypto.lookup_hash(crypto.ring_for(db.get_bind().dialect), token)


def is_link_usable(session: VerificationSession) -> bool:
    return (
        session.status in ("requires_input", "processing")
        and session.redacted_at is None
        and session.expires_at > utcnow()
    )


def hosted_url(base_url: str, session: VerificationSession) -> str:
    return f"{base_url}/v/{session.link_token}"
