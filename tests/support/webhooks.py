"""A webhook receiver on loopback that records what it gets and answers as a test plans."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


@dataclass
class Receiver:
    """A tiny webhook receiver; `plan` says how to answer each request in turn (then 200)."""

    url: str = ""
    plan: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> str:
        with self.lock:
            self.received.append(Received(headers, body))
            return self.plan.pop(0) if self.plan else "200"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            action = receiver.answer(dict(self.headers.items()), body)
            if action == "drip":
                self._drip()
                return
            if action == "hang":
                time.sleep(1.0)  # longer than the test's delivery timeout
            try:
                self.send_response(int(action) if action.isdigit() else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting; that is the point of "hang"

        def _drip(self) -> None:
            """Headers at once, then the body a byte every 0.3 s: each read is quick, the whole
            answer is not."""
            self.send_response(200)
            self.send_header("Content-Length", "20")
            self.end_headers()
            try:
                for _ in range(20):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.3)
            except OSError:
                pass  # the sender gave up

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def serve_receiver(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A receiver listening on a free loopback port (over TLS when given a server context) for
    as long as the block runs."""
    box = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(box))
    server.daemon_threads = True
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    box.url = f"{scheme}://127.0.0.1:{server.server_address[1]}/hooks?source=idflow"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
    thread.join()
