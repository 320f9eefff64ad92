"""The benchmarks measure the models users get: each trains with `train`'s budget (learning
rates, epochs, stopping, batch) unless that setting is what it studies, which it declares in
``STUDIES``; the demo uses the budget as it is."""

import ast
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# The training budget, by its names in RunConfig; Hugging Face's names for the same settings map to
# them. (The batch size is left out: `batch_size=` is also how every scoring call is sized.)
BUDGET = {"learning_rate", "head_learning_rate", "epochs", "max_steps", "warmup_ratio", "weight_decay",
          "gradient_accumulation_steps", "early_stopping_patience", "max_grad_norm"}
HF_NAMES = {"num_train_epochs": "epochs", "warmup_steps": "warmup_ratio"}


def budget_names(tree: ast.AST) -> set[str]:
    """Budget settings a module names: as keyword arguments, dict keys or strings ("learning_rate",
    "--learning-rate", "--learning-rate=2e-4"), outside its STUDIES declaration and other than
    to read a value (``info["settings"]["epochs"]``)."""
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "STUDIES" for t in node.targets) for n in ast.walk(node)}
    skip |= {id(node.slice) for node in ast.walk(tree) if isinstance(node, ast.Subscript)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        words = []
        if isinstance(node, ast.keyword) and node.arg:
            words.append(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            words.append(node.value.split("=")[0].removeprefix("--").replace("-", "_"))
        found |= {HF_NAMES.get(w, w) for w in words if HF_NAMES.get(w, w) in BUDGET}
    return found


def studies(tree: ast.AST) -> set[str] | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "STUDIES" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return None


@pytest.mark.parametrize("path", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_each_benchmark_trains_at_the_default_budget_but_what_it_studies(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared = studies(tree)
    named = budget_names(tree)
    assert declared is not None, f"{path.name} declares no STUDIES (the budget settings it varies on purpose)"
    assert declared <= BUDGET, f"{path.name}: STUDIES names what is not a budget setting: {declared - BUDGET}"
    assert named <= declared, f"{path.name} sets {sorted(named - declared)} without studying them"


def test_the_check_sees_a_budget_setting_in_every_form():
    for line in ('run(learning_rate=1e-3)', 'f = {"head_learning_rate": 3e-2}', 'a = ["--epochs", "3"]',
                 'a = "--warmup-ratio=0.06"', 'TrainingArguments(num_train_epochs=3)'):
        assert budget_names(ast.parse(line)), line
    assert budget_names(ast.parse('STUDIES = ("epochs",)\nx = 3')) == set()
    assert budget_names(ast.parse('n = info["settings"]["epochs"]')) == set()
    assert budget_names(ast.parse('"""3 epochs at a learning rate of 2e-4"""')) == set()


def test_the_demo_trains_at_the_default_budget():
    from weighted_bert.demo import SETTINGS

    assert not set(SETTINGS) & BUDGET
