"""compare's paired bootstrap: the point difference is the difference of macro-F1 computed
as scikit-learn does, identical predictions give exactly 0, and a clearly better recipe's
interval lies above 0."""

import csv

import numpy as np
import pytest
from sklearn.metrics import f1_score

from weighted_bert.paired import paired_differences, paired_markdown


def write_run(folder, gold, pred, multi=False):
    folder.mkdir(parents=True)
    with open(folder / "predictions.tsv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        if multi:
            writer.writerow(["text", "predicted_labels", "probabilities", "gold_labels"])
            writer.writerows([f"t{i}", ";".join(p), "", ";".join(g)] for i, (g, p) in enumerate(zip(gold, pred)))
        else:
            writer.writerow(["text", "predicted_label", "probability", "gold_label"])
            writer.writerows([f"t{i}", p, "0.9", g] for i, (g, p) in enumerate(zip(gold, pred)))


def test_single_label_differences_and_intervals(tmp_path):
    rng = np.random.default_rng(0)
    gold = rng.choice(list("abcd"), size=400).tolist()
    weak = [g if rng.random() < 0.6 else rng.choice(list("abcd")) for g in gold]
    strong = [g if rng.random() < 0.9 else rng.choice(list("abcd")) for g in gold]
    for seed in (1, 2):
        write_run(tmp_path / "base" / f"seed{seed}", gold, weak)
        write_run(tmp_path / "same" / f"seed{seed}", gold, weak)
        write_run(tmp_path / "better" / f"seed{seed}", gold, strong)
    rows = paired_differences(tmp_path, {"base": "base", "same": "same", "better": "better"}, [1, 2], samples=300)
    same, better = rows
    assert same["pooled"] == (0.0, 0.0, 0.0)
    expected = f1_score(gold, strong, average="macro") - f1_score(gold, weak, average="macro")
    assert better["per_seed"][1][0] == pytest.approx(expected)
    assert 0 < better["pooled"][1] < expected < better["pooled"][2]
    assert "| better | +" in paired_markdown(rows)


def test_multi_label_runs_are_compared_on_their_label_sets(tmp_path):
    gold = [["x", "y"], [], ["y"], ["x"]] * 20
    write_run(tmp_path / "a" / "seed1", gold, [["x"], [], ["y"], []] * 20, multi=True)
    write_run(tmp_path / "b" / "seed1", gold, gold, multi=True)
    (row,) = paired_differences(tmp_path, {"a": "a", "b": "b"}, [1], samples=50)
    # a: x found on 20 of its 40 rows, y on 20 of its 40, no false positive: F1 2/3 each; b: 1 and 1
    assert row["pooled"][0] == pytest.approx(1 - 2 / 3)


def test_seed_interval_is_the_t_interval_of_the_mean():
    from weighted_bert.paired import seed_interval

    # mean 0.02, sd 0.01, n 3: half width t(0.975, 2) * 0.01 / sqrt(3) = 4.3027 * 0.005774 = 0.02484
    assert seed_interval([0.01, 0.02, 0.03]) == "+0.020 (-0.005, +0.045)"
    assert seed_interval([0.5], digits=2) == "+0.50 (one seed)"
    assert seed_interval([]) == "—"
