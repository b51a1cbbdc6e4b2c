"""The OpenAPI 3.1 document of `/v1`, kept as JSON beside the code and checked by the tests."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _document() -> dict[str, Any]:
    text = (resources.files("webapp.api") / "openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def openapi_document(base_url: str) -> dict[str, Any]:
    return {**_document(), "servers": [{"url": base_url}]}
