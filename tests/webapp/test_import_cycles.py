"""No import cycle inside `webapp/`: modules that import each other at load time work only in
some import orders, and they hide which part of the code depends on which.

The graph has one edge per module-level import between two `webapp` modules, read from the
source with `ast`: imports inside functions (loaded on first call) and under `TYPE_CHECKING`
(never loaded) are not edges. Loading `a.b.c` loads its packages first, but that is no edge:
a package's `__init__` may import its own modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
ROOT = "webapp"


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for path in sorted((PROJECT / ROOT).rglob("*.py")):
        parts = list(path.relative_to(PROJECT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _top_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports a module runs as it loads: its own statements and those nested in `if`,
    `try` and `with` blocks, but not in functions, classes or `if TYPE_CHECKING:`."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _top_level(block)
            for handler in node.handlers:
                yield from _top_level(handler.body)
        elif isinstance(node, ast.With):
            yield from _top_level(node.body)


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The `webapp` modules `name` imports as it loads."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _top_level(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in modules else base)
    return {target for target in targets if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    names = set(files)
    return {name: imports_of(name, path, names) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _path(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """One loop through `group`, for the failure message: a → b → … → a."""
    members = set(group)
    start = group[0]
    trail = [start]
    seen = {start}
    current = start
    while True:
        following = sorted(graph[current] & members)
        if start in following and len(trail) > 1:
            return [*trail, start]
        unseen = [target for target in following if target not in seen]
        if not unseen:
            return [*trail, following[0]]
        current = unseen[0]
        trail.append(current)
        seen.add(current)


def test_the_graph_sees_imports_of_every_form() -> None:
    """The parser itself: absolute, relative and `from package import module` imports count,
    lazy and type-only ones do not."""
    modules = module_files()
    names = set(modules)
    graph = import_graph()
    assert "webapp.jobs.registry" in graph["webapp.jobs.database_queue"]
    assert "webapp.webhooks.delivery" in graph["webapp.webhooks"]
    assert "webapp.representations" in graph["webapp.api.views"]  # `from webapp import ...`
    assert "webapp.verification" not in graph["webapp"]  # imported inside create_app
    assert (
        imports_of("webapp.api.views", modules["webapp.api.views"], names)
        == (graph["webapp.api.views"])
    )


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert _path(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_cycle_inside_webapp() -> None:
    graph = import_graph()
    loops = [" -> ".join(_path(graph, group)) for group in cycles(graph)]
    assert loops == [], "import cycles:\n" + "\n".join(loops)


def test_processing_stays_a_pure_library() -> None:
    """`processing/` takes images and claimed data and returns a result: no import of the web
    app, Flask or the database anywhere in it, lazy imports included."""
    forbidden = ("webapp", "flask", "flask_wtf", "sqlalchemy", "alembic", "rq", "redis")
    found: list[str] = []
    for path in sorted((PROJECT / "processing").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [
                f"{path.relative_to(PROJECT)}: {name}"
                for name in names
                if name.split(".")[0] in forbidden
            ]
    assert found == []
