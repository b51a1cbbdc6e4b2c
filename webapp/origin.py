"""The platform API request a change is made in, which events name as Stripe's do (`request`).

Set as a `/v1` request begins and read by `webapp.webhooks.emit`; a change made by the person in
the hosted flow or by a job (a verdict, an abandoned session) has none, Stripe's "automatic".
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context

from webapp.models import new_id


def begin(idempotency_key: str | None) -> str:
    """Name the API request now being served; its id is also its `Request-Id` header."""
    g.api_request = {"id": new_id("req"), "idempotency_key": idempotency_key}
    return str(g.api_request["id"])


def api_request() -> dict[str, Any] | None:
    """The API request being served in this context, if any."""
    if not has_request_context():
        return None
    found: dict[str, Any] | None = g.get("api_request")
    return None if found is None else dict(found)
