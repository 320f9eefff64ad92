"""The package's shape: no import cycles (lazy imports inside functions count too), and
modules small enough to read in one sitting."""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "weighted_bert"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module of the package that ``path`` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)  # "from . import x" imports module x
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("weighted_bert"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("weighted_bert"))
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        targets = {t for t in imports(path) if t in modules}
        targets |= {parent for t in targets for parent in _parents(t) if parent in modules}  # their __init__ runs
        # a submodule's own package is already being imported when it runs: no edge back to it
        edges[name] = {t for t in targets if t != name and not name.startswith(t + ".")}
    return edges


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def test_no_import_cycles():
    edges = graph()
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(target):] + [target]))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_the_cycle_check_finds_a_cycle(tmp_path, monkeypatch):
    assert "weighted_bert.model" in graph()["weighted_bert.saved_model"]  # the check sees real edges
    fake = {"a": {"b"}, "b": {"a"}}
    monkeypatch.setitem(globals(), "graph", lambda: fake)
    try:
        test_no_import_cycles()
    except AssertionError as err:
        assert "a -> b -> a" in str(err)
    else:
        raise AssertionError("a cycle went unnoticed")


def test_modules_stay_small():
    sizes = {module_name(p): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 400} == {}


def test_no_unsafe_loading_in_the_package():
    """Every torch.load in our code is weights_only=True; nothing calls pickle.load(s)
    except the label2id.pkl reader, whose unpickler refuses every global."""
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for call in re.findall(r"torch\.load\([^)]*\)", source):
            assert "weights_only=True" in call, f"{path}: {call}"
        assert not re.search(r"pickle\.loads?\(", source), path
