"""Stripe's `metadata`, one set of rules for every object that has it (sessions, webhook
endpoints): at most 50 keys of 1-40 characters, string values of at most 500; an empty value
deletes its key, and `metadata=""` empties it (Stripe's update rules)."""

from __future__ import annotations

import math
from typing import Any

from webapp.errors import InvalidRequest

MOST_KEYS = 50
_KEY_LENGTH = 40
_VALUE_LENGTH = 500


def parse(raw: Any) -> dict[str, str]:
    """The keys given, each with its value as text ("" where it deletes the key)."""
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, dict):
        raise InvalidRequest("metadata must be an object.", param="metadata")
    if len(raw) > MOST_KEYS:
        raise InvalidRequest(f"metadata holds at most {MOST_KEYS} keys.", param="metadata")
    metadata: dict[str, str] = {}
    for key, value in raw.items():
        if not key or len(key) > _KEY_LENGTH:
            raise InvalidRequest(
                f"metadata keys must be 1-{_KEY_LENGTH} characters.", param="metadata"
            )
        if (
            not isinstance(value, str | int | float)
            or isinstance(value, bool)
            or (isinstance(value, float) and not math.isfinite(value))  # JSON's NaN, 1e400
        ):
            raise InvalidRequest("metadata values must be strings.", param=f"metadata[{key}]")
        text = str(value)
        if len(text) > _VALUE_LENGTH:
            raise InvalidRequest(
                f"metadata values must be at most {_VALUE_LENGTH} characters.",
                param=f"metadata[{key}]",
            )
        metadata[key] = text
    return metadata


def created(raw: Any) -> dict[str, str]:
    """The metadata of a new object: an empty value deletes a key, and there is none yet."""
    return {key: value for key, value in parse(raw).items() if value}


def updated(current: dict[str, str], raw: Any) -> dict[str, str]:
    """`current` after an update's `metadata` parameter, by Stripe's rules."""
    metadata = {} if raw == "" else dict(current)
    metadata.update(parse(raw))
    metadata = {key: value for key, value in metadata.items() if value}
    if len(metadata) > MOST_KEYS:
        raise InvalidRequest(f"metadata holds at most {MOST_KEYS} keys.", param="metadata")
    return metadata
