"""The layout says the architecture (DESIGN.md decision 8), and this test keeps it so.

Apps stack clinic ← formulations ← patients ← sessions. A model or rule module never imports an app
above it; only composing modules (views, urls, admin, the dashboard, demo seeding, management
commands) do, and their docstrings say that they compose. Imports are module-level: an import
inside a function hides an edge of the graph, usually one that would close a cycle. No module
grows past the size a reader can hold (STYLE.md rule 12).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("clinic", "formulations", "patients", "sessions")
RANK = {app: rank for rank, app in enumerate(APPS)}
MAX_LINES = 600
COMPOSING_LEAVES = {"urls", "public_urls", "admin", "dashboard", "apps"}


def _is_composer(module: str) -> bool:
    leaf = module.rsplit(".", 1)[-1]
    return (
        leaf in COMPOSING_LEAVES
        or leaf.endswith("views")
        or "demo" in leaf
        or "seed" in leaf
        or ".management.commands." in module
    )


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts or "tests" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _targets(module: str, path: Path, node: ast.AST) -> list[str]:
    """The project modules an import statement reaches, resolved to the longest known name."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".")
            if path.name != "__init__.py":
                base = base[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join([*base, *([node.module] if node.module else [])])
        else:
            prefix = node.module or ""
        names = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
    resolved = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module and not module.startswith(name + "."):
            resolved.add(name)
    return sorted(resolved)


def _imports() -> dict[str, list[tuple[str, int, bool]]]:
    """module → [(imported module, line, inside a function)]."""
    edges = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_function = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            # Except AppConfig.ready(): Django's documented place to connect signal receivers,
            # whose modules import models and so cannot load before the app registry.
            and not (path.name == "apps.py" and node.name == "ready")
            for inner in ast.walk(node)
        }
        edges[module] = [
            (target, node.lineno, id(node) in in_function)
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for target in _targets(module, path, node)
        ]
    return edges


IMPORTS = _imports()


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w, _, _ in IMPORTS[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in IMPORTS:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules():
    assert _cycles() == []


def test_no_project_import_inside_a_function():
    hidden = [
        f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}"
        for module, edges in IMPORTS.items()
        for target, line, inside in edges
        if inside
    ]
    assert hidden == []


def test_no_rule_or_model_module_imports_an_app_above_it():
    upward = [
        f"{module} → {target}"
        for module, edges in IMPORTS.items()
        if not _is_composer(module)
        for target, _, _ in edges
        if RANK[target.split(".")[0]] > RANK[module.split(".")[0]]
    ]
    assert upward == []


def _docstring(module: str) -> str:
    return ast.get_docstring(ast.parse(MODULES[module].read_text(encoding="utf-8"))) or ""


def test_composing_modules_that_reach_up_say_so():
    silent = [
        module
        for module, edges in IMPORTS.items()
        if _is_composer(module)
        and any(RANK[t.split(".")[0]] > RANK[module.split(".")[0]] for t, _, _ in edges)
        and "compos"
        not in (ast.get_docstring(ast.parse(MODULES[module].read_text())) or "").lower()
    ]
    assert silent == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("sessions")))
def test_every_sessions_module_says_its_job(module):
    path = MODULES[module]
    empty = path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip()
    assert empty or _docstring(module), f"{module} has no docstring"


def test_no_module_is_longer_than_a_reader_can_hold():
    long = {
        module: lines
        for module, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_checks_see_what_they_check():
    # A graph that found nothing would pass every test above: it must see the known edges.
    assert any(
        target == "sessions.models" for target, _, _ in IMPORTS["sessions.booking.scheduling"]
    )
    assert _is_composer("patients.views") and not _is_composer("patients.screening")
