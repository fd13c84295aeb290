"""The shape of the code, checked by reading it: the import graph has no cycles, only the library
speaks SQL, no file is longer than one person can hold in mind, and modules hold no mutable state.

Each rule reads `photogen/` with `ast`, so it holds for code that never runs in a test.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "photogen"
MAX_LINES = 400
# a SQL statement in a string: what `catalog.query(...)` or `execute(...)` would be given
SQL = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bDELETE\s+FROM\b|\bUPDATE\s+\w+\s+SET\b"
    r"|\bCREATE\s+(TABLE|INDEX|VIEW)\b|\bDROP\s+TABLE\b|\bPRAGMA\b"
)
MUTATORS = {"append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem", "clear", "remove", "discard"}
MUTABLE_CALLS = {"list", "dict", "set", "defaultdict", "OrderedDict", "deque", "Counter", "WeakValueDictionary", "WeakKeyDictionary", "local"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), filename=str(path)) for name, path in MODULES.items()}


def _rel(name: str) -> str:
    return str(MODULES[name].relative_to(ROOT.parent))


def _imports(name: str) -> set[str]:
    """The photogen modules `name` imports (at any depth in the file, lazily or not)."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in MODULES:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name and candidate.startswith("photogen"):
                targets.add(candidate)
    return targets


def _cycles() -> list[list[str]]:
    graph = {name: _imports(name) for name in MODULES}
    # a package's __init__ is imported with any of its modules, but only its own imports count
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _sql_outside_library() -> set[str]:
    hits = set()
    for name, tree in TREES.items():
        if name.startswith("photogen.library"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                hits.add(f"{_rel(name)}:{node.lineno}")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any("sqlite" in n or "sqlcipher" in n for n in names):
                    hits.add(f"{_rel(name)}:{node.lineno}")
    return hits


def _is_mutable(value: ast.expr | None) -> bool:
    if isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return called in MUTABLE_CALLS
    return False


def _mutated_names(tree: ast.AST) -> set[str]:
    """Names (bare or as an attribute) that are changed in place somewhere in the module."""

    def target_name(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return node.attr
        return None

    names = set()
    # building a constant at import time is not state: only changes made inside functions count
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for node in (inner for function in functions for inner in ast.walk(function)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
            if (n := target_name(node.func.value)) is not None:
                names.add(n)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and (n := target_name(target.value)) is not None:
                    names.add(n)
    return names


def _module_state() -> set[str]:
    """Module- and class-level containers that are changed at run time, and `global` rebinding."""
    hits = set()
    for name, tree in TREES.items():
        mutated = _mutated_names(tree)
        scopes: list[tuple[str, list[ast.stmt]]] = [("", tree.body)]
        scopes += [(f"{n.name}.", n.body) for n in tree.body if isinstance(n, ast.ClassDef)]
        for prefix, body in scopes:
            for stmt in body:
                if isinstance(stmt, ast.Assign):
                    targets, value = stmt.targets, stmt.value
                elif isinstance(stmt, ast.AnnAssign):
                    targets, value = [stmt.target], stmt.value
                else:
                    continue
                for target in targets:
                    if isinstance(target, ast.Name) and _is_mutable(value):
                        constant = target.id.isupper() or target.id.lstrip("_").isupper() or target.id == "__all__"
                        if target.id in mutated or (not constant and not prefix):
                            hits.add(f"{_rel(name)}:{prefix}{target.id}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                hits.add(f"{_rel(name)}:global {', '.join(node.names)}")
    return hits


def _long_files() -> set[str]:
    return {f"{_rel(name)}" for name, path in MODULES.items() if len(path.read_text().splitlines()) > MAX_LINES}


def _none(found: set[str], what: str) -> None:
    assert not found, f"{what}: {sorted(found)}"


def test_no_import_cycles():
    _none({" <-> ".join(c) for c in _cycles()}, "import cycles (the lower stage must not import the higher one)")


def test_only_the_library_speaks_sql():
    files = {hit.rpartition(":")[0] for hit in _sql_outside_library()}
    _none(files, "SQL outside photogen/library (add a named library function)")


def test_no_mutable_module_state():
    _none(_module_state(), "module-level mutable state (keep it on a session or library object)")


def test_no_file_over_400_lines():
    _none(_long_files(), f"files over {MAX_LINES} lines (split along their seams)")


@pytest.mark.parametrize(
    "source, expected",
    [
        ("X = []\ndef f():\n    X.append(1)\n", {"m.py:X"}),
        ("X = ()\n", set()),
        ("X = {}\nX.update({'a': 1})\n", set()),
        ("cache = {}\n", {"m.py:cache"}),
        ("NAMES = {'a': 1}\n", set()),
        ("class C:\n    _signers = {}\n    def f(self):\n        self._signers['k'] = 1\n", {"m.py:C._signers"}),
        ("def f():\n    global n\n", {"m.py:global n"}),
    ],
)
def test_the_state_rule_sees_what_it_should(source, expected, monkeypatch):
    monkeypatch.setitem(globals(), "TREES", {"m": ast.parse(source)})
    monkeypatch.setitem(globals(), "_rel", lambda name: "m.py")
    assert _module_state() == expected


def test_the_sql_rule_sees_statements_not_prose(monkeypatch):
    monkeypatch.setitem(globals(), "TREES", {"photogen.ui.x": ast.parse('A = "SELECT id FROM photos"\nB = "Select the photos from an album"\n')})
    monkeypatch.setitem(globals(), "_rel", lambda name: "x.py")
    assert _sql_outside_library() == {"x.py:1"}


def test_the_cycle_rule_sees_a_loop(monkeypatch):
    sources = {"photogen.a": "from photogen import b\n", "photogen.b": "def f():\n    import photogen.a\n", "photogen.c": "import photogen.a\n"}
    monkeypatch.setitem(globals(), "MODULES", {name: Path(name.replace(".", "/") + ".py") for name in sources})
    monkeypatch.setitem(globals(), "TREES", {name: ast.parse(text) for name, text in sources.items()})
    assert _cycles() == [["photogen.a", "photogen.b"]]


def test_the_readme_layout_names_modules_that_exist():
    """README's Layout section is a map for newcomers: every module it names must be where it says."""
    readme = (ROOT.parent / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    missing = []
    for bullet in re.findall(r"^- (.+?)(?=^- |\Z)", layout, flags=re.M | re.S):
        names = re.findall(r"`([^`]+)`", bullet)
        package = ROOT.parent / names[0].rstrip("/") if names and names[0].startswith("photogen/") else None
        for name in (n.rstrip("/") for n in names):
            if "/" in name or name.endswith(".py"):
                found = (ROOT.parent / name).exists() or (ROOT / name).exists()
            elif package is not None:
                found = any(package.rglob(f"{name}.py")) or any(p.is_dir() for p in package.rglob(name))
            else:
                found = (ROOT.parent / name).exists()
            if not found:
                missing.append(name)
    assert not missing, f"README's Layout names modules that do not exist: {missing}"
