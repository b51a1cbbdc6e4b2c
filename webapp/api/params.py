"""Request bodies as nested dicts, whether sent as JSON or as Stripe's bracketed form fields.

`options[document][allowed_types][]=passport&metadata[order]=42` becomes
`{"options": {"document": {"allowed_types": ["passport"]}}, "metadata": {"order": "42"}}`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Request, request
from werkzeug.datastructures import MultiDict

from webapp.errors import InvalidRequest, UnknownParameter
from webapp.paging import MAX_LIST_LIMIT, Created, ListPage

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


_PAGING = ("limit", "starting_after", "ending_before")
_BOUNDS = ("gt", "gte", "lt", "lte")
_INDEXED = re.compile(r"^([a-z_]+)\[([a-z0-9]*)\]$")


def _taken(name: str, known: tuple[str, ...]) -> bool:
    if name in _PAGING or name in known:
        return True
    indexed = _INDEXED.match(name)
    if indexed is None or indexed.group(1) not in known:
        return False
    base, part = indexed.groups()
    return part in _BOUNDS if base == "created" else part == "" or part.isdigit()


def query_args(*known: str) -> None:
    """Refuse a list parameter the list does not take, as Stripe does: a filter silently
    ignored returns data the caller did not ask for. `created` stands for its bounds too, a
    list's name (`types`) for its `types[]` or `types[0]` entries."""
    for name in request.args:
        if not _taken(name, known):
            raise UnknownParameter(name)


def listed(name: str) -> list[str]:
    """A list in the query string: `name[]=a&name[]=b` or, as Stripe's SDKs send it,
    `name[0]=a&name[1]=b`."""
    found: list[tuple[int, str]] = []
    for key, value in request.args.items(multi=True):
        indexed = _INDEXED.match(key)
        if indexed is None or indexed.group(1) != name:
            continue
        part = indexed.group(2)
        if part == "" or (part.isdigit() and len(part) <= 3):
            found.append((int(part) if part else len(found), value))
    return [value for _, value in sorted(found, key=lambda item: item[0])]


def _unix(name: str) -> int:
    raw = request.args[name]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 11):
        raise InvalidRequest(
            f"{name} must be a Unix time in seconds.", code="parameter_invalid_integer", param=name
        )
    return int(raw)


def created() -> Created:
    """Stripe's `created` filter of a list: `created=<unix>` or `created[gte]=<unix>` and the
    other bounds."""
    if "created" in request.args:
        if any(f"created[{bound}]" in request.args for bound in _BOUNDS):
            raise InvalidRequest(
                "created takes a Unix time or bounds such as created[gte], not both.",
                code="parameter_invalid",
                param="created",
            )
        return Created.at(_unix("created"))
    bounds = {
        bound: datetime.fromtimestamp(_unix(f"created[{bound}]"), UTC)
        for bound in _BOUNDS
        if f"created[{bound}]" in request.args
    }
    return Created(**bounds)


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
