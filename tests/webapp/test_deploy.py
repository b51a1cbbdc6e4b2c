"""deploy/compose.yaml cannot be started here (no registry), so it is read: every idflow service
runs a command the end-to-end deployment test runs as a process, with variables idflow reads,
and Caddy sends the traffic to the web servers it runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.deployment import COMMANDS, WORKER
from tests.support.served import serve_command
from webapp.cli import build_parser
from webapp.config import from_environment

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class _Recording(dict[str, str]):
    """An empty environment that notes every variable asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def _idflow(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services built from this repository (the rest are stock images)."""
    return {name: service for name, service in services.items() if "build" in service}


def _handler(arguments: list[str]) -> Any:
    return build_parser().parse_args(arguments).handler


def _running(services: dict[str, dict[str, Any]], command: list[str]) -> dict[str, Any]:
    """The idflow services that run `command` (whatever its options)."""
    wanted = _handler(command)
    return {
        name: service
        for name, service in _idflow(services).items()
        if _handler(service["command"][1:]) == wanted
    }


def test_every_idflow_service_runs_a_command_the_tests_run(
    services: dict[str, dict[str, Any]],
) -> None:
    tested = {_handler(command) for command in COMMANDS}
    run = set()
    for name, service in _idflow(services).items():
        program, *arguments = service["command"]
        assert program == "idflow", name
        run.add(_handler(arguments))  # argparse refuses an option the command does not take
    assert run == tested


def test_the_variables_are_ones_idflow_reads(services: dict[str, dict[str, Any]]) -> None:
    environment = _Recording()
    from_environment(environment)
    for name, service in _idflow(services).items():
        variables = set(service["environment"])
        assert {v for v in variables if v.startswith("IDFLOW_")} <= environment.asked, name
        assert variables - environment.asked <= {
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
        }, name
        assert service["environment"]["IDFLOW_STORAGE_URL"].startswith("s3://"), name


def test_the_machines_of_the_deployment(services: dict[str, dict[str, Any]]) -> None:
    web = _running(services, serve_command(8000))
    workers = _running(services, WORKER).values()
    assert len(web) == 2 and sum(s.get("deploy", {}).get("replicas", 1) for s in workers) == 2
    images = {service.get("image", "").split(":")[0] for service in services.values()}
    assert {"caddy", "postgres", "redis", "minio/minio"} <= images
    for name in web:
        port = services[name]["command"][services[name]["command"].index("--port") + 1]
        assert services[name]["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/health"
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams is not None
    assert {u.split(":")[0] for u in upstreams.group(1).split()} == set(web)
