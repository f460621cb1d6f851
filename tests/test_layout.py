"""The package's shape: a refresh wing and an advice wing around one store, no import cycle.

Every import statement counts, those inside functions too (only ``if TYPE_CHECKING:`` blocks
are skipped: they never run)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "imgpipeline"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {t for t in _imports(path) if t in modules and t != name} for name, path in modules.items()}


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_a_cycle_would_be_found() -> None:
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}}).prepare()


def test_the_advice_wing_and_the_web_app_never_import_the_refresh_wing(graph: dict[str, set[str]]) -> None:
    readers = [m for m in graph if m.startswith(("imgpipeline.advice", "imgpipeline.web"))]
    assert len(readers) > 10
    wrong = {(m, t) for m in readers for t in graph[m] if t.startswith("imgpipeline.refresh")}
    assert wrong == set()


def test_table_declarations_import_no_logic(graph: dict[str, set[str]]) -> None:
    allowed = ("imgpipeline.tables", "imgpipeline.declare", "imgpipeline.vocabulary")
    wrong = {(m, t) for m in graph if m.startswith("imgpipeline.tables") for t in graph[m] if not t.startswith(allowed)}
    assert wrong == set()


def test_only_the_store_reads_a_published_version() -> None:
    """Parquet is read by the store alone (the batch's own input profiles aside)."""
    readers = {_module(p) for p in PACKAGE.rglob("*.py") if "read_parquet(" in p.read_text()}
    assert readers == {"imgpipeline.store", "imgpipeline.advice.batch"}


def test_functions_a_reader_can_hold() -> None:
    """No function of the package or the flows is over 60 lines."""
    long = []
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "flows").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 60:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert long == []
