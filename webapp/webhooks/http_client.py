"""The outgoing HTTP client webhooks are sent with, safe to point at a URL a platform chose.

Internal addresses (loopback, private, link-local, multicast, reserved, unspecified, and IPv6
addresses that carry one through NAT64, 6to4, Teredo or the IPv4-compatible form) are refused
unless the caller allows them; the name is resolved once and the connection goes to the very
addresses checked, so DNS cannot swap in another between check and connect. One deadline bounds
the whole exchange (connect, TLS, send, the entire answer), redirects are not followed, and at
most `_RESPONSE_BYTES` of an answer are read.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

from webapp.errors import InvalidRequest
from webapp.urls import parse_http_url

_RESPONSE_BYTES = 64 * 1024  # read (and drop) at most this much of a receiver's answer
_ERROR_LENGTH = 200


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` stands for (a literal address stands for itself)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (UnicodeError, ValueError) as exc:  # names the resolver cannot even encode
        raise OSError(f"cannot resolve {host!r}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in found))


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use only
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d (also :: and ::1)


def _carried_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address stands for through a translator or tunnel (mapped,
    NAT64, IPv4-compatible, 6to4, Teredo's server and client), or None for a plain one."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return None


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.partition("%")[0])  # an IPv6 scope (fe80::1%eth0) dropped
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return True
        carried = _carried_ipv4(ip)
        if carried is not None:  # judged by where it leads: 64:ff9b::127.0.0.1 is loopback
            return any(_internal(str(inner)) for inner in carried)
    # Only the public internet: also shuts out shared (100.64/10), benchmark and other
    # special-purpose ranges that `is_private` alone lets through.
    return not ip.is_global or ip.is_multicast


def refused_address(addresses: list[str]) -> str | None:
    """The first address a webhook may not be sent to; one is enough to refuse the name."""
    return next((address for address in addresses if _internal(address)), None)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _remaining(deadline: float) -> float:
    """Seconds left before `deadline` (a `time.monotonic()` value); none left is a timeout."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the delivery's deadline passed")
    return left


class _DeadlineSocket:
    """A connected socket whose every send and receive must end by one deadline.

    A socket timeout bounds a single operation only, so a receiver dripping its answer a byte at
    a time could hold a runner thread for ever; arming the timeout with the time left before each
    operation bounds the whole delivery. It stands in for the socket `http.client` uses; closing
    it leaves the real socket open, since a response that ends the connection still reads after
    `http.client` has closed the connection (`_PinnedHTTPConnection.discard` closes it).
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            self.sock.settimeout(_remaining(self.deadline))
            view = view[self.sock.send(view) :]

    def recv_into(self, buffer: memoryview) -> int:
        self.sock.settimeout(_remaining(self.deadline))
        return self.sock.recv_into(buffer)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self))

    def close(self) -> None:
        return


class _DeadlineReader(io.RawIOBase):
    """The response stream of a `_DeadlineSocket`."""

    def __init__(self, sock: _DeadlineSocket) -> None:
        self.sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self.sock.recv_into(memoryview(buffer))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to addresses checked beforehand, never to what the name resolves to later, and
    gives up on the whole exchange at `deadline`."""

    def __init__(self, host: str, port: int, addresses: list[str], deadline: float) -> None:
        super().__init__(host, port)
        self.addresses = addresses
        self.deadline = deadline
        self.raw: socket.socket | None = None

    def _open(self) -> socket.socket:
        failure: OSError = OSError(f"no address for {self.host}")
        for address in self.addresses:
            try:
                return socket.create_connection((address, self.port), _remaining(self.deadline))
            except OSError as exc:  # a timeout too: the next address then has no time left
                failure = exc
        raise failure

    def _secure(self, sock: socket.socket) -> socket.socket:
        return sock

    def connect(self) -> None:
        self.raw = self._secure(self._open())
        self.sock = _DeadlineSocket(self.raw, self.deadline)

    def discard(self) -> None:
        """Close the connection and its socket, whatever state the exchange ended in."""
        self.close()
        if self.raw is not None:
            self.raw.close()
            self.raw = None


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """TLS to a checked address; the certificate must still match the endpoint's host name."""

    default_port = 443

    def __init__(self, host: str, port: int, addresses: list[str], deadline: float) -> None:
        super().__init__(host, port, addresses, deadline)
        self.tls = ssl.create_default_context()

    def _secure(self, sock: socket.socket) -> socket.socket:
        try:  # the handshake as a whole gets the time left (CPython bounds it, not each read)
            sock.settimeout(_remaining(self.deadline))
            return self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _destination(host: str, port: int, allow_private: bool) -> tuple[list[str], str | None]:
    """The addresses to connect to, or the reason there are none."""
    try:
        addresses = resolve(host, port)
    except OSError as exc:
        return [], f"{type(exc).__name__}: {exc}"
    refused = refused_address(addresses)
    if refused is not None and not allow_private:
        return [], f"url_not_allowed: {host} resolves to the internal address {refused}"
    return addresses, None


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    *,
    allow_private: bool = False,
) -> Outcome:
    """One POST of `body` within `timeout` seconds in all; redirects are not followed (a moved
    endpoint must be updated). Never raises: every failure is in the outcome."""
    try:
        destination = parse_http_url(url, "url")  # checked when the endpoint was saved
    except InvalidRequest as exc:  # saved before the parser was as strict: fails like a refusal
        return Outcome(None, 0, f"url_not_allowed: {exc.message}"[:_ERROR_LENGTH])
    started = time.perf_counter()
    deadline = time.monotonic() + timeout  # for the whole delivery, not each socket operation
    host, port = destination.host, destination.port
    addresses, refusal = _destination(host, port, allow_private)
    if refusal is not None:
        latency = round((time.perf_counter() - started) * 1000)
        return Outcome(None, latency, refusal[:_ERROR_LENGTH])
    https = destination.scheme == "https"
    connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = connection_class(host, port, addresses, deadline)
    status_code: int | None = None
    error: str | None = None
    try:
        connection.request("POST", destination.target, body, headers)
        response = connection.getresponse()
        response.read(_RESPONSE_BYTES)
        status_code = response.status
    except TimeoutError:
        error = f"timed out after {timeout:g} s"
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:_ERROR_LENGTH]
    finally:
        connection.discard()
    latency = round((time.perf_counter() - started) * 1000)
    if status_code is not None and not 200 <= status_code < 300:
        error = f"HTTP {status_code}"
    return Outcome(status_code, latency, error)
