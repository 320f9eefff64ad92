"""The Python API: train from files or from data in memory, audit the training labels, pick
what to label next, load a trained model, and a scikit-learn estimator.

>>> import weighted_bert                                              # doctest: +SKIP
>>> weighted_bert.train([("the match", "sport"), ("the shares", "finance")],
...                     model="bert-folder", output_dir="runs/a", epochs=1)  # doctest: +SKIP
>>> weighted_bert.load("runs/a").predict(["a goal"])                  # doctest: +SKIP
['sport']

Data in memory (lists of ``(text, label)`` or ``(text_a, text_b, label)``, a pandas
DataFrame, a ``datasets.Dataset``) is written as JSONL into a temporary folder and read by
the same readers as files, so the same checks apply; ``train`` takes every setting of
:class:`~weighted_bert.config.RunConfig` as a keyword.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from .classifier import Classifier
from .config import RunConfig
from .data import Columns
from .data.examples import value_text
from .data.jsonl import write_jsonl
from .errors import UserError
from .scoring_config import ScoreConfig
from .settings import build, default_of


def train(data=None, *, model: str, output_dir, dev=None, test=None, **settings):
    """Train as ``weighted-bert train`` does; returns the :class:`~weighted_bert.training.runner.RunResult`.

    ``data``, ``dev`` and ``test``: a file, a folder of train/dev/test files (``data``
    only), a list of pairs, a pandas DataFrame or a ``datasets.Dataset``; the text and
    label columns are named by the ``text_column``/``label_column`` settings."""
    from .training.runner import run

    with tempfile.TemporaryDirectory(prefix="weighted-bert-data-") as tmp:
        data_files = _data_files(data, dev, test, settings, tmp, "train")
        values = dict(settings, model=model, output_dir=str(output_dir), **data_files)
        return run(build(RunConfig, values))


def audit(data=None, *, model: str, output_dir=None, dev=None, test=None, folds: int | None = None,
          audit_probabilities: str | None = None, **settings):
    """Audit the training rows' labels as ``weighted-bert audit`` does; returns
    ``label_issues.tsv`` as a pandas DataFrame (most likely wrong first; see
    :mod:`weighted_bert.label_audit.issues_file`). ``data``, ``dev``, ``test`` as :func:`train` takes
    them; ``settings`` are ``train``'s (the recipe and budget of every fold's run);
    ``output_dir`` None: a temporary folder, removed afterwards."""
    import pandas

    from .label_audit import AuditSettings
    from .label_audit.run import run_audit

    given = {k: v for k, v in (("folds", folds), ("audit_probabilities", audit_probabilities)) if v is not None}
    with tempfile.TemporaryDirectory(prefix="weighted-bert-audit-") as tmp:
        values = dict(settings, model=model, **_data_files(data, dev, test, settings, tmp, "audit"))
        result = run_audit(values, output_dir=output_dir or Path(tmp) / "audit", audit=build(AuditSettings, given))
    frame = pandas.DataFrame(result.rows)
    return frame if any(frame.get("text_pair", [])) else frame.drop(columns=["text_pair"], errors="ignore")


def suggest(model, texts, *, budget: int, strategy: str | None = None, train=None, seed: int = 42,
            near_duplicate: float | None = None, batch_size: int = 64) -> list[dict]:
    """The ``budget`` texts of ``texts`` (a list of strings) to label next, as ``weighted-bert
    suggest`` picks them: a list of dicts (text, predicted_label, probability, reason,
    strategy, line), in pick order. ``model``: a trained model folder or a :class:`Classifier`;
    ``train``: a file of texts already labelled, skipped (default: the model's training file);
    ``near_duplicate``: as ``suggest --near-duplicate``."""
    from .suggestions import NEAR_DUPLICATE, STRATEGIES
    from .suggestions.run import suggest as pick_texts
    from .suggestions.run import training_keys

    classifier = model if isinstance(model, Classifier) else load(model, batch_size=batch_size)
    return pick_texts(classifier, texts, budget=budget, strategy=strategy or STRATEGIES[0],
                      skip=training_keys(classifier, train), seed=seed,
                      threshold=NEAR_DUPLICATE if near_duplicate is None else near_duplicate)


def _data_files(data, dev, test, settings: dict, tmp, command: str) -> dict:
    """The data settings for ``data``, ``dev`` and ``test`` as :func:`train` takes them: files
    and folders by name, data in memory written as JSONL into ``tmp``."""
    columns = {k: settings.get(k, default_of(RunConfig, k)) for k in ("text_column", "text_pair_column",
                                                                      "label_column")}
    values = {}
    for split, value, key in (("training", data, "train_file"), ("dev", dev, "dev_file"), ("test", test, "test_file")):
        if value is None:
            continue
        if isinstance(value, (str, os.PathLike)):
            is_folder = split == "training" and Path(value).is_dir()
            values["data_dir" if is_folder else key] = str(value)
        else:
            rows = [(t, p, None if _missing(y) else y) for t, p, y in
                    _rows(value, split, columns, labelled=split != "test")]
            values[key] = str(write_jsonl(rows, Path(tmp) / f"{split}-data.jsonl", Columns(
                columns["text_column"], columns["text_pair_column"], columns["label_column"])))
    if data is None and not {"data_dir", "train_file"} & {*values, *settings}:
        raise UserError(f"{command} needs data: a file, a folder, a list of (text, label), a DataFrame or a Dataset")
    return values


def _rows(value, split: str, columns: dict, *, labelled: bool) -> list[tuple]:
    """(text, text_pair, label) rows of in-memory data, each value checked."""
    text_key, pair_key, label_key = columns["text_column"], columns["text_pair_column"], columns["label_column"]
    if hasattr(value, "columns") or hasattr(value, "column_names"):  # pandas DataFrame, datasets.Dataset
        kind = type(value).__name__
        names = list(value.columns) if hasattr(value, "columns") else list(value.column_names)
        wanted = [text_key] + ([pair_key] if pair_key else []) + ([label_key] if labelled else [])
        missing = [c for c in wanted if c not in names]
        if missing:
            raise UserError(f"the {split} {kind} has no column {missing[0]!r} (columns: "
                            f"{', '.join(map(str, names))}); name the columns with text_column= and label_column=")
        repeated = sorted({str(c) for c in names if names.count(c) > 1})
        if repeated:
            raise UserError(f"the {split} {kind} has more than one column named {repeated[0]!r}; expected each "
                            "column name once (which one holds the texts would be a guess)")
        n = len(value)

        def column(key):
            items = list(value[key])
            if len(items) != n:  # what a column read must give: one item a row
                raise UserError(f"the {split} {kind}'s column {key!r} gave {len(items)} items for {n} rows")
            return items

        texts = column(text_key)
        pairs = column(pair_key) if pair_key else None
        labels = column(label_key) if label_key in names else [None] * n
        raw = [(t, pairs[i], y) if pairs else (t, y) for i, (t, y) in enumerate(zip(texts, labels))]
    else:
        try:
            raw = list(value)
        except TypeError:
            raise UserError(f"the {split} data is of type {type(value).__name__}; expected a file, a list of "
                            "(text, label),"
                            " a pandas DataFrame or a datasets.Dataset") from None
        raw = [(r, None) if isinstance(r, str) and not labelled else r for r in raw]
    if not raw:
        raise UserError(f"the {split} data is empty; expected examples")
    rows = []
    for i, item in enumerate(raw):
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise UserError(f"the {split} data, item {i}: {item!r} is not (text, label) or (text_a, text_b, label)")
        *texts, label = item
        for text in texts:
            if not isinstance(text, str):
                raise UserError(f"the {split} data, item {i}: the text is of type {type(text).__name__} ({text!r}); "
                                "expected a string")
        rows.append((texts[0], texts[1] if len(texts) == 2 else None, label))
    _check_labels(rows, split, labelled)
    return rows


def _check_labels(rows, split: str, labelled: bool) -> None:
    kinds = set()
    for i, (_, _, label) in enumerate(rows):
        if _missing(label):
            if labelled:
                raise UserError(f"the {split} data, item {i}: the label is missing")
            continue
        if isinstance(label, (list, tuple, set, frozenset)):  # a multi-label row
            if any(_missing(x) for x in label):
                raise UserError(f"the {split} data, item {i}: the label list {label!r} holds a missing value (NaN "
                                "or None); expected label names")
            if any(isinstance(x, str) and not x.strip() for x in label):
                raise UserError(f"the {split} data, item {i}: the label list {label!r} holds an empty label; "
                                "expected label names")
            if not all(isinstance(x, str) or value_text(x) not in (None, "") for x in label):
                raise UserError(f"the {split} data, item {i}: the label list {label!r} holds something other than "
                                "strings or numbers")
            kinds.add("list")
            continue
        if isinstance(label, str) and not label.strip():
            raise UserError(f"the {split} data, item {i}: the label is empty ({label!r}); expected a label name")
        if value_text(label) is None:
            raise UserError(f"the {split} data, item {i}: the label is of type {type(label).__name__} "
                            f"({label!r}); expected a string or a number")
        kinds.add("number" if isinstance(label, (int, float, np.integer, np.floating)) and not isinstance(label, bool)
                  else type(label).__name__)
    if len(kinds) > 1:
        raise UserError(f"the {split} data has labels of mixed types ({', '.join(sorted(kinds))}); 1 and '1' "
                        "would be two classes: give every label the same type")


def _missing(label) -> bool:
    """None, NaN, and where pandas is loaded its own missing values (``pd.NA``, ``pd.NaT``)."""
    if label is None or (isinstance(label, (float, np.floating)) and math.isnan(label)):
        return True
    pandas = sys.modules.get("pandas")
    if pandas is not None and not isinstance(label, (str, list, tuple, set, frozenset, dict)):
        try:
            return bool(pandas.isna(label))
        except (TypeError, ValueError):
            return False
    return False


def load(path, *, backend: str = "auto", precision: str = "fp32", batch_size: int = 64,
         target_prior: str | None = None, stride: int | None = None, max_windows: int | None = None,
         window_aggregation: str | None = None) -> Classifier:
    """A trained model folder (``train``'s output folder or its ``model/``) as a
    :class:`~weighted_bert.classifier.Classifier`;
    ``backend``: ``auto`` answers through the folder's ONNX export where it matches the weights
    (torch otherwise), ``torch``, ``onnx`` or ``onnx-int8`` as asked; ``target_prior`` (train, uniform or
    a JSON file of label -> frequency) answers for those class frequencies, as ``predict
    --target-prior`` does; ``stride``, ``max_windows`` and ``window_aggregation`` read long texts
    otherwise than the model folder says, as ``predict``'s flags of those names do."""
    config = build(ScoreConfig, {"model": str(path), "data": "-", "backend": backend, "precision": precision,
                                 "batch_size": batch_size, "target_prior": target_prior, "stride": stride,
                                 "max_windows": max_windows, "window_aggregation": window_aggregation})
    return Classifier.from_config(config)
