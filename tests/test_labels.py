"""Label order, the label map file, counts and unknown labels."""

import pytest

from weighted_bert.data import Dataset, Example
from weighted_bert.errors import DataFormatError
from weighted_bert.labels import LabelMap, build_label_map
from weighted_bert.tasks import SINGLE_LABEL


def dataset(labels, path="train_data.txt"):
    return Dataset(path, [Example(f"t{i}", None, y, i + 1) for i, y in enumerate(labels)])


def test_numeric_labels_sort_numerically():
    assert LabelMap.from_labels(["15", "2", "-1", "2.5"]).labels == ("-1", "2", "2.5", "15")


def test_string_labels_sorted_or_first_seen():
    assert LabelMap.from_labels(["b", "a", "c", "a"]).labels == ("a", "b", "c")
    assert LabelMap.from_labels(["b", "a", "c", "a"], order="first_seen").labels == ("b", "a", "c")


def test_explicit_labels_fix_the_order_and_reject_unlisted(capsys):
    train = dataset(["b", "a", "b"])
    assert build_label_map(train, explicit=["b", "a", "z"]).labels == ("b", "a", "z")
    assert "no training example for label(s) 'z'" in capsys.readouterr().err
    with pytest.raises(DataFormatError, match="line 2: has label 'a', which --labels does not list"):
        build_label_map(train, explicit=["b", "c"])


def test_one_class_is_an_error_for_a_single_label_task():
    with pytest.raises(DataFormatError, match=r"has only one class \('x'\)"):
        SINGLE_LABEL.training_label_map(dataset(["x", "x"]))
    assert SINGLE_LABEL.training_label_map(dataset(["x", "y"])).labels == ("x", "y")


def test_near_duplicate_labels_are_reported(capsys):
    build_label_map(dataset(["Pos", "pos ", "neg"]))
    assert "differ only by case or surrounding spaces" in capsys.readouterr().err


def test_counts_and_unknown_label():
    label_map = LabelMap(("a", "b", "c"))
    assert label_map.counts(dataset(["a", "c", "a"])) == [2, 0, 1]
    with pytest.raises(DataFormatError, match=r"dev_data.txt, line 2: has label 'd', unknown to training"):
        label_map.encode(dataset(["a", "d"], path="dev_data.txt"))


def test_save_and_load_json(tmp_path):
    label_map = LabelMap(("体育", "2", "a b"))
    label_map.save(tmp_path / "label_map.json")
    assert LabelMap.load(tmp_path / "label_map.json") == label_map
    assert "体育" in (tmp_path / "label_map.json").read_text(encoding="utf-8")


def test_labels_differing_by_invisible_characters_are_reported(capsys):
    data = Dataset("train.txt", [Example("x", None, "spam", 1), Example("y", None, "\ufeffspam", 2),
                                 Example("z", None, "ham\u200b", 3), Example("w", None, "ham", 4)])
    build_label_map(data)
    err = capsys.readouterr().err
    assert "labels 'spam', '\\ufeffspam' differ only by invisible characters" in err
    assert "label 'ham\\u200b' holds an invisible character (U+200B ZERO WIDTH SPACE)" in err
