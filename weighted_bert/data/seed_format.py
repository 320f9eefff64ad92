"""The seed's format (``.txt``): no header, one example a line, ``text<TAB>label`` or
``text_a<TAB>text_b<TAB>label``; a field enclosed in double quotes loses only that pair."""

from __future__ import annotations

import sys
from pathlib import Path

from .examples import Example, Sink, missing_value, split_labels


def _unquote(field_text: str) -> str:
    """Remove one enclosing pair of double quotes; keep every other quote."""
    if len(field_text) >= 2 and field_text[0] == '"' and field_text[-1] == '"':
        return field_text[1:-1]
    return field_text


def read_seed(path: Path, text: str, labels: str, pair: bool | None, sink: Sink) -> list[Example]:
    examples: list[Example] = []
    layout: tuple[int, bool] | None = None  # (number of text fields, has label)
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip():
            continue  # a blank line holds no example
        fields = [_unquote(f) for f in line.split("\t")]
        if layout is None:
            layout = _seed_layout(len(fields), labels, pair)
            if layout is None:
                sink.bad(number, _seed_expectation(len(fields), labels, pair))
                continue
        n_text, has_label = layout
        if len(fields) != n_text + has_label:
            wanted = _describe(n_text, has_label)
            sink.bad(number, f"has no tab; expected {wanted}" if len(fields) == 1 else
                     f"has {len(fields)} tab-separated fields; expected {wanted} like the lines before it")
            continue
        label = sys.intern(fields[-1]) if has_label else None  # one string per class, not per line
        if has_label and sink.label_separator:
            label = split_labels(label, number, sink)
            if label is None:
                continue
        elif has_label and not label.strip():
            sink.bad(number, "has an empty label; expected a label after the last tab")
            continue
        if has_label and isinstance(label, str) and missing_value(label):
            sink.bad(number, missing_value(label))
            continue
        if not fields[0].strip() or (n_text == 2 and not fields[1].strip()):
            sink.bad(number, "has an empty text; expected text before the tab")
            continue
        examples.append(Example(fields[0], fields[1] if n_text == 2 else None, label, number))
    return examples


def _seed_layout(n_fields: int, labels: str, pair: bool | None) -> tuple[int, bool] | None:
    if labels == "none":
        options = [(n_fields, False)] if n_fields in (1, 2) else []
    elif labels == "required":
        options = [(n_fields - 1, True)] if n_fields in (2, 3) else []
    else:  # optional: a line of text fields only, or text fields and a label
        if pair is None:
            options = [(n_fields - 1, True)] if n_fields in (2, 3) else [(1, False)] if n_fields == 1 else []
        else:
            n_text = 2 if pair else 1
            options = [(n_text, n_fields == n_text + 1)] if n_fields in (n_text, n_text + 1) else []
    options = [o for o in options if pair is None or (o[0] == 2) == pair]
    return options[0] if options else None


def _describe(n_text: int, has_label: bool) -> str:
    names = ["text"] if n_text == 1 else ["text_a", "text_b"]
    return "<TAB>".join(names + (["label"] if has_label else []))


def _seed_expectation(n_fields: int, labels: str, pair: bool | None) -> str:
    if pair is None:
        wanted = "text<TAB>label or text_a<TAB>text_b<TAB>label" if labels != "none" else "text or text_a<TAB>text_b"
    else:
        wanted = _describe(2 if pair else 1, labels == "required")
    if n_fields == 1:
        return f"has no tab; expected {wanted}"
    return f"has {n_fields} tab-separated fields; expected {wanted}"
