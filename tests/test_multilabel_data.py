"""Multi-label data: label lists and separators in every format, rows with no label, and
one clear line for each kind of bad input."""

import json

import pytest

from weighted_bert.config import RunConfig
from weighted_bert.data import parse_dataset, read_dataset
from weighted_bert.errors import DataFormatError, SettingError
from weighted_bert.labels import build_label_map
from weighted_bert.stats import dataset_stats
from weighted_bert.tasks import MULTI_LABEL


def jsonl(*rows):
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_jsonl_label_lists_are_label_sets_and_detected():
    data = parse_dataset(jsonl({"text": "a", "labels": ["x", "y"]}, {"text": "b", "labels": []},
                               {"text": "c", "labels": [3]}), "t.jsonl")
    assert data.multi_label and [e.label for e in data.examples] == [("x", "y"), (), ("3",)]


@pytest.mark.parametrize("name, body", [
    ("t.txt", "a\tx|y\nb\t\nc\ty\n"),
    ("t.tsv", "text\tlabel\na\tx|y\nb\t\nc\ty\n"),
    ("t.csv", 'text,label\na,x|y\nb,\nc,y\n'),
])
def test_text_formats_split_at_the_separator_and_allow_rows_without_label(name, body):
    data = parse_dataset(body.encode(), name, multi_label=True, label_separator="|")
    assert [e.label for e in data.examples] == [("x", "y"), (), ("y",)]


def test_a_label_named_twice_is_merged_and_reported(capsys):
    data = parse_dataset(b"a\tx,y,x\nb\ty\n", "t.txt", multi_label=True, label_separator=",")
    assert data.examples[0].label == ("x", "y")
    assert "t.txt: 1 row(s) name a label twice (line(s) 1)" in capsys.readouterr().err


@pytest.mark.parametrize("body, problem", [
    (b"a\tx,,y\n", "line 1: has an empty label in its label list (two separators ',' in a row"),
    (b"a\tx,\n", "line 1: has an empty label in its label list"),
    (b"a\tx,NaN\n", "line 1: has the label 'NaN', which spreadsheets and pandas write for a missing value"),
])
def test_bad_label_fields_name_file_and_line(body, problem):
    with pytest.raises(DataFormatError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_dataset(body, "t.txt", multi_label=True, label_separator=",")


def test_label_lists_in_a_single_label_task_are_refused():
    with pytest.raises(DataFormatError, match="t.jsonl, line 1: has a list of labels; this task is single-label"):
        parse_dataset(jsonl({"text": "a", "label": ["x"]}), "t.jsonl", multi_label=False)


def test_mixed_lists_and_single_labels_are_refused():
    with pytest.raises(DataFormatError, match="t.jsonl, line 2: has one label while earlier lines have label lists"):
        parse_dataset(jsonl({"text": "a", "label": ["x"]}, {"text": "b", "label": "y"}), "t.jsonl")


def test_label_holding_the_set_separator_of_predictions_is_refused(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(jsonl({"text": "a", "labels": ["x;y"]}, {"text": "b", "labels": ["z"]}))
    with pytest.raises(DataFormatError, match=r"has the label 'x;y', which holds ';', the character between the "
                       "labels of a set in predictions.tsv"):
        MULTI_LABEL.training_label_map(read_dataset(path))


def test_a_training_file_with_no_label_at_all_is_refused(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(jsonl({"text": "a", "labels": []}, {"text": "b", "labels": []}))
    with pytest.raises(DataFormatError, match="has no label on any row"):
        MULTI_LABEL.training_label_map(read_dataset(path))


def test_a_label_only_in_dev_names_file_and_line(tmp_path):
    (tmp_path / "train.jsonl").write_bytes(jsonl({"text": "a", "labels": ["x", "y"]}, {"text": "b", "labels": ["y"]}))
    (tmp_path / "dev.jsonl").write_bytes(jsonl({"text": "a", "labels": ["y"]}, {"text": "b", "labels": ["x", "w"]}))
    label_map = build_label_map(read_dataset(tmp_path / "train.jsonl"))
    with pytest.raises(DataFormatError, match=r"dev.jsonl, line 2: has label 'w', unknown to training"):
        label_map.multi_hot(read_dataset(tmp_path / "dev.jsonl"))


def test_multi_hot_and_counts():
    data = parse_dataset(jsonl({"text": "a", "labels": ["x", "y"]}, {"text": "b", "labels": []},
                               {"text": "c", "labels": ["y"]}), "t.jsonl")
    label_map = build_label_map(data)
    assert label_map.labels == ("x", "y") and label_map.counts(data) == [1, 2]
    assert label_map.multi_hot(data).tolist() == [[1, 1], [0, 0], [0, 1]]


def test_settings_of_the_task():
    assert RunConfig(model="m", output_dir="o", label_separator="|").multi_label is True
    from weighted_bert.loss_settings import MULTI_LABEL_LOSSES
    from weighted_bert.recipes import MULTI_LABEL_RECIPE

    settled = RunConfig(model="m", output_dir="o", multi_label=True)
    assert settled.loss in MULTI_LABEL_LOSSES and settled.recipe == MULTI_LABEL_RECIPE
    with pytest.raises(SettingError, match="recipe 'recommended' is a single-label recipe"):
        RunConfig(model="m", output_dir="o", multi_label=True, recipe="recommended")
    with pytest.raises(SettingError, match="loss 'weighted_ce' is a single-label loss"):
        RunConfig(model="m", output_dir="o", multi_label=True, loss="weighted_ce")
    with pytest.raises(SettingError, match="is for multi-label tasks, and --no-multi-label was given"):
        RunConfig(model="m", output_dir="o", multi_label=False, loss="asymmetric")
    with pytest.raises(SettingError, match="target_prior"):
        RunConfig(model="m", output_dir="o", multi_label=True, target_prior="uniform")
    with pytest.raises(SettingError, match="is empty, blank, or holds a tab"):
        RunConfig(model="m", output_dir="o", label_separator="\t")
    with pytest.raises(SettingError, match="is not scored in a single-label task"):
        RunConfig(model="m", output_dir="o", metric_for_best_model="map")


def test_stats_of_multilabel_data(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(jsonl({"text": "a", "labels": ["x", "y"]}, {"text": "b", "labels": []},
                           {"text": "c", "labels": ["y", "x"]}, {"text": "d", "labels": ["y", "z"]}))
    split = dataset_stats(path)["splits"]["train"]
    assert split["label_cardinality"] == pytest.approx(6 / 4) and split["rows_without_label"] == 1
    assert split["class_counts"] == {"x": 2, "y": 3, "z": 1} and split["distinct_label_sets"] == 3
    assert split["frequent_pairs"][0] == {"labels": ["x", "y"], "rows": 2}
    assert split["frequent_label_sets"][0] == {"labels": ["x", "y"], "rows": 2}


def test_a_separator_that_never_appears_is_one_clear_error(tmp_path):
    from weighted_bert.tasks import check_label_sets

    path = tmp_path / "train_data.txt"
    path.write_text("a\tx|y\nb\ty\n", encoding="utf-8")  # the user's files use |, the default is ,
    data = read_dataset(path, multi_label=True, label_separator=",")
    with pytest.raises(DataFormatError, match=r"train_data.txt: no label field holds the label separator ',': every "
                       "row has one label; name the character between labels with --label-separator"):
        check_label_sets(data, None)  # None: the default separator
    check_label_sets(read_dataset(path, multi_label=True, label_separator="|"), "|")  # the right one: fine


def test_a_jsonl_string_label_in_a_multi_label_task_is_a_one_label_set():
    data = parse_dataset(jsonl({"text": "a", "label": "x"}, {"text": "b", "label": "y"}), "t.jsonl", multi_label=True)
    assert [e.label for e in data.examples] == [("x",), ("y",)]
