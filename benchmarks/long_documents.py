"""Long documents: what reading every window buys, by where the evidence sits, and what it costs.

    python benchmarks/long_documents.py            # both parts, seed 0; finished runs are kept

Two sets built from data on disk, the packaged MiniLM-L6, `train`'s defaults throughout
(length 128, a quarter of the window as stride, the window rule chosen on dev) but for what is
studied, the windows read: `--max-windows 16` (train's default is 1, truncation):

* **needle**: a model trained on CLINC150-LT's bare requests (its train and dev files) reads
  test documents that each hide one CLINC150-LT test request (10 a class) at a uniformly random
  place among 20 to 100 out-of-scope requests (CLINC150's oos splits, none labelled); macro-F1
  by where the request sits (in the first window, in the last window, or between), for
  truncation (the first window only) and each window rule, against the same model on the bare
  requests.
* **needle_trained** (`--parts needle_trained`): the same test read by a model trained in
  windows on needle documents built from CLINC150-LT's train requests, each among 5 to 25
  oos_train and oos_val requests (shorter than the test's: see TRAIN_FILLER_RANGE), and dev
  documents from 10 dev requests a class among 20 to 100 (`--window-training turns`: each epoch
  one window of a document, taught its label).
* **needle_documents** (`--parts needle_documents`): the same, trained with `--window-training
  documents` (every window of a document in one step, the loss on their joined logits).

  Both trained parts also read the same test requests among filler drawn from the training
  documents' 200 oos requests only: the test's filler is drawn from all 1,200 (1,000 of them
  oos_test, never seen in training), so the two readings part what the model learned of filler
  in general from what it learned of the 200 sentences it saw.
* **needle_disjoint** (`--parts needle_disjoint`): trained as needle_documents, but on filler pools
  that do not meet: training documents draw from 600 oos requests (oos_train, oos_val and the first
  400 of oos_test), dev documents from the next 100, and the test documents from the last 500, so
  every test filler sentence is new to the model and dev chose the rule and decision on new filler
  too; test documents built as the other parts' (10 test requests a class among 20 to 100). Its
  seen-filler reading draws from its own 600 training filler requests.
* **needle_prose** (`--parts needle_prose`): the model trained on the bare requests reads the same
  test requests among Debian's short package descriptions (debian_tags' test split, those of one
  sentence) instead of oos requests: filler unlike any request, so what is left is the request's
  share of its window.
* **needle_prose_documents** (`--parts needle_prose_documents`): trained as needle_documents, but
  every filler sentence a Debian package description, from pools that do not meet: training
  documents from debian_tags' train split, dev documents from its dev split, the test (needle_prose's)
  from its test split. Filler unlike requests, and too many sentences (5,980) to learn one by one.
* **needle_background** (`--parts needle_background`): a model trained on the bare requests and on
  the 600 training filler requests of needle_disjoint as one more class, ``no_label`` (dev: its 100),
  reads needle_disjoint's test; besides the package's rules, the *evidence* rule computed here: per
  class the highest probability a window gives it, ``no_label``'s the lowest (a document is filler
  only where every window is).
* **natural**: manual pages classified by section (1 commands, 2 system calls, 3 library
  calls, 4 devices, 5 file formats, 7 overviews, 8 administration) as this machine's man
  renders them (header and footer lines, which name the section, removed; pages that are the
  same text once), long-tailed counts; a model trained with truncation (--max-windows 1),
  read with truncation and with windows (rule chosen on dev), against a model trained on
  windows (`train`'s default).

Cost: documents per second with windows against truncation, and against windows x the cost of
one window. Writes benchmarks/results/long_documents.md and .json.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from weighted_bert.classifier import Classifier  # noqa: E402
from weighted_bert.config import RunConfig  # noqa: E402
from weighted_bert.data import Dataset, Example, read_dataset  # noqa: E402
from weighted_bert.demo import demo_model_dir  # noqa: E402
from weighted_bert.files import atomic_write_text  # noqa: E402
from weighted_bert.training.runner import run  # noqa: E402
from weighted_bert.windows import AGGREGATIONS  # noqa: E402
from weighted_bert.windows.reading import choose_aggregation  # noqa: E402

STUDIES = ()  # the budget is train's; what varies is how long texts are read
WINDOWS = 16  # the windows read (`--max-windows 16`): every needle document whole (train's default: 1)
DATA = HERE.parent.parent / "shared" / "data"
SECTIONS = {"1": 500, "3": 300, "2": 150, "7": 150, "8": 150, "5": 100, "4": 20}  # training pages a section
DEV_SHARE, TEST_SHARE = 0.2, 0.4  # of each section's training count: natural frequencies in every split
MAX_WORDS = 3000  # a page's first words (the longest pages run to tens of thousands)
NEEDLES_A_CLASS = 10
FILLER_RANGE = (20, 100)  # the test documents' (and dev's): 2 to 12 windows
# The training documents': 1 to 4 windows. Training on whole documents costs every window, 1,860 tokens/s
# here: at 20 to 100 (18,856 windows) an epoch took 22 minutes; a model learns what filler is from shorter ones.
TRAIN_FILLER_RANGE = (5, 25)
BACKGROUND = "no_label"  # needle_background: the filler's class


def macro_f1(gold, predicted) -> float:
    """Macro-F1 over the classes in ``gold`` (a subset of documents: its own classes)."""
    from sklearn.metrics import f1_score

    return float(f1_score(gold, predicted, labels=sorted(set(np.asarray(gold).tolist())), average="macro",
                          zero_division=0))


# ---------------------------------------------------------------- needle set


# Filler pools: the out-of-scope requests in the order oos_train, oos_val, oos_test (1,200), sliced
FILLER = {"test": slice(0, 1200), "training": slice(0, 200),  # needle_trained, needle_documents: 200 of the 1,200
          "disjoint_training": slice(0, 600), "disjoint_dev": slice(600, 700), "disjoint_test": slice(700, 1200)}


PROSE = {"prose": "test", "prose_training": "train", "prose_dev": "dev"}  # debian_tags' split of each prose pool


def filler(pool: str) -> list[str]:
    if pool in PROSE:  # Debian's short package descriptions: text unlike any request
        split = DATA / "debian_tags" / f"{PROSE[pool]}.jsonl"
        rows = (json.loads(line)["text"] for line in split.open(encoding="utf-8"))
        return [text for text in rows if ". " not in text and "\t" not in text]  # needle_bins splits on ". "
    full = json.loads((DATA / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return [text for split in ("oos_train", "oos_val", "oos_test") for text, _ in full[split]][FILLER[pool]]


def needle_documents(seed: int, pool: str = "test") -> tuple[list[Example], list[str], list[int]]:
    """Test documents (each a CLINC150-LT test request among out-of-scope ones of filler ``pool``),
    the bare requests, and each request's place: its sentence index among the document's sentences."""
    filler_texts = filler(pool)
    test = read_dataset(DATA / "clinc150_lt" / "test_data.txt")
    rng = random.Random(seed)
    by_label: dict[str, list] = {}
    for example in test.examples:
        by_label.setdefault(example.label, []).append(example)
    documents, bare, places = [], [], []
    for label in sorted(by_label):
        for example in rng.sample(by_label[label], NEEDLES_A_CLASS):
            sentences = rng.sample(filler_texts, rng.randint(*FILLER_RANGE))
            at = rng.randint(0, len(sentences))
            sentences.insert(at, example.text)
            documents.append(Example(". ".join(sentences), None, label, len(documents) + 1))
            bare.append(example)
            places.append(at)
    return documents, bare, places


def needle_bins(classifier: Classifier, documents, places) -> list[str]:
    """Where each request sits: in the first window (truncation reads it), the last, or between."""
    from weighted_bert.model import load_tokenizer

    tokenizer, plan = load_tokenizer(classifier.fine_tuned.path), classifier.plan  # the folder's, as transformers
    room = classifier.fine_tuned.max_seq_length - 2
    step = room - plan.stride
    bins = []
    for document, at in zip(documents, places):
        sentences = document.text.split(". ")
        before = len(tokenizer(". ".join(sentences[:at]) + (". " if at else ""), add_special_tokens=False)["input_ids"])
        own = len(tokenizer(sentences[at], add_special_tokens=False)["input_ids"])
        total = len(tokenizer(document.text, add_special_tokens=False)["input_ids"])
        last_start = max(0, int(np.ceil((total - room) / step)) * step) if total > room else 0
        bins.append("first window" if before + own <= room else "last window" if before >= last_start else "between")
    return bins


def needle_training_data(folder: Path, seed: int, pools=("training", "training")) -> Path:
    """CLINC150-LT's train requests (all), each hidden among 5 to 25 out-of-scope requests of the first of
    ``pools`` (by default CLINC150's oos_train and oos_val splits), and its dev requests (10 a class) among
    20 to 100 as the test's, of the second, at a uniformly random place."""
    if (folder / "dev_data.txt").is_file():
        return folder
    pool_texts = {split: filler(pool) for split, pool in zip(("train", "dev"), pools)}
    rng = random.Random(seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    for split, per_class in (("train", None), ("dev", NEEDLES_A_CLASS)):
        examples = read_dataset(DATA / "clinc150_lt" / f"{split}_data.txt").examples
        if per_class:
            by_label: dict[str, list] = {}
            for example in examples:
                by_label.setdefault(example.label, []).append(example)
            examples = [e for label in sorted(by_label) for e in rng.sample(by_label[label], per_class)]
        rows = []
        for example in examples:
            sentences = rng.sample(pool_texts[split], rng.randint(*(FILLER_RANGE if per_class else TRAIN_FILLER_RANGE)))
            sentences.insert(rng.randint(0, len(sentences)), example.text)
            rows.append(f"{'. '.join(sentences)}\t{example.label}\n")
        atomic_write_text(folder / f"{split}_data.txt", "".join(rows))
    return folder


def background_data(folder: Path) -> Path:
    """CLINC150-LT with the disjoint filler pools as one more class, BACKGROUND: train gains the 600
    training filler requests, dev the 100 dev ones (test: CLINC150-LT's own)."""
    if (folder / "test_data.txt").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for split, pool in (("train", "disjoint_training"), ("dev", "disjoint_dev"), ("test", None)):
        rows = (DATA / "clinc150_lt" / f"{split}_data.txt").read_text(encoding="utf-8")
        rows += "".join(f"{text}\t{BACKGROUND}\n" for text in (filler(pool) if pool else ()))
        atomic_write_text(folder / f"{split}_data.txt", rows)
    return folder


def evidence_answers(classifier: Classifier, window_logits: np.ndarray, windows, background: int) -> list[int]:
    """Per document, per class the highest probability a window gives it, but BACKGROUND's the lowest
    (a document is background only where every window is); its argmax."""
    per_window = classifier.probabilities(classifier.document_logits(
        window_logits, type(windows)(windows.encodings, np.arange(len(window_logits) + 1))))
    first = windows.starts[:-1]
    scores = np.maximum.reduceat(per_window, first, axis=0)
    scores[:, background] = np.minimum.reduceat(per_window[:, background], first)
    return scores.argmax(axis=1).tolist()


def needle_part(runs: Path, seed: int, *, training: str | None = None, disjoint: bool = False,
                pool: str | None = None, background: bool = False, prose: bool = False) -> dict:
    """The needle test read by a model trained on the bare requests, or by one trained on needle
    documents in windows (`--max-windows 16`, `--window-training` ``training``, the rule chosen on
    needle dev); ``disjoint``: training, dev and test filler from pools that do not meet; ``pool``:
    the test's filler (default: the oos requests, ``disjoint_test`` where disjoint); ``background``:
    the bare requests and the disjoint training filler as a class of its own; ``prose``: trained on
    documents whose filler is package descriptions (train / dev / test from debian_tags' splits)."""
    name = "needle_disjoint" if disjoint else "needle_background" if background else \
        "needle_prose_documents" if prose else {
            None: "needle_model", "turns": "needle_trained", "documents": "needle_documents"}[training]
    output = runs / f"{name}_seed{seed}"
    if prose:
        data = needle_training_data(runs / "needle_training_prose", seed, ("prose_training", "prose_dev"))
        pool = "prose"
    elif disjoint:
        data = needle_training_data(runs / "needle_training_disjoint", seed, ("disjoint_training", "disjoint_dev"))
    elif background:
        data = background_data(runs / "needle_background_data")
    else:
        data = needle_training_data(runs / "needle_training", seed) if training else DATA / "clinc150_lt"
    if not (output / "run_summary.json").is_file():
        windowed = {"max_windows": WINDOWS, "window_training": training} if training else {}
        run(RunConfig(model=demo_model_dir(), data_dir=str(data), output_dir=str(output), seed=seed,
                      overwrite_output_dir=True, progress=False, **windowed))
    seconds = json.loads((output / "run_summary.json").read_text()).get("seconds")
    classifier = Classifier.load(output, batch_size=128, max_windows=WINDOWS)
    documents, bare, places = needle_documents(seed, pool or ("disjoint_test" if disjoint or background else "test"))
    labels = classifier.labels
    gold = [labels.index(d.label) for d in documents]
    started = time.perf_counter()
    window_logits, windows = classifier.window_logits(Dataset("<needles>", documents))
    window_seconds = time.perf_counter() - started
    bins = needle_bins(classifier, documents, places)
    rows = {}
    started = time.perf_counter()
    truncated = classifier.with_options(max_windows=1).predict(Dataset("<needles>", documents))  # one window each
    truncation_seconds = time.perf_counter() - started
    answers = {"truncation (first window)": [labels.index(x) for x in truncated]}
    for rule in AGGREGATIONS:
        reader = classifier.with_options(aggregation=rule)
        decided, _ = reader.decide(reader.probabilities(reader.document_logits(window_logits, windows)))
        answers[f"windows, {rule}"] = decided.tolist()
    if background:
        answers[f"windows, evidence ({BACKGROUND} only where every window is)"] = evidence_answers(
            classifier, window_logits, windows, labels.index(BACKGROUND))
    bare_answers = classifier.predict(Dataset("<bare>", bare))
    bare_f1 = macro_f1(gold, [labels.index(x) for x in bare_answers])
    for name, decided in answers.items():
        rows[name] = {"all": macro_f1(gold, decided)}
        for place in ("first window", "between", "last window"):
            index = [i for i, b in enumerate(bins) if b == place]
            rows[name][place] = macro_f1([gold[i] for i in index], [decided[i] for i in index])
    if training:  # the same requests among filler the model was trained on
        seen, _, _ = needle_documents(seed, "prose_training" if prose else "disjoint_training" if disjoint
                                      else "training")
        decided, _ = classifier.decide(classifier.predict_proba(Dataset("<needles, seen filler>", seen)))
        rows[f"windows, {classifier.plan.aggregation}, filler seen in training"] = {"all": macro_f1(gold, decided)}
    counts = windows.counts
    return {"documents": len(documents), "bare_macro_f1": bare_f1, "rows": rows,
            "filler": "Debian package descriptions" if pool in PROSE else "out-of-scope requests",
            "bins": {b: bins.count(b) for b in ("first window", "between", "last window")},
            "windows_mean": float(counts.mean()), "windows_max": int(counts.max()),
            "cut": int(windows.cut().sum()), "model_rule": classifier.plan.aggregation, "training_seconds": seconds,
            "cost": {"truncation_docs_per_second": len(documents) / truncation_seconds,
                     "windows_docs_per_second": len(documents) / window_seconds,
                     "windows_per_second": int(counts.sum()) / window_seconds,
                     "ratio_to_windows_times_one": window_seconds / (counts.mean() * truncation_seconds)}}


# ---------------------------------------------------------------- natural set


def render(page: Path) -> str:
    """A manual page as man renders it at 80 columns, without its header and footer lines
    (they name the section)."""
    done = subprocess.run(["man", "-l", str(page)], capture_output=True, env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin",
                                                                               "LANG": "C.UTF-8"}, timeout=60)
    text = subprocess.run(["col", "-b"], input=done.stdout, capture_output=True).stdout.decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.strip()]
    words = " ".join(lines[1:-1]).split()
    return " ".join(words[:MAX_WORDS])


def build_man_pages(folder: Path, seed: int) -> Path:
    if (folder / "test_data.txt").is_file():
        return folder
    rng = random.Random(seed)
    splits = {"train": [], "dev": [], "test": []}
    seen = set()
    for section, train_count in SECTIONS.items():
        pages = sorted(p for p in Path(f"/usr/share/man/man{section}").glob(f"*.{section}.gz"))
        rng.shuffle(pages)
        wanted = {"train": train_count, "dev": max(2, round(train_count * DEV_SHARE)),
                  "test": max(4, round(train_count * TEST_SHARE))}
        taken = []
        for page in pages:
            if len(taken) == sum(wanted.values()):
                break
            if gzip.open(page).read(200).startswith(b".so "):
                continue  # another page's alias
            text = render(page)
            digest = hashlib.sha1(text.encode()).hexdigest()
            if len(text.split()) < 30 or digest in seen:
                continue
            seen.add(digest)
            taken.append(text.replace("\t", " "))
        start = 0
        for split in ("test", "dev", "train"):  # a short section still has test and dev pages
            splits[split] += [(t, section) for t in taken[start:start + wanted[split]]]
            start += wanted[split]
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        rng.shuffle(rows)
        atomic_write_text(folder / f"{split}_data.txt", "".join(f"{t}\t{y}\n" for t, y in rows))
    return folder


def rule_on_dev(classifier: Classifier, dev) -> tuple[str, dict]:
    window_logits, windows = classifier.window_logits(dev)
    gold = classifier.fine_tuned.label_map.encode(dev)

    def score(rule):
        reader = classifier.with_options(aggregation=rule)
        decided, _ = reader.decide(reader.probabilities(reader.document_logits(window_logits, windows)))
        return macro_f1(gold, decided)

    return choose_aggregation(score)


def natural_part(runs: Path, seed: int) -> dict:
    data = build_man_pages(runs / "man_pages", 0)
    dev, test = read_dataset(data / "dev_data.txt"), read_dataset(data / "test_data.txt")
    models = {"trained on truncation": runs / f"man_truncation_seed{seed}",
              "trained on windows": runs / f"man_windows_seed{seed}"}
    for name, output in models.items():
        if not (output / "run_summary.json").is_file():
            extra = {} if "truncation" in name else {"max_windows": WINDOWS}
            run(RunConfig(model=demo_model_dir(), data_dir=str(data), output_dir=str(output), seed=seed,
                          overwrite_output_dir=True, progress=False, **extra))
    rows = {}
    gold = None
    for name, output in models.items():
        classifier = Classifier.load(output, batch_size=128)
        gold = classifier.fine_tuned.label_map.encode(test)
        if "truncation" in name:
            started = time.perf_counter()
            decided, _ = classifier.decide(classifier.predict_proba(test))
            seconds = time.perf_counter() - started
            rows[f"{name}, read with truncation"] = {"macro_f1": macro_f1(gold, decided),
                                                      "accuracy": float(np.mean(decided == gold)),
                                                      "docs_per_second": len(test) / seconds}
            classifier = classifier.with_options(max_windows=WINDOWS)
            rule, dev_scores = rule_on_dev(classifier, dev)
            classifier = classifier.with_options(aggregation=rule)
        else:
            rule, dev_scores = classifier.plan.aggregation, classifier.fine_tuned.info.windows.get("dev_scores")
        started = time.perf_counter()
        window_logits, windows = classifier.window_logits(test)
        seconds = time.perf_counter() - started
        by_rule = {}
        for each in AGGREGATIONS:
            reader = classifier.with_options(aggregation=each)
            decided, _ = reader.decide(reader.probabilities(reader.document_logits(window_logits, windows)))
            by_rule[each] = macro_f1(gold, decided)
            if each == rule:
                accuracy = float(np.mean(decided == gold))
        rows[f"{name}, read with windows ({rule}, chosen on dev)"] = {
            "macro_f1": by_rule[rule], "accuracy": accuracy, "test_macro_f1_by_rule": by_rule, "dev_scores": dev_scores,
            "docs_per_second": len(test) / seconds, "windows_mean": float(windows.counts.mean()),
            "cut": int(windows.cut().sum())}
    counts = {split: read_dataset(data / f"{split}_data.txt") for split in ("train", "dev", "test")}
    return {"rows": rows, "sizes": {s: len(d) for s, d in counts.items()},
            "classes": {y: sum(1 for e in counts["train"].examples if e.label == y) for y in SECTIONS}}


# ---------------------------------------------------------------- report


def table(results: dict, command: str) -> str:
    lines = ["# Long documents: every window read", "",
             f"Measured by {command} on this 2-core CPU machine, MiniLM-L6 (packaged), `train`'s defaults "
             "(length 128, stride 32, the window rule chosen on dev) but for the windows read: `--max-windows 16` "
             "(train's default is 1: truncation). See the module's docstring for how the sets are built.", ""]
    bare = (results.get("needle") or {}).get("bare_macro_f1")
    for key, title in (("needle", "Needle set, a model trained on the bare requests"),
                       ("needle_trained", "Needle set, a model trained on needle documents in windows, one a step "
                                          "(`--window-training turns`)"),
                       ("needle_documents", "Needle set, a model trained on whole needle documents "
                                            "(`--window-training documents`)"),
                       ("needle_disjoint", "Needle set, a model trained on whole needle documents, training, dev "
                                           "and test filler from pools that do not meet (600 / 100 / 500 "
                                           "requests)"),
                       ("needle_prose", "Needle set, the model trained on the bare requests, Debian package "
                                        "descriptions as filler"),
                       ("needle_prose_documents", "Needle set, a model trained on whole needle documents "
                                                  "(`--window-training documents`), every filler sentence a Debian "
                                                  "package description, training, dev and test from debian_tags' "
                                                  "three splits"),
                       ("needle_background", f"Needle set, a model trained on the bare requests and 600 filler "
                                             f"requests as a class of its own (`{BACKGROUND}`), test filler new "
                                             "to it (the disjoint pools)")):
        lines += needle_section(results.get(key), title, bare)
    natural = results.get("natural")
    if natural:
        lines += ["## Natural set: manual pages by section", "",
                  f"Train / dev / test {natural['sizes']['train']} / {natural['sizes']['dev']} / "
                  f"{natural['sizes']['test']} pages; training pages a section: "
                  + ", ".join(f"{k}: {v}" for k, v in natural["classes"].items())
                  + " (the same shares in dev and test).",
                  "", "| model, reading | test macro-F1 | test accuracy | documents/s | windows a document |",
                  "|---|---:|---:|---:|---:|"]
        for name, row in natural["rows"].items():
            lines.append(f"| {name} | {row['macro_f1']:.3f} | {row['accuracy']:.3f} | {row['docs_per_second']:.1f} | "
                         f"{row.get('windows_mean', 1):.1f} |")
        lines += ["", "Test macro-F1 by window rule (the chosen one is in the row's name): "]
        for name, row in natural["rows"].items():
            if "test_macro_f1_by_rule" in row:
                lines.append(f"- {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row["test_macro_f1_by_rule"].items()))
        lines.append("")
    return "\n".join(lines)


def needle_section(needle: dict | None, title: str, bare: float | None) -> list[str]:
    """``bare``: the macro-F1 of the model trained on the bare requests, read on them (the reference)."""
    if not needle:
        return []
    reference = bare or needle["bare_macro_f1"]
    lines = [f"## {title}", "",
             f"{needle['documents']} test documents (10 CLINC150-LT test requests a class, each among 20-100 "
             f"{needle.get('filler', 'out-of-scope requests')}), {needle['windows_mean']:.1f} windows a document "
             "on average (at most "
             f"{needle['windows_max']}, {needle['cut']} cut). Where the request sits: "
             + ", ".join(f"{k} {v}" for k, v in needle["bins"].items())
             + f". The same model on the bare requests: macro-F1 **{needle['bare_macro_f1']:.3f}**"
             + (f"; the model trained on the bare requests, on them: **{reference:.3f}** (the share's reference)"
                if bare and bare != needle["bare_macro_f1"] else "") + ".", "",
             "| reading | macro-F1, all | request in the first window | between | in the last window | "
             "share of the bare-request macro-F1 (worst place) |", "|---|---:|---:|---:|---:|---:|"]
    for name, row in needle["rows"].items():
        if "between" not in row:  # the seen-filler reading: all places together
            lines.append(f"| {name} | {row['all']:.3f} | | | | |")
            continue
        worst = min(row[p] for p in ("first window", "between", "last window"))
        lines.append(f"| {name} | {row['all']:.3f} | {row['first window']:.3f} | {row['between']:.3f} | "
                     f"{row['last window']:.3f} | {worst / reference:.1%} |")
    cost = needle["cost"]
    trained = f" Training took {needle['training_seconds'] / 60:.0f} min" if needle.get("training_seconds") else ""
    trained += (f", beside {needle['beside']}." if needle.get("beside") else ".") if trained else ""
    lines += ["", f"The model's own rule: {needle['model_rule']}.{trained}", "",
              f"Cost: truncation {cost['truncation_docs_per_second']:.1f} documents/s; every window "
              f"{cost['windows_docs_per_second']:.1f} documents/s ({cost['windows_per_second']:.1f} windows/s); "
              f"time with windows / (windows a document x truncation's time) = "
              f"**{cost['ratio_to_windows_times_one']:.2f}**.", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", default="needle,natural")
    parser.add_argument("--runs", default=str(HERE / "runs" / "long_documents"))
    parser.add_argument("--output", default=str(HERE / "results" / "long_documents.md"))
    args = parser.parse_args()
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    output = Path(args.output)
    earlier = json.loads(output.with_suffix(".json").read_text()) if output.with_suffix(".json").is_file() else {}
    results = {}
    parts = args.parts.split(",")
    if "needle" in parts:
        results["needle"] = needle_part(runs, args.seed)
    for part, training in (("needle_trained", "turns"), ("needle_documents", "documents")):
        if part in parts:
            results[part] = needle_part(runs, args.seed, training=training)
    if "needle_disjoint" in parts:
        results["needle_disjoint"] = needle_part(runs, args.seed, training="documents", disjoint=True)
    if "needle_prose" in parts:
        results["needle_prose"] = needle_part(runs, args.seed, pool="prose")
    if "needle_prose_documents" in parts:
        results["needle_prose_documents"] = needle_part(runs, args.seed, training="documents", prose=True)
    if "needle_background" in parts:
        results["needle_background"] = needle_part(runs, args.seed, background=True)
    if "natural" in parts:
        results["natural"] = natural_part(runs, args.seed)
    results["minutes"] = (time.perf_counter() - started) / 60 + earlier.get("minutes", 0.0)
    kept = [key for key in earlier if key != "minutes" and key not in results]
    results = {**{key: earlier[key] for key in kept}, **results}  # parts not run now keep their figures
    command = "`python benchmarks/long_documents.py" + ("`" if args.parts == "needle,natural"
                                                        else f" --parts {args.parts}`")
    if kept:
        command += f" (and earlier, {', '.join(kept)}: `python benchmarks/long_documents.py --parts {','.join(kept)}`)"
    atomic_write_text(output.with_suffix(".json"), json.dumps(results, indent=1) + "\n")
    atomic_write_text(output, table(results, command) + f"\n{results['minutes']:.0f} minutes in all.\n")
    print(output.read_text())


if __name__ == "__main__":
    main()
