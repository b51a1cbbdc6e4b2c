"""Absolute http(s) URLs that platforms give us (return URLs, webhook endpoints).

`urlsplit` raises on some malformed URLs (`http://[::1`) and `.port` on others (`:99999`), and
accepts hosts no DNS name or address looks like (`x;script-src 'unsafe-inline';x`), which would
end up in headers such as the CSP's `form-action`. Parsing them here, once, makes every such URL
a 400 on its parameter instead of a 500 or an injection, and gives the one origin to put in a
header.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from webapp.errors import InvalidRequest

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")  # RFC 1123: letters, digits, inner hyphens
_NAME_LENGTH = 253


@dataclass(frozen=True)
class HttpUrl:
    scheme: str
    host: str
    port: int  # the scheme's default when the URL names none
    has_credentials: bool
    target: str  # what an HTTP request line names: the path ("/" if none) and the query

    @property
    def origin(self) -> str:
        """`scheme://host[:port]`, the only part of a URL that goes into a header."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == _DEFAULT_PORTS[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{host}{port}"


def _host(name: str) -> str | None:
    """An IP address, or a host name made of dot-separated letters, digits and hyphens once
    IDNA-encoded (lower case, as DNS and browsers compare it); None for anything else."""
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        pass
    else:  # a scoped IPv6 address (fe80::1%eth0) means something only on this machine
        scoped = isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None
        return None if scoped else address.compressed
    try:
        encoded = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if len(encoded) > _NAME_LENGTH or not all(_LABEL.match(part) for part in encoded.split(".")):
        return None
    return encoded


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
    host = _host(parts.hostname)
    if host is None:
        raise InvalidRequest(f"{param} must name a valid host name or IP address.", param=param)
    return HttpUrl(
        scheme=parts.scheme,
        host=host,
        port=port or _DEFAULT_PORTS[parts.scheme],
        has_credentials=parts.username is not None or parts.password is not None,
        target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
    )
