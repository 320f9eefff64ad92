"""``label_issues.tsv``, the audit's list of training rows, and its one reader: ``train --exclude``
and ``train --relabel``.

Columns: ``line`` (the row's line in the training file), ``text`` (a pair: ``text_pair`` too),
``given_label``, ``suggested_label`` (the label the out-of-sample model finds most probable),
``score`` (label quality in [0, 1], lower = more likely wrong; empty where the row could not
be judged), ``issue`` (``yes`` for a row flagged as probably mislabelled), ``shots`` (the
given class's shot group) and ``class_count`` (its training rows). Rows in review order
(:func:`weighted_bert.label_audit.rules.review_order`).

``train --exclude label_issues.tsv`` leaves out the rows marked ``issue`` = ``yes``;
``--exclude-top N`` the N rows with the lowest scores instead. Each named row is checked
against the training file (the line exists, its text is the same), and the rows left out are
written to the run folder (``excluded_rows.tsv``), so nothing is dropped unseen.
``train --relabel label_issues.tsv`` keeps every row and gives the flagged ones the
``suggested_label`` instead (checked the same way, and that each still has the audited label);
those rows go to ``relabelled_rows.tsv``. It is for a list a person has reviewed (``issue``
left ``yes`` on the rows confirmed wrong, ``suggested_label`` their right label). Unreviewed it
measured worse than ``--exclude`` on CLINC150-LT with 5% of the labels flipped uniformly
(``benchmarks/audit.py``, every seed; mixed with confusable flips), although the suggestion is
the true label of 98-100% of the flagged flips: the flags' correct rows, given a class the
model confuses theirs with, cost more than the flips given back win.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from pathlib import Path

from ..data import Dataset, Example
from ..errors import DataFormatError
from ..files import atomic_write_text

LABEL_ISSUES = "label_issues.tsv"
COLUMNS = ("line", "text", "text_pair", "given_label", "suggested_label", "score", "issue", "shots", "class_count")


def write_label_issues(path, rows: list[dict], *, pair: bool) -> None:
    """``rows``: dicts with the columns above (``score`` NaN where unscored), in the order to write."""
    columns = [c for c in COLUMNS if pair or c != "text_pair"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells = dict(row, score="" if row["score"] is None or math.isnan(row["score"]) else f"{row['score']:.6f}",
                     issue="yes" if row["issue"] else "no")
        writer.writerow([cells[c] for c in columns])
    atomic_write_text(path, buffer.getvalue())


def read_label_issues(path) -> list[dict]:
    """The rows of a ``label_issues.tsv`` with ``line`` (int), ``score`` (float or None) and
    ``issue`` (bool) read; ``file_line`` is where each stands in this file."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, None, "no such file; --exclude and --relabel take the label_issues.tsv "
                              "`weighted-bert audit` writes")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in ("line", "text", "score", "issue") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataFormatError(path, 1, f"expected the header of label_issues.tsv (line, text, given_label, "
                                  f"suggested_label, score, issue, ...); it lacks {', '.join(missing)}")
        rows = []
        for row in reader:
            where = reader.line_num
            try:
                line = int(row["line"])
                score = float(row["score"]) if row["score"] not in ("", None) else None
            except (TypeError, ValueError):
                raise DataFormatError(path, where, f"line {row['line']!r} or score {row['score']!r} is not a "
                                      "number") from None
            if row["issue"] not in ("yes", "no"):
                raise DataFormatError(path, where, f"issue is {row['issue']!r}; expected yes or no")
            rows.append({**row, "line": line, "score": score, "issue": row["issue"] == "yes", "file_line": where})
    return rows


def chosen_rows(path, top: int | None) -> list[dict]:
    """The rows ``--exclude`` names: those flagged, or with ``top`` the ``top`` lowest-scored."""
    rows = read_label_issues(path)
    if top is None:
        return [r for r in rows if r["issue"]]
    scored = sorted((r for r in rows if r["score"] is not None), key=lambda r: r["score"])
    return scored[:top]


def exclude_rows(train: Dataset, path, top: int | None) -> tuple[Dataset, list[dict]]:
    """``train`` without the rows ``path`` names (see :func:`chosen_rows`), and those rows. A
    named line that the training file does not have, or whose text differs (the file was
    audited before it changed), stops the run."""
    chosen = chosen_rows(path, top)
    _audited_examples(train, chosen, path)
    gone = {r["line"] for r in chosen}
    kept = Dataset(train.path, [e for e in train.examples if e.line not in gone], train.skipped, train.multiline)
    return kept, chosen


def relabel_rows(train: Dataset, path) -> tuple[Dataset, list[dict]]:
    """``train`` with each row ``path`` flags given its ``suggested_label``, and those rows.
    Checked as :func:`exclude_rows` checks, and besides: the row's label is still the audited
    ``given_label``, and the suggestion is another label that some training row has (so a
    multi-label file, whose labels are sets, fits no suggestion; the run refuses it first)."""
    chosen = chosen_rows(path, None)
    examples = _audited_examples(train, chosen, path)
    known = {e.label for e in train.examples}
    for row in chosen:
        given, suggested = examples[row["line"]].label, row.get("suggested_label") or ""
        if row.get("given_label") != given:
            raise DataFormatError(path, row["file_line"], f"names line {row['line']} of {train.path}, which gives it "
                                  f"{given!r}, not {row.get('given_label')!r}; the training file changed since the "
                                  "audit: audit it again")
        if not suggested:
            raise DataFormatError(path, row["file_line"], f"flags line {row['line']} but suggests no label; "
                                  "--relabel needs the audit's suggested_label")
        if suggested == given:
            raise DataFormatError(path, row["file_line"], f"flags line {row['line']} but suggests the label it has, "
                                  f"{given!r}")
        if suggested not in known:
            raise DataFormatError(path, row["file_line"], f"suggests {suggested!r}, which no training row has; was "
                                  "the audit made of another file?")
    new = {r["line"]: r["suggested_label"] for r in chosen}
    relabelled = [dataclasses.replace(e, label=new[e.line]) if e.line in new else e for e in train.examples]
    return Dataset(train.path, relabelled, train.skipped, train.multiline), chosen


def _audited_examples(train: Dataset, chosen: list[dict], path) -> dict[int, Example]:
    """The training rows by line; a line ``chosen`` names that the training file does not have,
    or whose text differs from the audited one, stops the run."""
    by_line = {e.line: e for e in train.examples}
    for row in chosen:
        example = by_line.get(row["line"])
        if example is None:
            raise DataFormatError(path, row["file_line"], f"names line {row['line']} of {train.path}, which holds no "
                                  "training row; was the audit made of another file?")
        if example.text != row["text"] or (row.get("text_pair") or None) != example.text_pair:
            raise DataFormatError(path, row["file_line"], f"names line {row['line']} of {train.path}, whose text "
                                  "differs from the audited one; the training file changed since the audit: audit "
                                  "it again")
    return by_line


def write_acted_on(path, chosen: list[dict], source) -> None:
    """The run's record of the rows it left out (``excluded_rows.tsv``) or relabelled
    (``relabelled_rows.tsv``): each row's line, text, given and suggested label, score and the
    file that named it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(["line", "text", "given_label", "suggested_label", "score", "source"])
    for r in chosen:
        writer.writerow([r["line"], r["text"], r.get("given_label", ""), r.get("suggested_label", ""),
                         "" if r["score"] is None else r["score"], str(source)])
    atomic_write_text(path, buffer.getvalue())
