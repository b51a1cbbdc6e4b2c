"""Request bodies as nested dicts, whether sent as JSON or as Stripe's bracketed form fields.

`options[document][allowed_types][]=passport&metadata[order]=42` becomes
`{"options": {"document": {"allowed_types": ["passport"]}}, "metadata": {"order": "42"}}`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Request, request
from werkzeug.datastructures import MultiDict

from webapp.errors import InvalidRequest
from webapp.paging import MAX_LIST_LIMIT, ListPage

_PART = re.compile(r"\[([^\[\]]*)\]")
_NAME = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_MAX_DEPTH = 5


def _insert(target: dict[str, Any], path: list[str], values: list[str], field: str) -> None:
    node: Any = target
    for index, part in enumerate(path):
        last = index == len(path) - 1
        following = path[index + 1] if not last else None
        if part == "" or part.isdigit():
            if not isinstance(node, list):
                raise InvalidRequest(f"Malformed parameter name: {field}", param=field)
            if last:
                node.extend(values)
                return
            raise InvalidRequest(f"Malformed parameter name: {field}", param=field)
        if not isinstance(node, dict):
            raise InvalidRequest(f"Malformed parameter name: {field}", param=field)
        if last:
            node[part] = values[-1]
            return
        wants_list = following == "" or (following or "").isdigit()
        child = node.setdefault(part, [] if wants_list else {})
        if isinstance(child, list) != wants_list:
            raise InvalidRequest(f"Conflicting parameters for {part}", param=field)
        node = child


def form_to_nested(form: MultiDict[str, str]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for field in form:
        match = _NAME.match(field)
        if match is None:
            raise InvalidRequest(f"Malformed parameter name: {field}", param=field)
        path = [match.group(1), *_PART.findall(match.group(2))]
        if len(path) > _MAX_DEPTH:
            raise InvalidRequest(f"Parameter nested too deeply: {field}", param=field)
        _insert(nested, path, form.getlist(field), field)
    return nested


def _storable(value: Any) -> bool:
    """JSON may escape unpaired surrogates ("\\ud800") and NUL; neither can go into a database."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


def _parsed(request: Request) -> dict[str, Any]:
    if request.mimetype != "application/json":
        return form_to_nested(request.form)
    data = request.get_json(silent=True)
    if data is None and request.get_data():
        raise InvalidRequest("The body is not valid JSON.")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidRequest("The JSON body must be an object.")
    return data


def body(request: Request) -> dict[str, Any]:
    """The request's parameters; an unreadable body is the caller's error, not ours."""
    try:
        data = _parsed(request)
        storable = _storable(data)
    except RecursionError as exc:  # arrays nested thousands deep: not a request anyone means
        raise InvalidRequest("The body is nested too deeply.") from exc
    if not storable:
        raise InvalidRequest("The body holds characters that are not text (NUL or surrogates).")
    return data


def list_page() -> ListPage:
    """`limit`, `starting_after` and `ending_before` of a list request, checked."""
    raw = request.args.get("limit", "10")
    # isdigit() alone lets "²" and 5000-digit strings through to int(), which then raises.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not (
        1 <= int(raw) <= MAX_LIST_LIMIT
    ):
        raise InvalidRequest(
            f"limit must be a whole number from 1 to {MAX_LIST_LIMIT}.", param="limit"
        )
    starting_after = request.args.get("starting_after") or None
    ending_before = request.args.get("ending_before") or None
    if starting_after and ending_before:
        raise InvalidRequest(
            "Give starting_after or ending_before, not both.", param="ending_before"
        )
    return ListPage(int(raw), starting_after, ending_before)
