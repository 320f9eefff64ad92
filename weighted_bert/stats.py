"""``weighted-bert stats``: what a data set looks like before training on it.

Class counts and imbalance (largest count / smallest), the many/medium/few-shot split,
for multi-label data also the label cardinality, rows without a label, label sets and the
most frequent label pairs,
token lengths (with a tokenizer, so that ``--max-seq-length`` can be chosen; else
whitespace words), duplicate texts, texts given conflicting labels, and labels of
dev/test that training never has.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from .data import Columns, Dataset, find_data_files, read_in_order
from .errors import DataFormatError
from .files import atomic_write_bytes, write_json
from .labels import LabelMap, labels_of
from .plots import class_distribution_png
from .shot_groups import FEW_THRESHOLD, MANY_THRESHOLD, shot_group
from .tasks import task_of
from .windows import WindowPlan
from .windows.reading import length_advice

PERCENTILES = (50, 90, 95, 99, 100)


def _key(example) -> tuple:
    return (example.text, example.text_pair)


def duplicates_and_conflicts(dataset: Dataset) -> tuple[list[dict], list[dict]]:
    """Texts that occur more than once with one label (duplicates) and texts that occur
    with more than one label (conflicts), each with the lines where they stand."""
    lines, labels = defaultdict(list), defaultdict(list)
    for example in dataset.examples:
        lines[_key(example)].append(example.line)
        labels[_key(example)].append(example.label)
    duplicates, conflicts = [], []
    for key, where in lines.items():
        if len(where) < 2:
            continue
        text = key[0] if key[1] is None else f"{key[0]} ‖ {key[1]}"
        distinct = sorted(set(map(str, labels[key])))
        if len(distinct) > 1:
            conflicts.append({"text": text, "labels": dict(Counter(map(str, labels[key]))), "lines": where})
        else:
            duplicates.append({"text": text, "label": labels[key][0], "count": len(where), "lines": where})
    return duplicates, conflicts


def token_lengths(dataset: Dataset, tokenizer=None) -> np.ndarray:
    if tokenizer is None:
        return np.array([len(e.text.split()) + (len(e.text_pair.split()) if e.text_pair else 0)
                         for e in dataset.examples])
    texts = [e.text for e in dataset.examples]
    pairs = [e.text_pair for e in dataset.examples] if dataset.is_pair else None
    encoded = tokenizer(texts, pairs, truncation=False, add_special_tokens=True)
    return np.array([len(ids) for ids in encoded["input_ids"]])


def dataset_stats(path, *, tokenizer=None, columns: Columns | None = None, many_threshold: int = MANY_THRESHOLD,
                  few_threshold: int = FEW_THRESHOLD, multi_label: bool | None = None,
                  label_separator: str | None = None, windows: WindowPlan | None = None,
                  max_seq_length: int | None = None) -> dict:
    """Statistics of a file, or of a folder's train/dev/test files (``multi_label`` and
    ``label_separator`` as for :func:`~weighted_bert.data.read_dataset`; JSONL label lists are
    label sets by themselves). With a tokenizer, ``max_seq_length`` and ``windows`` (the
    training settings), each split also says how many texts run past one window
    (:func:`~weighted_bert.windows.reading.length_advice`)."""
    path = Path(path)
    if path.is_dir():
        files = find_data_files(path)
        splits = {name: p for name, p in (("train", files.train), ("dev", files.dev), ("test", files.test)) if p}
        if not splits:
            raise DataFormatError(path, None, "no train_data.txt, dev_data.txt or test_data.txt (or train/dev/test.*)")
    else:
        splits = {"train": path}
    datasets = dict(zip(splits, read_in_order(
        [(file, "required" if name == "train" else "optional") for name, file in splits.items()],
        columns=columns, multi_label=multi_label, label_separator=label_separator)))
    result = {"splits": {}, "unit": "tokens" if tokenizer is not None else "whitespace words"}
    train_labels = set()
    for name, dataset in datasets.items():
        entry = {"file": dataset.path, "examples": len(dataset)}
        if dataset.has_labels:
            label_map = LabelMap.from_labels([x for e in dataset.examples for x in labels_of(e)])
            counts = label_map.counts(dataset)
            entry.update(task_of(dataset.multi_label).label_stats(dataset, label_map))
            entry["classes"] = len(label_map)
            entry["class_counts"] = dict(zip(label_map.labels, counts))
            entry["imbalance_ratio"] = max(counts) / min(counts)
            groups = Counter(shot_group(c, many_threshold, few_threshold) for c in counts)
            entry["shot_groups"] = {g: groups.get(g, 0) for g in ("many", "medium", "few")}
            if name == "train":
                train_labels = set(label_map.labels)
            else:
                entry["labels_unseen_in_train"] = sorted(set(label_map.labels) - train_labels) if "train" in datasets else []
        lengths = token_lengths(dataset, tokenizer)
        entry["length_percentiles"] = {f"p{q}": float(np.percentile(lengths, q)) for q in PERCENTILES}
        entry["mean_length"] = float(lengths.mean())
        if tokenizer is not None and windows is not None and max_seq_length:
            entry["long_texts"] = length_advice(lengths, max_seq_length, windows.stride, windows.max_windows)
        duplicates, conflicts = duplicates_and_conflicts(dataset)
        entry["duplicates"] = duplicates
        entry["conflicting_labels"] = conflicts
        result["splits"][name] = entry
    result["thresholds"] = {"many": many_threshold, "few": few_threshold}
    return result


def format_stats(stats: dict, top: int = 10) -> str:
    lines = []
    for name, s in stats["splits"].items():
        lines.append(f"{name}: {s['file']}  ({s['examples']} examples)")
        if "class_counts" in s:
            counts = sorted(s["class_counts"].items(), key=lambda kv: -kv[1])
            if "label_cardinality" in s:
                lines.append(f"  multi-label: {s['label_cardinality']:.2f} labels a row on average (at most "
                             f"{s['max_labels_a_row']}), {s['rows_without_label']} rows without a label, "
                             f"{s['distinct_label_sets']} distinct label sets")
                lines.append("  most frequent pairs: " + "; ".join(f"{' + '.join(p['labels'])} ({p['rows']})"
                                                                   for p in s["frequent_pairs"][:5]))
            lines.append(f"  {'labels' if 'label_cardinality' in s else 'classes'} {s['classes']}, imbalance ratio {s['imbalance_ratio']:.1f} "
                         f"(largest {counts[0][1]} / smallest {counts[-1][1]}); shot groups "
                         + ", ".join(f"{g} {n}" for g, n in s["shot_groups"].items()))
            width = max(len(label) for label, _ in counts[:top] + counts[-top:])
            shown = counts if len(counts) <= 2 * top else counts[:top] + [("...", None)] + counts[-top:]
            for label, count in shown:
                lines.append(f"    {label:<{width}}  {'' if count is None else count}")
        if s.get("labels_unseen_in_train"):
            lines.append(f"  labels not in train: {', '.join(s['labels_unseen_in_train'])}")
        p = s["length_percentiles"]
        lines.append(f"  length ({stats['unit']}): " + ", ".join(f"{k} {v:g}" for k, v in p.items()))
        if s.get("long_texts", {}).get("texts_over_window"):
            lines.append("  " + _long_text_line(s["long_texts"]))
        lines.append(f"  duplicate texts: {len(s['duplicates'])}; texts with conflicting labels: "
                     f"{len(s['conflicting_labels'])}")
        for c in s["conflicting_labels"][:top]:
            lines.append(f"    lines {', '.join(map(str, c['lines']))}: {c['text'][:60]!r} -> {c['labels']}")
    return "\n".join(lines)


def _long_text_line(long: dict) -> str:
    line = (f"longer than the {long['window']}-token window: {long['texts_over_window']} texts "
            f"({100 * long['share_over_window']:.1f}%), by {long['tokens_over_window_p50']:g} tokens at the median "
            f"and {long['tokens_over_window_max']} at most; at stride {long['stride']} they need up to "
            f"{long['windows_needed_max']} windows (95% of texts: {long['windows_needed_p95']})")
    if long["cut_at_max_windows"]:
        return line + (f"; {long['cut_at_max_windows']} are cut at --max-windows {long['max_windows']}: "
                       f"--max-windows {long['windows_needed_max']} reads them whole (a window costs what a "
                       "short text costs)")
    return line + f"; --max-windows {long['max_windows']} reads every one whole"


def write_stats(stats: dict, output_dir) -> None:
    output = Path(output_dir)
    write_json(output / "stats.json", stats)
    train = stats["splits"].get("train", {})
    if "class_counts" in train:
        labels, counts = zip(*train["class_counts"].items())
        png = class_distribution_png(list(labels), list(counts), many_threshold=stats["thresholds"]["many"],
                                     few_threshold=stats["thresholds"]["few"])
        if png is not None:
            atomic_write_bytes(output / "class_distribution.png", png)
