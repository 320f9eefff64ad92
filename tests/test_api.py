"""The Python API: the guide's examples (docs/model-folder.md) run as written; data in memory trains the same model as
the same data in a file; bad input is one clear error each."""

import re
from pathlib import Path

import numpy as np
import pytest

import weighted_bert
from weighted_bert.errors import UserError

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "model-folder.md"
PAIRS = [("the striker scored a goal", "sport"), ("the coach praised the team", "sport"),
         ("the match ended late", "sport"), ("the bank raised its loan price", "finance"),
         ("shares and stock fell", "finance"), ("heavy rain and wind", "weather")]
FAST = dict(epochs=2, learning_rate=3e-3, batch_size=2, precision="fp32", progress=False, seed=5)


def guide_python_blocks(section: str) -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_the_guide_examples_run(tmp_path, tiny_bert, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    blocks = guide_python_blocks("Python API")
    assert len(blocks) == 3
    for block in blocks:
        exec(block.replace("path/to/bert-folder", str(tiny_bert)), namespace)  # noqa: S102 (our own guide)
    assert namespace["classifier"].labels == ["finance", "sport", "weather"]
    assert namespace["result"].eval_metrics["macro_f1"] >= 0
    assert (tmp_path / "runs" / "frame" / "model" / "config.json").is_file()
    assert len(namespace["scores"]) == 2 and all(0 <= s <= 1 for s in namespace["scores"])


def test_a_dataframe_and_a_file_train_the_same_model(tmp_path, tiny_bert):
    pd = pytest.importorskip("pandas")
    data = tmp_path / "train.txt"
    data.write_text("".join(f"{t}\t{y}\n" for t, y in PAIRS))
    texts = ["a goal for the team", "stock price", "snow and wind"]
    from_file = weighted_bert.train(str(data), model=str(tiny_bert), output_dir=tmp_path / "file", **FAST)
    frame = pd.DataFrame(PAIRS, columns=["text", "label"])
    from_frame = weighted_bert.train(frame, model=str(tiny_bert), output_dir=tmp_path / "frame", **FAST)
    assert from_file.label_map == from_frame.label_map
    np.testing.assert_allclose(weighted_bert.load(tmp_path / "file").predict_proba(texts),
                               weighted_bert.load(tmp_path / "frame").predict_proba(texts), atol=1e-6)


def test_a_datasets_dataset_trains(tmp_path, tiny_bert):
    datasets = pytest.importorskip("datasets")
    table = datasets.Dataset.from_dict({"text": [t for t, _ in PAIRS], "label": [y for _, y in PAIRS]})
    result = weighted_bert.train(table, model=str(tiny_bert), output_dir=tmp_path / "ds", **{**FAST, "epochs": 1})
    assert list(result.label_map.labels) == ["finance", "sport", "weather"]


@pytest.mark.parametrize("data, message", [
    ([], "the training data is empty"),
    ([("a goal", "sport"), ("a loan", 1)], "labels of mixed types (number, str)"),
    ([("a goal", "sport"), (3, "finance")], "item 1: the text is of type int (3); expected a string"),
    ([("a goal", "sport"), ("a loan", None)], "item 1: the label is missing"),
    ([("only a text",)], "item 0: ('only a text',) is not (text, label)"),
    (42, "the training data is of type int; expected a file"),
])
def test_bad_data_in_memory_is_one_clear_error(tmp_path, tiny_bert, data, message):
    with pytest.raises(UserError) as caught:
        weighted_bert.train(data, model=str(tiny_bert), output_dir=tmp_path / "o", **FAST)
    assert message in str(caught.value)
    assert not (tmp_path / "o").exists()


def test_a_dataframe_without_the_named_columns(tmp_path, tiny_bert):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(PAIRS, columns=["sentence", "label"])
    with pytest.raises(UserError, match="the training DataFrame has no column 'text' .*text_column="):
        weighted_bert.train(frame, model=str(tiny_bert), output_dir=tmp_path / "o", **FAST)


def test_a_dataframe_with_a_repeated_column_name_is_refused(tmp_path, tiny_bert):
    """Two columns named text: value["text"] is then a frame, and its iteration gave the column
    names, so 60 rows trained as 2 rows whose text was "text"."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame([(t, t, y) for t, y in PAIRS], columns=["text", "text", "label"])
    with pytest.raises(UserError, match="the training DataFrame has more than one column named 'text'"):
        weighted_bert.train(frame, model=str(tiny_bert), output_dir=tmp_path / "o", **FAST)
    assert not (tmp_path / "o").exists()


def test_pandas_missing_values_are_missing_labels(tmp_path, tiny_bert):
    """pd.NA and pd.NaT were "a label of type NAType"; NaN inside a label list named a deleted
    temporary file."""
    pd = pytest.importorskip("pandas")
    for missing in (pd.NA, pd.NaT):
        frame = pd.DataFrame({"text": ["a goal", "a loan"], "label": pd.Series(["sport", missing], dtype=object)})
        with pytest.raises(UserError, match="item 1: the label is missing"):
            weighted_bert.train(frame, model=str(tiny_bert), output_dir=tmp_path / "o", **FAST)
    frame = pd.DataFrame({"text": ["a goal", "a loan"], "label": [["sport"], ["finance", float("nan")]]})
    with pytest.raises(UserError, match=r"item 1: the label list .* holds a missing value"):
        weighted_bert.train(frame, model=str(tiny_bert), output_dir=tmp_path / "o", **FAST)


def test_an_empty_label_in_memory_is_named_by_its_item_not_a_temporary_file(tmp_path, tiny_bert):
    """"" and "  " as labels named the temporary JSONL file the data was written to."""
    for empty in ("", "  "):
        with pytest.raises(UserError, match=re.escape(f"the training data, item 1: the label is empty ({empty!r})")):
            weighted_bert.train([("a goal", "sport"), ("a loan", empty)], model=str(tiny_bert),
                                output_dir=tmp_path / "o", **FAST)
    with pytest.raises(UserError, match=r"item 1: the label list \['finance', ''\] holds an empty label"):
        weighted_bert.train([("a goal", ["sport"]), ("a loan", ["finance", ""])], model=str(tiny_bert),
                            output_dir=tmp_path / "o", **FAST)
    assert not (tmp_path / "o").exists()


def test_predict_takes_a_non_empty_list_of_strings(trained_run):
    classifier = weighted_bert.load(trained_run)
    assert classifier.predict(["goal match team", "stock market bank"]) == ["sport", "finance"]
    for bad, message in (([], "at least one text"), ("goal match", "a list of texts, not one string"),
                         (["goal", 7], "text 1 is 7; this model takes strings")):
        with pytest.raises(UserError, match=re.escape(message)):
            classifier.predict(bad)


def test_labels_in_memory_follow_the_jsonl_rule(tmp_path, tiny_bert):
    """One rule for a value as label text, whether it came from a JSONL file or from memory."""
    from weighted_bert.data.examples import value_text

    assert [value_text(v) for v in (1, 1.0, np.int64(1), True, np.bool_(False), 2.5, np.float64(2.5), "x")] == [
        "1", "1", "1", "true", "false", "2.5", "2.5", "x"]
    assert value_text({"a": 1}) is None and value_text([1]) is None and value_text(None) == ""
    with pytest.raises(UserError, match=r"item 0: the label is of type dict \(\{'a': 0\}\); expected a string"):
        weighted_bert.train([("a goal", {"a": 0}), ("a loan", {"a": 1})], model=str(tiny_bert),
                            output_dir=tmp_path / "o", **FAST)


def test_load_answers_for_another_target_prior_as_predict_does(trained_run, toy_data_dir, tmp_path):
    """``load(..., target_prior=...)`` gives ``predict --target-prior``'s probabilities; a bad
    prior is refused when loading, not at the first prediction."""
    import numpy as np

    from weighted_bert.cli import main

    test = toy_data_dir / "test_data.txt"
    texts = [line.split("\t")[0] for line in test.read_text().splitlines()]
    out = tmp_path / "probs.tsv"
    assert main(["predict", "--model", str(trained_run), "--data", str(test), "--output", str(tmp_path / "p.tsv"),
                 "--probabilities", str(out), "--target-prior", "train"]) == 0
    moved = weighted_bert.load(trained_run, target_prior="train")
    np.testing.assert_allclose(moved.predict_proba(texts), np.loadtxt(out), atol=1e-5)
    as_is = weighted_bert.load(trained_run).predict_proba(texts)
    assert not np.allclose(as_is, np.loadtxt(out), atol=1e-3)  # the shift moved something
    for bad in ("dev", str(tmp_path / "no-such.json")):
        with pytest.raises(UserError, match="is neither train, uniform nor an existing JSON file"):
            weighted_bert.load(trained_run, target_prior=bad)
