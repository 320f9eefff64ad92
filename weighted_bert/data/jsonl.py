"""JSONL: one JSON object a line, with the column names as keys."""

from __future__ import annotations

import json
from pathlib import Path

from .examples import Columns, Example, Sink, check_consistent_labels, example_from_record, value_text


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
            if key in obj:
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
