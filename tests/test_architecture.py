"""The package's shape: stages as subpackages, imports one way, no cycles, statistics without file I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mapping"
STAGES = ("ingest", "analysis", "geo", "outputs")
#: stage -> stages it may import (besides the core modules at the top of mapping/).
ALLOWED = {"ingest": {"ingest", "geo"}, "analysis": {"analysis"}, "geo": {"geo"}, "outputs": {"outputs", "geo"}}
#: The modules above the stages: they wire them together and may import any of them.
ORCHESTRATION = {"mapping.pipeline", "mapping.cache"}
#: Calls that read or write files; none may appear under mapping/analysis/.
FILE_CALLS = {"open", "read_csv", "read_parquet", "read_excel", "read_file", "read_dataframe", "read_text",
              "read_bytes", "write_text", "write_bytes", "to_csv", "to_file", "load_workbook", "to_parquet"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that ``name`` imports (at any depth of the file, lazily or not)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        found |= {t for t in targets if t in known and t != name}
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, set(mods)) for m, p in mods.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a list of modules), or None. Packages importing their own modules don't count."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if v.startswith(w + "."):  # a module importing its own package's __init__
                continue
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state and (found := visit(w)):
                return found
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return None


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in STAGES else None


def test_the_stages_are_subpackages():
    for stage in STAGES:
        assert (PACKAGE / stage / "__init__.py").is_file(), f"mapping/{stage}/ is not a package"
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    # Only the shared core and the orchestration stay at the top.
    assert len(flat) <= 10, flat


def test_no_import_cycles():
    assert _cycle(_graph()) is None, f"import cycle: {' -> '.join(_cycle(_graph()))}"


def test_cycle_detector_finds_a_planted_cycle():
    graph = {"mapping.a": {"mapping.b"}, "mapping.b": {"mapping.c"}, "mapping.c": {"mapping.a"}, "mapping.d": set()}
    assert _cycle(graph) == ["mapping.a", "mapping.b", "mapping.c", "mapping.a"]
    graph["mapping.c"] = set()
    assert _cycle(graph) is None


def test_imports_go_one_way():
    wrong = []
    for module, targets in _graph().items():
        stage = _stage(module)
        if stage is None:
            continue
        for t in targets:
            other = _stage(t)
            if other is not None and other not in ALLOWED[stage]:
                wrong.append(f"{module} imports {t}")
            if t in ORCHESTRATION:
                wrong.append(f"{module} imports {t} (the orchestration is above the stages)")
    assert not wrong, wrong


@pytest.mark.parametrize("path", sorted((PACKAGE / "analysis").glob("*.py")), ids=lambda p: p.name)
def test_statistics_never_touch_files(path):
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in FILE_CALLS:
                calls.append(f"line {node.lineno}: {name}()")
    assert not calls, f"{path.relative_to(ROOT)} does file I/O: {calls}"


def test_no_prefect_in_the_library():
    users = [m for m, p in _modules().items() if "prefect" in {
        (n.module or "").split(".")[0] if isinstance(n, ast.ImportFrom) else a.name.split(".")[0]
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))) if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in (n.names if isinstance(n, ast.Import) else [None])}]
    assert not users, users


def test_no_module_is_too_long():
    long = {m: n for m, p in _modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert not long, long
