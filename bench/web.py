"""`idflow bench-web`: the hosted pages under concurrent load, and memory while big photos upload.

It serves the app as production does (`idflow serve`, gunicorn) from a throw-away data folder,
creates sessions through the API, then:
- N clients on loopback keep opening hosted pages (the link, which redirects, and the consent
  page) for a fixed time; it reports the app's own time per request (`Server-Timing`) and what
  the clients waited, which adds queueing in front of the workers;
- one client uploads a photo of the given size several times to a capture step, while the
  gunicorn workers' resident memory is sampled, to show an upload is streamed, not held.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np

_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
_TIMING = re.compile(r"dur=([0-9.]+)")


class BenchError(RuntimeError):
    """The benchmark could not run (server did not start, a step was refused)."""


@dataclass(frozen=True)
class PageFigures:
    clients: int
    seconds: float
    requests: int
    errors: int
    requests_per_second: float
    server_ms_median: float
    server_ms_p95: float
    client_ms_median: float
    client_ms_p95: float


@dataclass(frozen=True)
class UploadFigures:
    upload_mb: float
    uploads: int
    statuses: list[int]
    worker_rss_mb_after_each: list[float]
    worker_rss_mb_before: float
    worker_rss_mb_peak: float
    worker_rss_mb_after: float


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Server:
    """`idflow serve` in a child process, on its own port and data folder."""

    def __init__(self, data_dir: Path, workers: int, threads: int) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "IDFLOW_DATA_DIR": str(data_dir),
            "IDFLOW_BASE_URL": self.base,
            "IDFLOW_JOB_WORKERS": "0",
            "IDFLOW_RATELIMIT_ENABLED": "0",  # the load comes from one address on purpose
        }
        command = [sys.executable, "-m", "webapp.cli", "serve", "--port", str(self.port)]
        command += ["--workers", str(workers), "--threads", str(threads)]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise BenchError("the server did not start within 30 s")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        connection: http.client.HTTPConnection | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        own = connection is None
        conn = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            if own:
                conn.close()

    def worker_rss_mb(self) -> float:
        """Resident memory of the largest gunicorn worker (children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        sizes = [0.0]
        for pid in children.read_text().split():
            status = Path(f"/proc/{pid}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
        return max(sizes)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _secret_key(data_dir: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "platform", "create", "Benchmark", "--json"],
        env={**os.environ, "IDFLOW_DATA_DIR": str(data_dir), "IDFLOW_JOB_WORKERS": "0"},
        capture_output=True,
        check=True,
        text=True,
    )
    key: str = json.loads(result.stdout)["secret_key"]
    return key


def _create_session(server: Server, key: str, body: dict[str, Any]) -> str:
    status, _, data = server.request(
        "POST",
        "/v1/verification_sessions",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    if status != 200:
        raise BenchError(f"creating a session failed with {status}: {data[:200]!r}")
    path: str = urlsplit(json.loads(data)["url"]).path
    return path


def bench_pages(server: Server, links: list[str], clients: int, seconds: float) -> PageFigures:
    server_ms: list[float] = []
    client_ms: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        link = links[number % len(links)]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        mine_server: list[float] = []
        mine_client: list[float] = []
        failed = 0
        while time.monotonic() < stop_at:
            for path in (link, f"{link}/consent"):
                start = time.perf_counter()
                try:
                    status, headers, _ = server.request("GET", path, connection=conn)
                except (OSError, http.client.HTTPException):
                    failed += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                    continue
                mine_client.append((time.perf_counter() - start) * 1000)
                timing = _TIMING.search(headers.get("server-timing", ""))
                if status not in (200, 302) or timing is None:
                    failed += 1
                    continue
                mine_server.append(float(timing.group(1)))
        conn.close()
        with lock:
            server_ms.extend(mine_server)
            client_ms.extend(mine_client)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return PageFigures(
        clients=clients,
        seconds=round(elapsed, 1),
        requests=len(client_ms),
        errors=errors[0],
        requests_per_second=round(len(client_ms) / elapsed, 1),
        server_ms_median=round(statistics.median(server_ms), 1),
        server_ms_p95=round(_percentile(server_ms, 0.95), 1),
        client_ms_median=round(statistics.median(client_ms), 1),
        client_ms_p95=round(_percentile(client_ms, 0.95), 1),
    )


def big_photo(megabytes: float) -> bytes:
    """A camera-sized JPEG of about the given size: grain does not compress, so it stays big."""
    rng = np.random.default_rng(7)
    height, width = 3000, 4000
    base = np.full((height, width, 3), 150, np.uint8)
    quality = 95
    while True:
        grain = rng.normal(0, 40, (height, width, 3))
        image = np.clip(base + grain, 0, 255).astype(np.uint8)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise BenchError("could not encode the benchmark photo")
        data = encoded.tobytes()
        if len(data) >= megabytes * 1024 * 1024 or quality >= 100:
            return data
        quality += 1


def _multipart(fields: dict[str, str], photo: bytes) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _through_to_front(server: Server, link: str, conn: http.client.HTTPConnection) -> str:
    """Consent and (only) passport accepted: the next page is the front capture. Returns cookie."""
    status, headers, page = server.request("GET", f"{link}/consent", connection=conn)
    cookie = headers.get("set-cookie", "").split(";")[0]
    token = _CSRF.search(page)
    if status != 200 or token is None:
        raise BenchError(f"the consent page did not load ({status})")
    form = f"csrf_token={token.group(1).decode()}&accept=Continue".encode()
    status, headers, _ = server.request(
        "POST",
        f"{link}/consent",
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        connection=conn,
    )
    if status not in (302, 303):
        raise BenchError(f"consent was not accepted ({status})")
    return headers.get("set-cookie", "").split(";")[0] or cookie


def bench_upload(server: Server, link: str, megabytes: float, uploads: int) -> UploadFigures:
    photo = big_photo(megabytes)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    cookie = _through_to_front(server, link, conn)
    before = server.worker_rss_mb()
    peak = before
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampling.is_set():
            peak = max(peak, server.worker_rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    statuses = []
    after_each: list[float] = []
    try:
        for _ in range(uploads):
            status, _, page = server.request(
                "GET", f"{link}/front", headers={"Cookie": cookie}, connection=conn
            )
            token = _CSRF.search(page)
            if token is None:
                raise BenchError(f"the capture page has no form ({status})")
            body, content_type = _multipart({"csrf_token": token.group(1).decode()}, photo)
            status, _, _ = server.request(
                "POST",
                f"{link}/front",
                body,
                {"Content-Type": content_type, "Cookie": cookie},
                connection=conn,
            )
            statuses.append(status)
            after_each.append(round(server.worker_rss_mb(), 1))
    finally:
        sampling.set()
        sampler.join()
        conn.close()
    return UploadFigures(
        upload_mb=round(len(photo) / 1024 / 1024, 1),
        uploads=uploads,
        statuses=statuses,
        worker_rss_mb_after_each=after_each,
        worker_rss_mb_before=round(before, 1),
        worker_rss_mb_peak=round(peak, 1),
        worker_rss_mb_after=round(server.worker_rss_mb(), 1),
    )


def run_bench(
    *, clients: int, seconds: float, upload_mb: float, uploads: int, workers: int, threads: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="idflow-bench-") as folder:
        data_dir = Path(folder)
        key = _secret_key(data_dir)
        server = Server(data_dir, workers, threads)
        try:
            links = [_create_session(server, key, {"type": "document"}) for _ in range(clients)]
            server.request("GET", links[0])  # first requests pay for imports; not measured
            pages = bench_pages(server, links, clients, seconds)
            passport_only = {
                "type": "document",
                "options": {"document": {"allowed_types": ["passport"]}},
            }
            upload = bench_upload(
                server, _create_session(server, key, passport_only), upload_mb, uploads
            )
        finally:
            server.stop()
    return {
        "server": {"workers": workers, "threads": threads, "cpus": os.cpu_count()},
        "pages": asdict(pages),
        "upload": asdict(upload),
    }


def print_figures(figures: dict[str, Any]) -> None:
    server, pages, upload = figures["server"], figures["pages"], figures["upload"]
    print(
        f"gunicorn {server['workers']} workers x {server['threads']} threads, "
        f"{server['cpus']} CPUs, loopback"
    )
    print(
        f"hosted pages, {pages['clients']} concurrent clients for {pages['seconds']} s: "
        f"{pages['requests']} requests ({pages['requests_per_second']}/s), "
        f"{pages['errors']} errors"
    )
    print(
        f"  app time per request: median {pages['server_ms_median']} ms, "
        f"p95 {pages['server_ms_p95']} ms"
    )
    print(
        f"  client wait (queueing included): median {pages['client_ms_median']} ms, "
        f"p95 {pages['client_ms_p95']} ms"
    )
    print(
        f"upload of a {upload['upload_mb']} MB photo x{upload['uploads']} "
        f"(statuses {upload['statuses']}): worker RSS {upload['worker_rss_mb_before']} MB "
        f"before, {upload['worker_rss_mb_peak']} MB peak, {upload['worker_rss_mb_after']} MB after"
    )
    print(f"  worker RSS after each upload (MB): {upload['worker_rss_mb_after_each']}")
