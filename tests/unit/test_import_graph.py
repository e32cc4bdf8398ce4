"""Which way the imports run (STYLE.md), checked on the source: every module of app/ is parsed,
its imports read wherever they are (module level or inside a function), and the graph checked.

- no circle between packages (a feature package, ``core``, or a top-level module of app/), nor
  between two modules of one package;
- ``app/core`` imports no feature;
- the features keep STYLE.md's order (``orientation`` imports ``accueil``, ``referents`` both,
  ``pilotage`` reads them all; never the reverse);
- nothing imports ``app/admin`` but the factory (``app/__init__``);
- no module imports another feature's views, and no module but a face (views, the API) or a
  feature's wiring (its ``__init__``) imports a view or an API module;
- no registry is filled by importing a module: a module-level ``register…(…)`` call is made
  nowhere (features register from their ``init_app``).

The exceptions are listed below, each with its reason; there are none for the rules above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"

# Top-level modules of app/ that wire features together: the factory imports every feature,
# app.models every feature's models (complete metadata for Alembic), app.commands every
# feature's command groups. Nothing else may import them (checked below), so they make no circle.
WIRING = {"app", "app.models", "app.commands"}

# STYLE.md's order of the person-data features: a feature may import those before it, never
# those after it (a later feature shows itself on an earlier one's pages through a registry).
FEATURE_ORDER = ("accueil", "orientation", "referents", "pilotage")

# Modules that answer requests: the pages' views and the JSON API.
FACE_SUFFIXES = ("views",)


def _modules() -> dict[str, Path]:
    found = {}
    for path in APP.rglob("*.py"):
        parts = list(path.relative_to(APP.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[importer].name == "__init__.py"
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str, tree: ast.Module) -> set[str]:
    """The app modules ``name`` imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "app")
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, node)
            if module.split(".")[0] != "app":
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in MODULES else module)
    found.discard(name)
    return found


TREES = {name: ast.parse(path.read_text(encoding="utf-8"), str(path))
         for name, path in MODULES.items()}
GRAPH = {name: imports_of(name, tree) for name, tree in TREES.items()}


def package(module: str) -> str:
    """``core``, a feature (``orientation``), ``api``, or a top-level module (``app.models``)."""
    parts = module.split(".")
    if module in MODULES and MODULES[module].name != "__init__.py" and len(parts) == 2:
        return module  # app.models, app.commands, app.extensions
    return parts[1] if len(parts) > 1 else "app"


def _is_face(module: str) -> bool:
    return module.split(".")[-1].endswith(FACE_SUFFIXES) or module.split(".")[:2] == ["app", "api"]


def _edges() -> list[tuple[str, str]]:
    return [(a, b) for a, targets in GRAPH.items() for b in targets]


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of nodes that reach each other (Tarjan), each of more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def package_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles between packages."""
    packages: dict[str, set[str]] = {}
    for a, targets in graph.items():
        packages.setdefault(package(a), set())
        for b in targets:
            if package(a) != package(b):
                packages[package(a)].add(package(b))
    return strongly_connected(packages)


def _why(packages: set[str]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, b in _edges()
                  if package(a) in packages and package(b) in packages and package(a) != package(b))


def test_the_graph_is_read():
    # The parse sees function-level imports too (the factory imports its features in functions).
    assert "app.orientation" in GRAPH["app"]
    assert "app.core.db" in GRAPH["app.orientation.models"]
    assert len(MODULES) > 100


def test_no_circle_between_packages():
    cycles = package_cycles(GRAPH)
    assert cycles == [], [(group, _why(set(group))) for group in cycles]


def test_no_circle_between_modules():
    # Inside a package too: notify.py and services.py imported each other (through a function).
    assert strongly_connected(GRAPH) == []


def test_the_cycle_finder_finds_a_circle():
    graph = {"app.orientation.notify": {"app.orientation.models"},
             "app.accueil.views": {"app.orientation.notify"},
             "app.orientation.models": {"app.accueil.models"},
             "app.accueil.models": set()}
    assert package_cycles(graph) == [["accueil", "orientation"]]


def test_core_imports_no_feature():
    wrong = sorted(f"{a} -> {b}" for a, b in _edges()
                   if package(a) == "core" and package(b) != "core")
    assert wrong == []


def test_features_keep_their_order():
    wrong = sorted(f"{a} -> {b}" for a, b in _edges()
                   if package(a) in FEATURE_ORDER and package(b) in FEATURE_ORDER
                   and FEATURE_ORDER.index(package(b)) > FEATURE_ORDER.index(package(a)))
    assert wrong == []


def test_nothing_imports_the_wiring_modules():
    wrong = sorted(f"{a} -> {b}" for a, b in _edges() if b in WIRING and a != "app")
    assert wrong == []


def test_only_the_factory_imports_admin():
    wrong = sorted(f"{a} -> {b}" for a, b in _edges()
                   if package(b) == "admin" and package(a) != "admin" and a != "app")
    assert wrong == []


def test_no_module_imports_another_features_views():
    wrong = sorted(f"{a} -> {b}" for a, b in _edges()
                   if b.split(".")[-1].endswith(FACE_SUFFIXES) and package(a) != package(b))
    assert wrong == []


@pytest.mark.parametrize("kind", ["views", "api"])
def test_services_and_the_rest_import_no_face(kind):
    """Only a face (a view module, the API) or a feature's wiring (its ``__init__``) imports a
    view or an API module; services, scopes, presenters, panels, models never do."""
    def is_kind(module: str) -> bool:
        return (module.split(".")[:2] == ["app", "api"] if kind == "api"
                else module.split(".")[-1].endswith(FACE_SUFFIXES))

    wrong = sorted(f"{a} -> {b}" for a, b in _edges()
                   if is_kind(b) and not _is_face(a) and MODULES[a].name != "__init__.py")
    assert wrong == []


def module_level_registrations(tree: ast.Module) -> list[str]:
    """The ``register…(…)`` calls a module makes when it is imported (its body's statements)."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name.startswith("register") or name == "append":
                found.append(ast.unparse(node)[:80])
    return found


def test_no_registry_is_filled_by_an_import():
    wrong = {name: calls for name, tree in TREES.items()
             if (calls := module_level_registrations(tree))}
    assert wrong == {}


def test_a_registration_in_a_module_body_is_seen():
    tree = ast.parse("from app.accueil.panels import register_panel\n"
                     "def _panel(person, user):\n    return None\n"
                     "register_panel(_panel)\n"
                     "notify.STATUS_HOOKS.append(_panel)\n")
    assert module_level_registrations(tree) == ["register_panel(_panel)",
                                                "notify.STATUS_HOOKS.append(_panel)"]
