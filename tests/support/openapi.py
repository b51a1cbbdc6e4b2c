"""Responses checked against the OpenAPI document of `/v1`."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

URI = "urn:idflow:openapi"


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _lookup(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


class Checker:
    """Validates responses against the document and remembers which (path, method, status) ran."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(URI, resource)
        self.seen: set[tuple[str, str, str]] = set()

    def schema_pointer(self, path: str, method: str, status: int) -> str:
        responses = self.document["paths"][path][method]["responses"]
        assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
        pointer = _pointer("paths", path, method, "responses", str(status))
        response = _lookup(self.document, pointer)
        if "$ref" in response:
            pointer = response["$ref"]
        return pointer + "/" + _pointer("content", "application/json", "schema")[2:]

    def check(self, path: str, method: str, response: TestResponse) -> Any:
        assert response.mimetype == "application/json", response.data[:200]
        body = response.get_json()
        pointer = self.schema_pointer(path, method, response.status_code)
        validator = Draft202012Validator({"$ref": URI + pointer}, registry=self.registry)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, f"{method.upper()} {path} {response.status_code}: {errors}"
        self.seen.add((path, method, str(response.status_code)))
        return body
