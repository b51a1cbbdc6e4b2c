"""deploy/compose.yaml's idflow services as processes on this machine, started the way the
end-to-end deployment test starts them; `tests/webapp/test_deploy.py` checks the compose file's
commands against `COMMANDS`."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.support.served import PROJECT, serve_command

MIGRATE = ["db", "upgrade"]
WORKER = ["worker"]
# Every `idflow` command the deployment test runs as a process (the port is the test's choice).
COMMANDS = [MIGRATE, serve_command(8000), WORKER]


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`idflow worker` in a process of its own, its output in `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "webapp.cli", *WORKER],
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as `docker compose stop` sends (RQ's warm shutdown), then SIGKILL if it lingers."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
