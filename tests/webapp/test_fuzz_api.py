"""Property-based fuzzing of `/v1` from the OpenAPI document the app serves (schemathesis).

Every operation gets schema-valid and schema-breaking requests, with and without a key: no answer
may be a 5xx, and each must be documented (status code, content type, body schema). A refusal
of broken input must be a 4xx. The counts per operation and status are written to
test-output/fuzz-api.json.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.database import migrate
from tests.support.platform import ApiPlatform, make_platform
from tests.support.served import PROJECT
from webapp import create_app

SUMMARY = PROJECT / "test-output" / "fuzz-api.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = 30  # per operation and mode: the whole file stays well under a minute
OUTCOMES: Counter[tuple[str, str, int]] = Counter()


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One app for the whole run: the sessions created by fuzzing are there to be read back."""
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp_path_factory.mktemp("fuzz") / "data"),
            "SECRET_KEY": "fuzz-secret",
            "BASE_URL": "http://idflow.test",
            "JOB_WORKERS": 0,
            # Off: which case meets the limit would hang on machine speed (429: test_openapi).
            "RATELIMIT_ENABLED": False,
        }
    )
    migrate(app)
    return app


@pytest.fixture(scope="module")
def fuzz_platform(fuzz_app: Flask) -> ApiPlatform:
    return make_platform(fuzz_app, "Fuzz platform")


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Flask) -> BaseSchema:
    """Loaded from the running app, so what is fuzzed is what the API really serves."""
    return schemathesis.openapi.from_wsgi("/v1/openapi.json", fuzz_app)


_HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
VARIANTS = ("positive", "negative", "bad_key")


def _operations() -> list[tuple[str, str, bool]]:
    """(method, path, takes input) for each documented operation."""
    text = (resources.files("webapp.api") / "openapi.json").read_text(encoding="utf-8")
    paths: dict[str, dict[str, Any]] = json.loads(text)["paths"]
    return [
        (
            method.upper(),
            path,
            bool(item.get("parameters") or op.get("parameters")) or "requestBody" in op,
        )
        for path, item in paths.items()
        for method, op in item.items()
        if method in _HTTP_METHODS
    ]


def _cases() -> list[tuple[str, str, str]]:
    return [
        (method, path, variant)
        for method, path, takes_input in _operations()
        for variant in VARIANTS
        if takes_input or variant == "positive"
    ]


@pytest.mark.parametrize(("method", "path", "variant"), _cases())
def test_every_answer_is_documented_and_none_is_a_server_error(
    method: str,
    path: str,
    variant: str,
    api_schema: BaseSchema,
    fuzz_platform: ApiPlatform,
) -> None:
    """Valid and invalid input with a valid key; `bad_key` keeps the generated credentials
    (none, malformed, Basic or Bearer with made-up keys), which must all be refused."""
    operation = api_schema[path][method]
    mode = GenerationMode.NEGATIVE if variant == "negative" else GenerationMode.POSITIVE

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
    def run(case: Case[Any]) -> None:
        headers = dict(case.headers or {})
        if variant != "bad_key":
            headers["Authorization"] = fuzz_platform.headers["Authorization"]
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        if variant == "bad_key":
            assert response.status_code == 401, response.text[:300]
        OUTCOMES[(f"{method} {path}", variant, response.status_code)] += 1

    run()


def test_fuzzing_reached_every_operation_and_both_sides() -> None:
    """Runs after the fuzz cases (file order): the fuzzing must really have exercised the API."""
    if not OUTCOMES:
        pytest.skip("the fuzz cases were not selected in this run")
    operations = {operation for operation, _, _ in OUTCOMES}
    assert len(operations) == len(_operations()), operations
    statuses = {status for _, _, status in OUTCOMES}
    assert {200, 400, 401, 404} <= statuses, statuses
    assert all(status < 500 for status in statuses)
    SUMMARY.parent.mkdir(exist_ok=True)
    rows = [
        {"operation": operation, "variant": variant, "status": status, "count": count}
        for (operation, variant, status), count in sorted(OUTCOMES.items())
    ]
    SUMMARY.write_text(json.dumps({"cases": OUTCOMES.total(), "outcomes": rows}, indent=1))
