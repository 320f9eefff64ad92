"""JSONL: one JSON object a line, with the column names as keys."""

from __future__ import annotations

import json
from pathlib import Path

from .examples import (
    DEFAULT_LABEL,
    PLURAL_LABEL,
    Columns,
    Example,
    Sink,
    check_consistent_labels,
    example_from_record,
    label_set,
    value_text,
)


def read_jsonl(path: Path, text: str, columns: Columns, labels: str, sink: Sink) -> list[Example]:
    examples: list[Example] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            sink.bad(number, f"is not valid JSON ({err.msg}); expected one JSON object a line")
            continue
        if not isinstance(obj, dict):
            sink.bad(number, "is not a JSON object; expected one object a line")
            continue
        record = {}
        for role, key in (("text", columns.text), ("text_pair", columns.text_pair), ("label", columns.label)):
            if key is None or (role == "label" and labels == "none"):
                continue
            if role == "label" and key == DEFAULT_LABEL and key not in obj and PLURAL_LABEL in obj:
                key = PLURAL_LABEL  # {"text": ..., "labels": [...]}: the usual multi-label key
            if key in obj:
                if role == "label" and isinstance(obj[key], list):
                    value = _label_list(obj[key], number, sink)
                    if value is None:
                        record = None
                        break
                    record[role] = value
                    continue
                value = value_text(obj[key])
                if value is None:
                    kind = "JSON object" if isinstance(obj[key], dict) else "JSON list"
                    sink.bad(number, f"has a {kind} as its {role.replace('_', ' ')}; expected a string or a number")
                    record = None
                    break
                record[role] = value
            elif role != "label" or labels == "required":
                sink.bad(number, f"has no key {key!r}; expected keys {columns.text!r}"
                         + (f", {columns.text_pair!r}" if columns.text_pair else "")
                         + (f" and {columns.label!r}" if labels == "required" else ""))
                record = None
                break
        if record is None:
            continue
        example = example_from_record(record, columns, labels, number, sink)
        if example is not None:
            examples.append(example)
    check_consistent_labels(path, examples, labels)
    return examples


def _label_list(values: list, number: int, sink: Sink) -> tuple[str, ...] | None:
    """A JSON list of labels (a multi-label row; empty: no label), or None for a bad line."""
    if sink.multi_label is False:
        sink.bad(number, "has a list of labels; this task is single-label (--no-multi-label), expected one label")
        return None
    texts = [value_text(v) for v in values]
    if any(t is None for t in texts):
        sink.bad(number, "has a label list holding a list or an object; expected strings or numbers")
        return None
    return label_set(texts, number, sink)


def write_jsonl(rows, path: Path, columns: Columns) -> Path:
    """``rows`` of ``(text, text_pair or None, label)`` as JSONL that :func:`read_jsonl` reads
    back with ``columns``: a label set as a list, a missing label (None) left out."""
    lines = []
    for text, pair, label in rows:
        record = {columns.text: text}
        if pair is not None:
            record[columns.text_pair or "text_pair"] = pair
        if isinstance(label, (list, tuple, set, frozenset)):
            record[columns.label] = [value_text(x) for x in label]
        elif label is not None:
            record[columns.label] = value_text(label)
        lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
