"""Absolute http(s) URLs that platforms give us (return URLs, webhook endpoints).

`urlsplit` raises on some malformed URLs (`http://[::1`) and `.port` on others (`:99999`);
parsing them here, once, makes every such URL a 400 on its parameter instead of a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from webapp.errors import InvalidRequest

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class HttpUrl:
    scheme: str
    host: str
    port: int  # the scheme's default when the URL names none
    has_credentials: bool
    target: str  # what an HTTP request line names: the path ("/" if none) and the query


def parse_http_url(url: str, param: str) -> HttpUrl:
    """The parts of an absolute http(s) URL; InvalidRequest on `param` for anything else."""
    message = f"{param} must be an absolute http(s) URL."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidRequest(message, param=param) from exc
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InvalidRequest(message, param=param)
    return HttpUrl(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[parts.scheme],
        has_credentials=parts.username is not None or parts.password is not None,
        target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
    )
