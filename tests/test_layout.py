"""The package's shape: no import cycles, arrows pointing down between stages, modules short enough
to read, and the predict path clear of torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "brandner"
# Each stage imports only the ones before it (the top-level modules errors, atomic, cpus, processes
# and config sit beside data; config reads data's segmenters and gazetteer syntax).
ORDER = ["errors", "atomic", "cpus", "processes", "data", "config", "crf", "model", "tagging", "reports", "training",
         "serving", "spark", "ray", "spacy", "cli"]
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> set[str]:
    """The brandner modules ``path`` imports when it runs: at the top or inside functions, not
    under ``if TYPE_CHECKING:`` (annotations only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
               for statement in block.body for node in ast.walk(statement)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("brandner"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("brandner"):
            for alias in node.names:  # "from brandner.crf import compiled" imports a module
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                          else node.module)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in runtime_imports(path) if m in modules and m != name} for name, path in modules.items()}


def stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "brandner"


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycles():
    assert find_cycle(graph()) is None


def test_imports_point_down_the_stages():
    wrong = [(module, imported) for module, imports in graph().items() for imported in imports
             if stage(module) in ORDER and stage(imported) in ORDER
             and ORDER.index(stage(imported)) > ORDER.index(stage(module))]
    assert wrong == []


def test_every_module_is_short_enough_to_read():
    long = {module_name(p): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_subpackage_says_what_it_owns():
    for init in PACKAGE.glob("*/__init__.py"):
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), init


def test_the_predict_path_never_imports_torch():
    """Tagging an ONNX model (Tagger, the CRF's numpy decoding, the data stage) loads no torch."""
    code = ("import sys; import brandner.tagging.tagger, brandner.tagging.onnx_backend, brandner.crf.confidence; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "False"
