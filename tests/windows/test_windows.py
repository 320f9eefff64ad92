"""Long documents: windows, their aggregation by hand, training on windows, and every way a
model answers giving the same answer for a long text."""

import json
import random
import shutil
import urllib.request

import numpy as np
import pytest
from helpers import FILLER, KEYWORDS, TRAIN_FLAGS

from weighted_bert.cli import main
from weighted_bert.data import Example
from weighted_bert.errors import SettingError, UserError
from weighted_bert.outputs import LABEL_SET, ONE_CLASS
from weighted_bert.prediction import EncodedDataset
from weighted_bert.windows import AGGREGATIONS, WindowPlan, check_windows
from weighted_bert.windows.reading import aggregate, choose_aggregation, encode_windows, windows_needed


def test_mean_max_and_first_by_hand():
    # two documents: windows 0-1 and window 2
    logits = np.array([[2.0, 0.0], [0.0, 4.0], [1.0, 3.0]], dtype=np.float32)
    starts = np.array([0, 2, 3])
    assert aggregate(logits, starts, "mean", ONE_CLASS).tolist() == [[1.0, 2.0], [1.0, 3.0]]
    assert aggregate(logits, starts, "first", ONE_CLASS).tolist() == [[2.0, 0.0], [1.0, 3.0]]
    # max: per class the highest softmax probability of any window, as log-probabilities
    p0 = 1 / (1 + np.exp(-2.0))  # window 0: class 0 at e^2 / (e^2 + 1)
    p1 = 1 / (1 + np.exp(-4.0))  # window 1: class 1 at e^4 / (1 + e^4)
    np.testing.assert_allclose(aggregate(logits, starts, "max", ONE_CLASS)[0], np.log([p0, p1]), atol=1e-6)
    # a one-window document keeps its own softmax under every rule
    one = aggregate(logits, starts, "max", ONE_CLASS)[1]
    np.testing.assert_allclose(np.exp(one) / np.exp(one).sum(), np.exp([1, 3]) / np.exp([1, 3]).sum(), rtol=1e-6)
    # multi-label max: the highest logit of each label (sigmoid is monotone)
    assert aggregate(logits, starts, "max", LABEL_SET).tolist() == [[2.0, 4.0], [1.0, 3.0]]
    # one window each: unchanged, whatever the rule
    assert aggregate(logits, np.arange(4), "max", ONE_CLASS) is not None
    np.testing.assert_array_equal(aggregate(logits, np.arange(4), "mean", ONE_CLASS), logits)
    # logsumexp: per class log(sum of e^logit) over the windows, single- and multi-label alike
    expected = [[np.log(np.e ** 2 + 1), np.log(1 + np.e ** 4)], [1.0, 3.0]]
    np.testing.assert_allclose(aggregate(logits, starts, "logsumexp", ONE_CLASS), expected, rtol=1e-6)
    np.testing.assert_allclose(aggregate(logits, starts, "logsumexp", LABEL_SET), expected, rtol=1e-6)
    with pytest.raises(SettingError):
        aggregate(logits, starts, "median", ONE_CLASS)


@pytest.mark.parametrize("rule", AGGREGATIONS)
@pytest.mark.parametrize("outputs", [ONE_CLASS, LABEL_SET], ids=["single", "multi"])
def test_training_joins_windows_as_every_answer_does(rule, outputs):
    import torch

    from weighted_bert.training.documents import join_windows

    logits = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    starts = np.array([0, 3, 4, 6])
    window_logits = torch.from_numpy(logits).requires_grad_()
    joined = join_windows(window_logits, torch.tensor(np.diff(starts)), rule, outputs)
    np.testing.assert_allclose(joined.detach().numpy(), aggregate(logits, starts, rule, outputs), rtol=1e-5,
                               atol=1e-6)
    joined.sum().backward()
    reached = (window_logits.grad.abs().sum(dim=1) > 0).tolist()
    # first: only each document's first window learns; logsumexp and mean: every window does
    assert reached == ([True, False, False, True, True, False] if rule == "first" else
                       [True] * 6 if rule in ("mean", "logsumexp") else reached)


def test_the_best_rule_on_dev_wins_and_ties_keep_the_earlier():
    scores = {"mean": 0.5, "max": 0.7, "first": 0.6, "logsumexp": 0.65}
    assert choose_aggregation(scores.get) == ("max", scores)
    assert choose_aggregation({"mean": 0.7, "max": 0.7, "first": 0.1, "logsumexp": 0.7}.get)[0] == "mean"
    assert choose_aggregation({"mean": 0.9, "max": 0.4, "first": 0.6, "logsumexp": 0.5}.get,
                              greater_is_better=False)[0] == "max"
    assert AGGREGATIONS[0] == "mean"


def test_settings_that_cannot_window_say_so():
    check_windows(128, 32, 16)
    check_windows(16, 99, 1)  # one window: the stride is never used
    with pytest.raises(SettingError, match=r"max windows 0 is not >= 1"):
        check_windows(128, 32, 0)
    with pytest.raises(SettingError, match=r"stride 126 is not smaller than the 126 text tokens of a window"):
        check_windows(128, 126, 4)


def test_windows_needed_by_hand():
    # a window of 128 holds 126 text tokens; each further window adds 126 - 32 = 94
    assert windows_needed([2, 128, 129, 128 + 94, 128 + 95], 128, 32).tolist() == [1, 1, 2, 2, 3]


@pytest.fixture(scope="module")
def tokenizer(tiny_bert):
    from weighted_bert.model import load_tokenizer

    return load_tokenizer(tiny_bert)


def test_windows_are_the_fast_tokenizers_overflow_and_the_first_is_truncation(tokenizer, tiny_bert):
    from weighted_bert.prediction import encode_examples
    from weighted_bert.tokenizer_file import TokenizerFile

    words = [f"{w}" for w in (FILLER * 4)]
    text = " ".join(words)  # 48 words, one token each
    examples = [Example(text, None, None, 1), Example("a goal", None, None, 2)]
    windows = encode_windows(tokenizer, examples, 16, WindowPlan(stride=4, max_windows=16))
    expected = tokenizer([text], truncation=True, max_length=16, stride=4, return_overflowing_tokens=True)["input_ids"]
    assert [windows.encodings["input_ids"][i] for i in range(len(expected))] == expected
    assert windows.counts.tolist() == [len(expected), 1]
    assert windows.needed.tolist() == [len(expected), 1] == windows_needed([50, 4], 16, 4).tolist()
    assert windows.encodings["input_ids"][0] == encode_examples(tokenizer, examples[:1], 16)["input_ids"][0]
    # neighbours share the stride's tokens
    first, second = windows.encodings["input_ids"][0], windows.encodings["input_ids"][1]
    assert first[-5:-1] == second[1:5]
    # the ONNX path's tokenizer (tokenizer.json alone) cuts the same windows
    lean = encode_windows(TokenizerFile(tiny_bert), examples, 16, WindowPlan(stride=4, max_windows=16))
    assert all(lean.encodings["input_ids"][i] == windows.encodings["input_ids"][i] for i in range(len(expected) + 1))
    # capped: the rest is cut, and said
    capped = encode_windows(tokenizer, examples, 16, WindowPlan(stride=4, max_windows=2))
    assert capped.counts.tolist() == [2, 1] and capped.cut().tolist() == [True, False]


def test_a_pair_keeps_its_first_text_in_every_window(tokenizer):
    question = "the big match"
    windows = encode_windows(tokenizer, [Example(question, " ".join(FILLER * 3), None, 1)], 16,
                             WindowPlan(stride=2, max_windows=16))
    head = tokenizer(question)["input_ids"][:-1]  # [CLS] the big match
    assert windows.counts[0] > 2
    for i in range(windows.counts[0]):
        assert windows.encodings["input_ids"][i][:len(head) + 1] == head + [tokenizer.sep_token_id]
    # a first text that leaves no room: truncated as before, and reported as cut
    crowded = encode_windows(tokenizer, [Example(" ".join(FILLER * 3), "a goal", None, 1)], 16,
                             WindowPlan(stride=2, max_windows=16))
    assert crowded.counts.tolist() == [1] and crowded.cut().tolist() == [True]


def test_each_epoch_a_document_gives_its_next_window():
    encodings = {"input_ids": [[1], [2], [3], [4], [5], [6]]}
    dataset = EncodedDataset(encodings, [0, 1, 0], starts=[0, 3, 4, 6], seed=3)
    assert len(dataset) == 3
    seen = [[], [], []]
    for epoch in range(6):
        dataset.set_epoch(epoch)
        for d in range(3):
            seen[d].append(dataset[d]["input_ids"][0])
            assert dataset[d]["labels"] == [0, 1, 0][d]
    assert sorted(seen[0][:3]) == [1, 2, 3] and seen[0][3:] == seen[0][:3]  # every window once in 3 epochs
    assert set(seen[1]) == {4} and sorted(seen[2][:2]) == [5, 6]
    assert dataset.lengths().tolist() == [1, 1, 1]


def test_a_batch_of_whole_documents_is_every_window_and_the_loss_is_on_the_joined_logits(tokenizer, tiny_bert,
                                                                                          tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification, TrainingArguments

    from weighted_bert.losses.registry import get_loss
    from weighted_bert.training.documents import DocumentCollator, join_windows
    from weighted_bert.training.trainer import WeightedTrainer

    texts = [" ".join(FILLER * 3) + " goal", "a goal", " ".join(FILLER * 2) + " rain"]
    windows = encode_windows(tokenizer, [Example(t, None, None, i + 1) for i, t in enumerate(texts)], 16,
                             WindowPlan(stride=4, max_windows=16))
    dataset = EncodedDataset(windows.encodings, [0, 0, 2], lines=[1, 2, 3], starts=windows.starts, whole=True)
    assert len(dataset) == 3 and windows.counts.tolist()[1] == 1 and min(windows.counts[[0, 2]]) > 1
    assert dataset[0]["input_ids"] == [windows.encodings["input_ids"][i] for i in range(windows.counts[0])]
    assert dataset.lengths()[1] == len(windows.encodings["input_ids"][windows.starts[1]])
    every = [len(windows.encodings["input_ids"][i]) for i in range(windows.counts.sum())]
    assert dataset.lengths()[0] == sum(every[:windows.counts[0]]) and dataset.mean_length() == np.mean(every)
    batch = DocumentCollator(tokenizer)([dataset[i] for i in range(3)])
    assert batch["window_counts"].tolist() == windows.counts.tolist()
    assert batch["input_ids"].shape[0] == windows.counts.sum() and batch["labels"].tolist() == [0, 0, 2]
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert, num_labels=3).eval()
    loss_fn = get_loss("ce", [2, 1, 1])
    trainer = WeightedTrainer(model=model, args=TrainingArguments(output_dir=str(tmp_path), use_cpu=True,
                                                                  report_to="none"),
                              loss_fn=loss_fn, window_aggregation="logsumexp")
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        inputs = {k: v for k, v in batch.items() if k not in ("labels", "example_line", "window_counts")}
        by_hand = torch.nn.functional.cross_entropy(
            join_windows(model(**inputs).logits, batch["window_counts"], "logsumexp", ONE_CLASS),
            batch["labels"])
    assert float(loss) == pytest.approx(float(by_hand), rel=1e-6)


def _needle_doc(rng, label):
    words = [rng.choice(FILLER) for _ in range(rng.randint(4, 36))]
    at = rng.randint(0, len(words))
    return " ".join(words[:at] + rng.sample(KEYWORDS[label], 2) + words[at:])


@pytest.fixture(scope="module")
def long_run(tmp_path_factory, tiny_bert):
    """A real run on documents longer than the window (16 tokens): each a label's two keywords
    somewhere among filler words."""
    folder = tmp_path_factory.mktemp("long_docs")
    rng = random.Random(5)
    for split, counts in (("train", {"sport": 40, "finance": 20, "weather": 10}), ("dev", dict.fromkeys(KEYWORDS, 6)),
                          ("test", dict.fromkeys(KEYWORDS, 6))):
        rows = [(_needle_doc(rng, y), y) for y, n in counts.items() for _ in range(n)]
        (folder / f"{split}_data.txt").write_text("".join(f"{t}\t{y}\n" for t, y in rows), encoding="utf-8")
    output = folder / "run"
    flags = [f for f in TRAIN_FLAGS]
    flags[flags.index("--epochs") + 1] = "6"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(folder), "--output-dir", str(output),
                 "--max-seq-length", "16", "--stride", "4", "--max-windows", "16", *flags]) == 0
    return output, folder


def test_training_records_the_windows_and_the_rule_dev_chose(long_run):
    output, _ = long_run
    record = json.loads((output / "model" / "weighted_bert.json").read_text())["windows"]
    assert record["stride"] == 4 and record["max_windows"] == 16
    assert record["chosen_by"] == "dev macro_f1" and set(record["dev_scores"]) == set(AGGREGATIONS)
    best = max(record["dev_scores"].values())
    assert record["dev_scores"][record["aggregation"]] == best
    card = (output / "model" / "README.md").read_text()
    assert f"stride 4, at most 16, joined by {record['aggregation']} (chosen by dev macro_f1)" in card
    eval_results = (output / "eval_results.txt").read_text()
    assert f"eval_macro_f1 = {best}" in eval_results or abs(
        float(eval_results.split("eval_macro_f1 = ")[1].split()[0]) - best) < 1e-9


def test_training_on_whole_documents_joins_their_windows_and_says_so(long_run, tiny_bert, tmp_path):
    import weighted_bert

    _, data = long_run
    output = tmp_path / "documents"
    flags = [f for f in TRAIN_FLAGS]
    flags[flags.index("--epochs") + 1] = "6"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(data), "--output-dir", str(output),
                 "--max-seq-length", "16", "--stride", "4", "--max-windows", "16", "--window-training", "documents",
                 *flags]) == 0
    record = json.loads((output / "model" / "weighted_bert.json").read_text())["windows"]
    assert record["training"] == "documents" and set(record["dev_scores"]) == set(AGGREGATIONS)
    assert record["dev_scores"][record["aggregation"]] == max(record["dev_scores"].values())
    assert "trained on documents" in (output / "model" / "README.md").read_text()
    # a step is a batch of 8 documents, whatever their windows: 70 training documents, 9 steps an epoch
    assert json.loads((output / "run_summary.json").read_text())["global_step"] == 6 * 9
    texts = [line.split("\t")[0] for line in (data / "test_data.txt").read_text().splitlines()]
    assert main(["predict", "--model", str(output), "--data", str(data / "test_data.txt"), "--output",
                 str(tmp_path / "p.tsv"), "--probabilities", str(tmp_path / "probabilities.tsv")]) == 0
    np.testing.assert_allclose(weighted_bert.load(output).predict_proba(texts),
                               np.loadtxt(tmp_path / "probabilities.tsv", delimiter="\t"), atol=1e-5)


def test_every_way_of_answering_gives_one_answer_a_document(long_run, tmp_path, capsys):
    import weighted_bert

    output, data = long_run
    test = data / "test_data.txt"
    probabilities = tmp_path / "p.tsv"
    assert main(["predict", "--model", str(output), "--data", str(test), "--output", str(tmp_path / "out.tsv"),
                 "--probabilities", str(probabilities)]) == 0
    from_predict = np.loadtxt(probabilities, delimiter="\t")
    rows = (tmp_path / "out.tsv").read_text().splitlines()
    assert rows[0].split("\t")[-1] == "windows" and len(rows) == 19
    counts = [int(r.split("\t")[-1]) for r in rows[1:]]
    assert max(counts) > 1 and min(counts) >= 1
    texts = [line.split("\t")[0] for line in test.read_text().splitlines()]
    classifier = weighted_bert.load(output)
    np.testing.assert_allclose(classifier.predict_proba(texts), from_predict, atol=1e-5)
    answers = classifier.answer(texts, measure_truncation=True)
    assert answers.windows == counts and not any(answers.truncated)
    # the first window alone is truncation: --max-windows 1 and the first rule agree
    first = weighted_bert.load(output, window_aggregation="first").predict_proba(texts)
    np.testing.assert_allclose(weighted_bert.load(output, max_windows=1).predict_proba(texts), first, atol=1e-6)
    # evaluate scores what predict answers
    assert main(["evaluate", "--model", str(output), "--data", str(test)]) == 0
    accuracy = float(capsys.readouterr().out.split("eval_accuracy = ")[1].split()[0])
    gold = [line.split("\t")[1] for line in test.read_text().splitlines()]
    assert accuracy == pytest.approx(np.mean(np.array(classifier.predict(texts)) == np.array(gold)))
    # a cap below what a text needs cuts it, and says so
    short = weighted_bert.load(output, max_windows=2).answer(texts, measure_truncation=True)
    assert max(short.windows) == 2 and any(short.truncated)


def test_onnx_answers_long_documents_as_pytorch_does(long_run, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import weighted_bert

    output, data = long_run
    run = shutil.copytree(output, tmp_path / "run")
    assert main(["export", "--model", str(run)]) == 0
    texts = [line.split("\t")[0] for line in (data / "test_data.txt").read_text().splitlines()]
    np.testing.assert_allclose(weighted_bert.load(run, backend="onnx").predict_proba(texts),
                               weighted_bert.load(run).predict_proba(texts), atol=1e-5)


def test_serve_answers_as_predict_and_says_the_windows(long_run):
    from helpers import start_server, stop_server

    import weighted_bert

    output, data = long_run
    texts = [line.split("\t")[0] for line in (data / "test_data.txt").read_text().splitlines()][:4]
    process, address = start_server(output)
    try:
        request = urllib.request.Request(f"http://{address}/predict", data=json.dumps({"inputs": texts}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answers, windows = json.loads(response.read()), response.headers.get("X-Windows")
        bad = urllib.request.Request(f"http://{address}/predict", data=json.dumps({"inputs": ["a", "  "]}).encode(),
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bad, timeout=60)
    finally:
        stop_server(process)
    classifier = weighted_bert.load(output)
    expected = classifier.predict_proba(texts)
    labels = classifier.labels
    for row, answer in zip(expected, answers):
        assert {a["label"]: a["score"] for a in answer} == pytest.approx(dict(zip(labels, row.tolist())), abs=1e-5)
    assert windows == ",".join(map(str, classifier.answer(texts).windows))
    assert refused.value.code == 422 and "only whitespace" in refused.value.read().decode()


def test_empty_texts_and_bad_window_settings_are_one_line_each(long_run, tmp_path, capsys):
    import weighted_bert

    output, data = long_run
    classifier = weighted_bert.load(output)
    for text, said in (("", "text 1 is empty"), (" \t ", "text 1 is only whitespace")):
        with pytest.raises(UserError, match=said):
            classifier.predict(["a goal", text])
    for flags, said in ((["--max-windows", "0"], "max windows 0 is not >= 1"),
                        (["--stride", "14"], "stride 14 is not smaller than the 14 text tokens of a window")):
        assert main(["predict", "--model", str(output), "--data", str(data / "test_data.txt"), "--output",
                     str(tmp_path / "p.tsv"), *flags]) == 2
        err = capsys.readouterr().err.strip()
        assert said in err and len(err.splitlines()) == 1
    assert main(["train", "--model", str(output), "--data-dir", str(data), "--output-dir", str(tmp_path / "t"),
                 "--max-seq-length", "16", "--stride", "20", "--max-windows", "4"]) == 2
    assert "stride 20 is not smaller" in capsys.readouterr().err
    assert main(["train", "--model", str(output), "--data-dir", str(data), "--output-dir", str(tmp_path / "t"),
                 "--stride", "8"]) == 2
    assert "it needs --max-windows above 1" in capsys.readouterr().err
    assert main(["train", "--model", str(output), "--data-dir", str(data), "--output-dir", str(tmp_path / "t"),
                 "--window-training", "documents"]) == 2
    err = capsys.readouterr().err.strip()
    assert "window training 'documents' is how training reads texts longer than one window" in err
    assert len(err.splitlines()) == 1


def test_stats_says_how_many_texts_run_past_the_window(long_run, tiny_bert, tmp_path, capsys):
    _, data = long_run
    assert main(["stats", str(data), "--model", str(tiny_bert), "--max-seq-length", "16", "--stride", "4",
                 "--max-windows", "2", "--output-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    stats = json.loads((tmp_path / "stats.json").read_text())["splits"]["train"]["long_texts"]
    assert stats["window"] == 16 and stats["texts_over_window"] > 0 and stats["cut_at_max_windows"] > 0
    assert f"--max-windows {stats['windows_needed_max']} reads them whole" in printed
