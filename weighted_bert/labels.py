"""Labels and class statistics: the label order, the label map file, class counts.

Label order (it fixes the columns of ``test_results.tsv``):

* ``--labels a,b,c`` when given;
* otherwise, when every training label is a number, numeric order ('2' before '15');
* otherwise sorted as strings (``order="sorted"``, the default, so that the same data
  gives the same map whatever the line order) or in first-seen order
  (``order="first_seen"``).
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .data.readers import Dataset
from .errors import DataFormatError, UserError, check_choice
from .log import get_logger

log = get_logger(__name__)

LABEL_ORDERS = ("sorted", "first_seen")
SET_SEPARATOR = ";"  # between the labels of a set in predictions.tsv


def labels_of(example) -> tuple:
    """The labels an example carries: its set (multi-label) or its one label."""
    return example.label if isinstance(example.label, tuple) else (example.label,)


def join_set(labels) -> str:
    return SET_SEPARATOR.join(labels)


def _as_number(label: str) -> float | None:
    try:
        return float(label)
    except ValueError:
        return None


@dataclass(frozen=True)
class LabelMap:
    labels: tuple[str, ...]

    def __post_init__(self):
        if len(set(self.labels)) != len(self.labels):
            dup = [k for k, v in Counter(self.labels).items() if v > 1]
            raise UserError(f"labels must be unique; repeated: {', '.join(map(repr, dup))}")
        if not self.labels:
            raise UserError("a label map needs at least one label")

    @classmethod
    def from_labels(cls, seen: Iterable[str], *, order: str = "sorted",
                    explicit: Sequence[str] | None = None) -> "LabelMap":
        if explicit:
            return cls(tuple(explicit))
        check_choice("label_order", order, LABEL_ORDERS)
        unique = list(dict.fromkeys(seen))
        numbers = [_as_number(label) for label in unique]
        if unique and all(n is not None for n in numbers):
            unique = [label for _, label in sorted(zip(numbers, unique), key=lambda t: t[0])]
        elif order == "sorted":
            unique = sorted(unique)
        return cls(tuple(unique))

    @property
    def label2id(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.labels))

    def __len__(self) -> int:
        return len(self.labels)

    def _unknown(self, dataset: Dataset, example, label) -> DataFormatError:
        known = ", ".join(self.labels[:10]) + (", ..." if len(self) > 10 else "")
        return DataFormatError(dataset.path, example.line, f"has label {label!r}, unknown to training "
                               f"(known labels: {known}); expected one of the training labels")

    def encode(self, dataset: Dataset) -> list[int]:
        """Label ids of a labelled dataset; an unknown label names its file and line."""
        if dataset.multi_label:
            raise DataFormatError(dataset.path, dataset.examples[0].line, "has a list of labels; this model is "
                                  "single-label, expected one label a line")
        label2id = self.label2id
        ids = []
        for example in dataset.examples:
            if example.label not in label2id:
                raise self._unknown(dataset, example, example.label)
            ids.append(label2id[example.label])
        return ids

    def multi_hot(self, dataset: Dataset):
        """Multi-label: the 0/1 matrix (rows x labels, float32) of a dataset's label sets; an
        unknown label (one only in dev or test) names its file and line."""
        import numpy as np

        label2id = self.label2id
        matrix = np.zeros((len(dataset), len(self)), dtype=np.float32)
        for row, example in enumerate(dataset.examples):
            for label in labels_of(example):
                if label not in label2id:
                    raise self._unknown(dataset, example, label)
                matrix[row, label2id[label]] = 1.0
        return matrix

    def counts(self, dataset: Dataset) -> list[int]:
        """Per-class example counts (multi-label: rows carrying each label), in label order."""
        counter = Counter(label for e in dataset.examples for label in labels_of(e))
        return [counter.get(label, 0) for label in self.labels]

    def save(self, path) -> None:
        from .files import atomic_write_text
        atomic_write_text(path, json.dumps({"labels": list(self.labels), "label2id": self.label2id},
                                           ensure_ascii=False, indent=2) + "\n")

    @classmethod
    def load(cls, path) -> "LabelMap":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            labels = data["labels"] if isinstance(data, dict) and "labels" in data else data
            if isinstance(labels, dict):  # a plain {label: id} map
                labels = [k for k, _ in sorted(labels.items(), key=lambda kv: kv[1])]
            if not all(isinstance(x, str) for x in labels):
                raise TypeError
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise DataFormatError(path, None, f"is not a label map ({err}); expected JSON "
                                  '{"labels": [...]}') from None
        return cls(tuple(labels))


def build_label_map(train: Dataset, *, explicit: Sequence[str] | None = None,
                    order: str = "sorted") -> LabelMap:
    """The label map of a training set, with the checks of its labels that hold for every task
    (what each task adds: :meth:`weighted_bert.tasks.SingleLabel.training_label_map`)."""
    seen = [label for e in train.examples for label in labels_of(e)]
    label_map = LabelMap.from_labels(seen, order=order, explicit=explicit)
    if explicit:
        allowed = set(explicit)
        for example in train.examples:
            for label in labels_of(example):
                if label not in allowed:
                    raise DataFormatError(train.path, example.line, f"has label {label!r}, which --labels does "
                                          "not list")
        missing = [label for label in explicit if label not in set(seen)]
        if missing:
            log.warning(f"{train.path}: no training example for label(s) {', '.join(map(repr, missing))}; their "
                        "class weight is the largest weight of the classes that have examples")
    _warn_near_duplicates(train.path, label_map.labels)
    return label_map


def check_two_classes(train: Dataset) -> None:
    """One class a text: at least two classes to tell apart."""
    seen = {e.label for e in train.examples}
    if len(seen) < 2:
        raise DataFormatError(train.path, None, f"has only one class ({next(iter(seen), None)!r}); "
                              "expected at least two labels to train a classifier")


def check_some_label(train: Dataset) -> None:
    """Label sets: rows may have none, but some row has one."""
    if not any(e.label for e in train.examples):
        raise DataFormatError(train.path, None, "has no label on any row; expected label lists with labels in them")


def check_set_labels(train: Dataset, label_map: LabelMap) -> None:
    """Label sets: no label holding the set separator of predictions.tsv; a label on every row is said."""
    holding = [label for label in label_map.labels if SET_SEPARATOR in label]
    if holding:
        raise DataFormatError(train.path, None, f"has the label {holding[0]!r}, which holds {SET_SEPARATOR!r}, the "
                              "character between the labels of a set in predictions.tsv; rename the label")
    every = [label for label, n in zip(label_map.labels, label_map.counts(train)) if n == len(train)]
    if every:
        log.warning(f"{train.path}: label(s) {', '.join(map(repr, every))} on every row; nothing to learn for them")


# Characters that print as nothing: a label holding one looks like another label.
INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060\u00ad"


def _warn_near_duplicates(path: str, labels: Sequence[str]) -> None:
    for label in labels:
        hidden = sorted({c for c in label if c in INVISIBLE})
        if hidden:
            names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'INVISIBLE CHARACTER')}" for c in hidden)
            log.warning(f"{path}: label {label!r} holds an invisible character ({names})")
    groups: dict[str, list[str]] = {}
    for label in labels:
        visible = unicodedata.normalize("NFKC", "".join(c for c in label if c not in INVISIBLE))
        groups.setdefault(visible.strip().casefold(), []).append(label)
    for similar in groups.values():
        if len(similar) > 1:
            visible_only = all(not set(x) & set(INVISIBLE) for x in similar)
            how = "case or surrounding spaces" if visible_only else "invisible characters (and perhaps case or spaces)"
            log.warning(f"{path}: labels {', '.join(map(repr, similar))} differ only by {how}; "
                        "they are kept as separate classes")
