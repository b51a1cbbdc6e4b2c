"""A real `idflow serve` in a subprocess, and a small cookie-keeping HTTP client to walk its flow.

Used by the crash-recovery and browser tests: the server runs in its own process group
(`start_new_session`) so a test can SIGKILL gunicorn's master and workers together.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

from bench.servers import free_port

PROJECT = Path(__file__).resolve().parents[2]
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def server_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("IDFLOW_") and key != "PYTHONWARNINGS"
    }
    env.update(
        IDFLOW_DATA_DIR=str(data_dir),
        IDFLOW_BASE_URL=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def idflow(env: dict[str, str], *args: str) -> str:
    """Run an `idflow` command as a person would; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "webapp.cli", *args],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def serve_command(port: int) -> list[str]:
    """The arguments of `idflow` that serve the app, as the tests start it (and the deployment's
    web servers do, `tests/webapp/test_deploy.py`)."""
    return ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--threads", "4"]


@dataclass
class Server:
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _log_file: BinaryIO | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        """Serve with one gunicorn worker and wait until /health answers."""
        self._log_file = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "webapp.cli", *serve_command(self.port)],
            env=self.env,
            cwd=PROJECT,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
            try:
                status, _, _ = request(self.url + "/health")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("server did not start: " + self.log.read_text(errors="replace"))

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal the whole process group (gunicorn's master and its workers) and reap it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)
        if sig != signal.SIGKILL:  # a clean stop may leave workers behind: make sure
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


@contextlib.contextmanager
def served_app(folder: Path, **extra: str) -> Iterator[Server]:
    """A server on a free port with its data and log in `folder`, not started yet; whatever is
    left of it is killed at the end."""
    port = free_port()
    served = Server(port, server_env(folder / "data", port, **extra), folder / "server.log")
    try:
        yield served
    finally:
        served.kill()


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request, redirects not followed: (status, headers, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        found = {name.lower(): value for name, value in response.getheaders()}
        cookies = response.headers.get_all("Set-Cookie") or []
        if cookies:
            found["set-cookie"] = "\n".join(cookies)
        return response.status, found, data
    finally:
        connection.close()


def api(server: Server, key: str, method: str, path: str, payload: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    status, _, data = request(server.url + path, method, body, headers)
    assert status == 200, (status, data[:500])
    return json.loads(data)


def start_platform(server: Server, name: str) -> dict[str, str]:
    """Create a platform with `idflow platform create` and serve: its id and keys."""
    created: dict[str, str] = json.loads(idflow(server.env, "platform", "create", name, "--json"))
    server.start()
    return created


def new_session(
    server: Server,
    key: str,
    allowed: tuple[str, ...] = ("passport",),
    *,
    selfie: bool = False,
    **body: Any,
) -> dict[str, Any]:
    """A document session created through the API, as a platform would; `body` adds to it."""
    options = {"document": {"allowed_types": list(allowed), "require_matching_selfie": selfie}}
    request = {"type": "document", "options": options, **body}
    session: dict[str, Any] = api(server, key, "POST", "/v1/verification_sessions", request)
    return session


@dataclass
class Visitor:
    """A person's browser without JavaScript: keeps cookies, posts forms with their CSRF token."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def _send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        status, found, data = request(urljoin(self.base, path), method, body, headers)
        for line in found.get("set-cookie", "").splitlines():
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        return status, found, data

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        status, found, data = self._send("GET", path, None, {})
        return status, found, data.decode(errors="replace")

    def follow(self, path: str) -> tuple[str, str]:
        """GET and follow redirects; the final path and page."""
        for _ in range(10):
            status, found, page = self.get(path)
            if status not in (301, 302, 303):
                assert status == 200, (status, path, page[:500])
                return path, page
            path = urlsplit(urljoin(self.base, found["location"])).path
        raise AssertionError("too many redirects")

    def post_form(
        self, path: str, fields: dict[str, str], file: tuple[str, bytes] | None = None
    ) -> tuple[int, dict[str, str]]:
        """Post the form on the page at `path` (fetched first for its CSRF token)."""
        _, _, page = self.get(path)
        token = _CSRF.search(page)
        assert token is not None, page[:500]
        values = {"csrf_token": token.group(1), **fields}
        boundary = uuid.uuid4().hex
        chunks = []
        for name, value in values.items():
            chunks.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        if file is not None:
            name, data = file
            chunks.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                'filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        chunks.append(f"--{boundary}--\r\n".encode())
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        status, found, _ = self._send("POST", path, b"".join(chunks), headers)
        return status, found


def database_rows(data_dir: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the server's SQLite database directly, as an operator would."""
    connection = sqlite3.connect(f"file:{data_dir / 'idflow.sqlite3'}?mode=ro", uri=True)
    try:
        return connection.execute(query, params).fetchall()
    finally:
        connection.close()
