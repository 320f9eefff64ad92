"""The package's shape: no import cycles (lazy imports inside functions count too), and
modules small enough to read in one sitting."""

import ast
import re
from pathlib import Path

import pytest

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
    assert "weighted_bert.model" in graph()["weighted_bert.model_folder"]  # the check sees real edges
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


# The package's layers, bottom to top: a module imports only from its own layer or below
# (module-level and lazy imports alike). A new module joins a layer here, or the test fails.
LAYERS = (
    ("foundation", ("errors", "log", "page", "resources", "tokenizer_file", "speed", "cpu", "files", "settings",
                    "shot_groups", "export")),
    ("data", ("data", "labels", "label_audit.issues_file", "streaming.sources", "streaming.parts")),
    ("formulas", ("weights", "recipes", "loss_settings", "losses", "metrics", "multilabel", "multilabel.metrics",
                  "multilabel.thresholds", "multilabel.threshold_fit", "sampling", "calibration", "windows", "stage2",
                  "label_audit.rules", "suggestions", "suggestions.rules")),
    ("schema", ("config", "scoring_config", "run_folder", "label_audit", "streaming")),
    ("model", ("tf_checkpoint", "tf_import", "model", "model_folder", "prediction", "outputs", "windows.reading",
               "classifier", "tf_convert")),
    ("results", ("result_files", "tasks", "evaluation", "plots", "report", "multilabel.results", "model_card",
                 "paired", "stats", "label_audit.report")),
    ("training", ("training", "inference", "quantization_audit", "streaming.run", "streaming.batch",
                  "streaming.engines")),
    ("commands", ("", "__main__", "api", "estimator", "serve", "compare", "auto", "demo", "compat", "push", "cli",
                  "cli_data", "label_audit.run", "suggestions.run")),
)
# The formulas (losses, metrics, sampling, class weights, calibration and thresholds) read
# none of the run's schema or data: they take numbers and their own settings
# (``loss_settings``, the one declaration they import), so a new flag never touches them.
FORMULAS = ("weights", "losses", "metrics", "multilabel.metrics", "multilabel.thresholds", "multilabel.threshold_fit",
            "sampling", "calibration", "shot_groups", "stage2", "label_audit.rules",
            "suggestions.rules")
SCHEMA = ("config", "scoring_config", "settings", "data")


def _short(module: str) -> str:
    return module.removeprefix("weighted_bert").lstrip(".")


def _under(module: str, prefixes) -> str | None:
    """The longest of ``prefixes`` that ``module`` is or sits under."""
    short = _short(module)
    found = [p for p in prefixes if short == p or (p and short.startswith(p + "."))]
    return max(found, key=len) if found else None


def layer_of(module: str) -> int | None:
    ranked = [(len(p), i) for i, (_, names) in enumerate(LAYERS) if (p := _under(module, names)) is not None]
    return max(ranked)[1] if ranked else None


def arrows_up(edges) -> list[str]:
    found = []
    for module, targets in sorted(edges.items()):
        for target in sorted(targets):
            if layer_of(target) > layer_of(module):
                found.append(f"{_short(module)} ({LAYERS[layer_of(module)][0]}) -> {_short(target)} "
                             f"({LAYERS[layer_of(target)][0]})")
    return found


def test_every_module_has_a_layer():
    assert [m for m in graph() if layer_of(m) is None] == []


def test_no_import_runs_back_up():
    assert arrows_up(graph()) == []


def test_the_layer_check_finds_an_arrow_up():
    fake = {"weighted_bert.metrics": {"weighted_bert.config"}, "weighted_bert.config": {"weighted_bert.metrics"}}
    assert arrows_up(fake) == ["metrics (formulas) -> config (schema)"]


def _reached(edges, module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        for target in edges[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def schema_in_formulas(edges) -> dict[str, list[str]]:
    """Per formula module, the schema modules it imports directly, or reaches at all other
    than ``settings`` through ``loss_settings`` (the losses' own declaration)."""
    found = {}
    for module in edges:
        if _under(module, FORMULAS) is None:
            continue
        direct = {t for t in edges[module] if _under(t, SCHEMA)}
        reached = {t for t in _reached(edges, module) if _under(t, SCHEMA) and _short(t) != "settings"}
        if direct | reached:
            found[_short(module)] = sorted(_short(t) for t in direct | reached)
    return found


def test_the_formulas_import_no_schema():
    assert schema_in_formulas(graph()) == {}


def test_the_schema_check_sees_an_indirect_import():
    fake = {"weighted_bert.weights": {"weighted_bert.labels"}, "weighted_bert.labels": {"weighted_bert.data"},
            "weighted_bert.data": set(), "weighted_bert.losses.focal": {"weighted_bert.settings"},
            "weighted_bert.settings": set()}
    assert schema_in_formulas(fake) == {"weights": ["data"], "losses.focal": ["settings"]}


def private_names_reached(path: Path) -> list[str]:
    """``from X import _name`` of a package module: a private name used from another module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("weighted_bert")):
            found += [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_no_private_name_is_reached_across_modules():
    assert {module_name(path): hits for path in PACKAGE.rglob("*.py") if (hits := private_names_reached(path))} == {}


def test_the_private_name_check_finds_one(tmp_path):
    (tmp_path / "m.py").write_text("from .model import _secret\nfrom .plots import pyplot\n")
    assert private_names_reached(tmp_path / "m.py") == ["_secret"]


def third_party_imports() -> set[str]:
    """The top-level names of every module outside the standard library that the package imports."""
    import sys

    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "weighted_bert"}


def test_every_imported_package_is_declared():
    """Each distribution the package imports is a dependency of the base install or of an extra."""
    from importlib.metadata import packages_distributions

    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    declared = {re.split(r"[<>=!~\[ ;]", r)[0].lower().replace("_", "-") for r in requirements}
    installed = packages_distributions()
    undeclared = {name: installed.get(name, [name]) for name in third_party_imports()
                  if not {d.lower().replace("_", "-") for d in installed.get(name, [name])} & declared}
    assert undeclared == {}
    assert {"scipy", "tokenizers", "sklearn"} <= third_party_imports()  # the check sees lazy imports too


# Where single- against multi-label is decided: the settings (and the seed's flags), the readers (a
# label field is split, a JSONL list is a set), the single-label encoding's guard, a model folder's
# record, and the two choosers. Everything else asks the task object (weighted_bert.tasks, .outputs).
TASK_CHOSEN_IN = {"weighted_bert.config", "weighted_bert.compat", "weighted_bert.data.examples",
                  "weighted_bert.data.jsonl", "weighted_bert.labels", "weighted_bert.model_folder",
                  "weighted_bert.outputs", "weighted_bert.tasks"}


def task_branches(path: Path) -> list[int]:
    """Lines of ``path`` whose condition (``if``, ``x if c else y``, ``and`` / ``or``) reads ``multi_label``."""
    def reads(node) -> bool:
        return any(isinstance(n, ast.Name) and n.id == "multi_label"
                   or isinstance(n, ast.Attribute) and n.attr == "multi_label" for n in ast.walk(node))

    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.If, ast.IfExp, ast.While)) and reads(node.test):
            lines.append(node.lineno)
        elif isinstance(node, ast.BoolOp) and any(reads(v) for v in node.values):
            lines.append(node.lineno)
    return sorted(set(lines))


def test_the_task_is_chosen_in_a_handful_of_places():
    found = {module_name(p): task_branches(p) for p in PACKAGE.rglob("*.py")}
    outside = {name: lines for name, lines in found.items() if lines and name not in TASK_CHOSEN_IN}
    assert not outside, f"a branch on multi_label outside where the task is chosen (ask the task object): {outside}"
    assert sum(len(lines) for lines in found.values()) <= 14, found  # 14 in 8 modules on 2026-12-07 (19 in 11 before)


def test_the_task_branch_check_finds_one(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f(x):\n    if x.multi_label:\n        return 1\n    return 2 if multi_label else 3\n"
                    "y = a and x.multi_label\n")
    assert task_branches(path) == [2, 4, 5]
