"""The layers hold: imports go one way only, nothing climbs back up, no hand-written torch hooks.

Every import in the package (module level and inside functions, but not under
``if TYPE_CHECKING:``) is read from the source with ``ast``, so a lazy import that
climbs a layer is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "workbench"

# the bottom layer: the session and what it is built from
BOTTOM = {"errors", "_progress", "_observers", "_agent_focus", "registry", "_journal_values", "_journal_file",
          "journal", "recording", "chat", "models", "adapters", "datasets", "corpora", "layout", "generation",
          "residual", "saes", "_sae_hub", "_sae_placement", "_sae_training", "session", "remote", "_traced"}
TOP = {"workbench", "export", "audit_game", "__init__", "__main__"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(parts)] = path
    return out


def _layer(module: str) -> str:
    head = module.split(".")[0]
    if head in ("techniques",):
        return "techniques"
    if head == "widgets":
        return "widgets"
    if head == "training" or head == "data":
        return "training"
    if head == "mcp":  # the agent's toolbox: like the Workbench facade, it composes techniques
        return "top"
    if module in BOTTOM:
        return "bottom"
    if module in TOP:
        return "top"
    raise AssertionError(f"workbench/{module.replace('.', '/')}.py belongs to no layer: add it to "
                         "tests/unit/test_architecture.py (and to ARCHITECTURE.md)")


# which layers each layer may import at run time
ALLOWED = {
    "bottom": {"bottom"},
    "techniques": {"bottom", "techniques"},
    "widgets": {"bottom", "techniques", "widgets"},
    "training": {"bottom", "techniques", "training"},
    "top": {"bottom", "techniques", "widgets", "training", "top"},
}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """``(imported workbench module, line)`` for every run-time import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    if path.name == "__init__.py":
        package = [] if module == "__init__" else module.split(".")[:-1]
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and (node.module == "workbench" or node.module.startswith("workbench.")):
                target = node.module[len("workbench."):] if node.module != "workbench" else ""
            else:
                target = None
            if target is not None:
                for alias in node.names:
                    full = f"{target}.{alias.name}" if target else alias.name
                    found.append((full if full in MODULES else target, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("workbench."):
                    found.append((alias.name[len("workbench."):], node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return [(target, line) for target, line in found if target in MODULES]


MODULES = _modules()
MODULES.pop("__init__", None)
GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers_only(module):
    layer = _layer(module)
    upward = [f"line {line}: {target} ({_layer(target)})" for target, line in GRAPH[module]
              if _layer(target) not in ALLOWED[layer]]
    assert not upward, f"workbench/{module.replace('.', '/')}.py ({layer}) imports upward: {upward}"


def test_no_import_cycle_runs_through_the_session():
    seen, stack = set(), [target for target, _ in GRAPH["session"]]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(target for target, _ in GRAPH.get(current, ()))
    assert "session" not in seen
    assert not any(_layer(m) != "bottom" for m in seen), sorted(m for m in seen if _layer(m) != "bottom")


def test_the_session_imports_no_technique_and_no_widget():
    assert all(_layer(target) == "bottom" for target, _ in GRAPH["session"])


def test_nothing_writes_torch_hooks_by_hand():
    for name, path in MODULES.items():
        text = path.read_text()
        for hook in ("register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook"):
            assert hook not in text, f"workbench/{name}.py uses {hook}: interventions go through nnsight"


def test_widgets_hold_no_model_math():
    for name, path in MODULES.items():
        if _layer(name) == "widgets":
            text = path.read_text()
            assert "import torch" not in text, f"workbench/{name}.py imports torch: model math belongs in a technique"
            assert ".trace(" not in text and ".generate(" not in text, f"workbench/{name}.py runs the model itself"


def test_every_trace_and_generation_is_opened_by_the_session():
    for name, path in MODULES.items():
        if name == "session":
            continue
        text = path.read_text()
        assert "model.trace(" not in text and "model.generate(" not in text, (
            f"workbench/{name}.py opens a trace itself: use session.trace / session.generate")
