"""``weighted-bert audit``: every training row judged by a model that did not see it.

The training rows are dealt into K folds (:func:`weighted_bert.label_audit.rules.assign_folds`); for each
fold, ``train`` runs with the audit's settings (the recipe, budget, dev file and decision of a
run made with the same flags) on the other folds' rows, and its model scores the fold's rows.
Then every row has an out-of-sample probability vector; cleanlab turns them into a score and a
flag (:mod:`weighted_bert.label_audit`). The output folder::

    O/label_issues.tsv    every training row, the likely wrong first (weighted_bert.label_audit.issues_file)
    O/audit.json          the settings, the counts, per class, near-duplicates and leakage
    O/report.html         the same for a reviewer
    O/folds/foldK/        fold K's run (its model removed once it has scored its rows)
    O/folds/data/         the rows each fold trained on

Like ``compare``, an interrupted audit resumes: a fold with its held-out scores is kept (when it
ran the same settings and data), an unfinished one runs again. Nothing is ever left out of
training by the audit itself: ``train --exclude O/label_issues.tsv`` does that, as its own step.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import RunConfig
from ..data import Columns, Dataset, find_data_files
from ..data.jsonl import write_jsonl
from ..errors import RunError, SettingError, UserError
from ..files import atomic_write_bytes, atomic_write_text, write_json
from ..labels import build_label_map
from ..log import get_logger
from ..outputs import outputs_of
from ..run_folder import COMPARE_PLAN, MODEL, RUN_SUMMARY
from ..settings import build
from ..shot_groups import shot_group
from . import UNSCORED, AuditSettings, default_folds
from .issues_file import LABEL_ISSUES, write_label_issues
from .rules import (
    assign_folds,
    balanced_probabilities,
    find_issues,
    label_quality,
    require_cleanlab,
    review_order,
    text_key,
)

log = get_logger(__name__)

FOLDS, FOLD_DATA, HELD_OUT, AUDIT_SUMMARY, AUDIT_REPORT = "folds", "data", "held_out.npz", "audit.json", "report.html"
AUDIT_FILES = (LABEL_ISSUES, AUDIT_SUMMARY, AUDIT_REPORT, FOLDS)
TOP_PAIRS = 20  # given -> suggested pairs listed


@dataclass
class AuditResult:
    rows: list[dict]  # label_issues.tsv's rows, in its order
    summary: dict  # audit.json
    output_dir: Path


def run_audit(settings: dict, *, output_dir, audit: AuditSettings | None = None) -> AuditResult:
    """Audit the training file of ``settings`` (``train``'s settings: model, data, recipe,
    budget; not ``output_dir``) into ``output_dir``."""
    audit = audit or AuditSettings()
    output = Path(output_dir)
    check_output(output)
    require_cleanlab()
    for name in ("exclude", "relabel"):
        if settings.get(name):
            raise SettingError(name, settings[name], "is for training; the audit judges every training row as given")
    base = build(RunConfig, {**settings, "output_dir": str(output / FOLDS / "base")})
    from ..training.runner import read_splits

    train, dev, test = read_splits(base)
    outputs_of(train.multi_label).refuse_label_sets(
        f"{train.path}: the labels are lists (multi-label); the audit judges single-label data, one label a row")
    label_map = build_label_map(train, explicit=base.labels, order=base.label_order)
    y = np.asarray(label_map.encode(train))
    counts = np.bincount(y, minlength=len(label_map))
    if (counts > 0).sum() < 2:
        raise UserError(f"{train.path}: every row has the label {train.examples[0].label!r}; an audit compares "
                        "classes and needs at least two")
    if (counts >= 2).sum() == 0:
        raise UserError(f"{train.path}: every class has one row; no row can be judged by a model that has seen "
                        "its class")
    k = audit.folds or default_folds(len(y))
    if k > len(y):
        raise SettingError("folds", k, f"is more than the {len(y)} training rows of {train.path}")
    fold = assign_folds(y, k, base.seed)
    few = [label_map.labels[c] for c in np.flatnonzero((counts > 0) & (counts < k))]
    if few:
        log.info(f"{len(few)} class(es) have fewer rows than the {k} folds ({', '.join(few[:5])}"
                 f"{', ...' if len(few) > 5 else ''}): their rows are judged by models that saw the rest of them; "
                 f"a class with one row is listed unscored")
    files = find_data_files(base.data_dir, train=base.train_file, dev=base.dev_file, test=base.test_file)
    output.mkdir(parents=True, exist_ok=True)
    trained = np.zeros((len(y), len(label_map)))
    balanced = np.zeros_like(trained)
    seconds = 0.0
    for i in range(k):
        held = np.flatnonzero(fold == i)
        p, b, s = _fold(settings, output, i, k, train, held, np.flatnonzero(fold != i), base, label_map,
                        files.dev)
        trained[held], balanced[held] = p, b
        seconds += s
    chosen = balanced if audit.audit_probabilities == "balanced" else trained
    rows, summary = _judge(train, y, counts, chosen, label_map, base, audit)
    summary.update(folds=k, audit_probabilities=audit.audit_probabilities, flag=audit.flag,
                   flag_probability=audit.flag_probability, training_seconds=round(seconds, 1),
                   settings=dict(settings), train=str(train.path))
    summary["near_duplicates"] = near_duplicate_conflicts(train)
    summary["leakage"] = leakage(train, {"dev": dev, "test": test})
    order = review_order([r["issue"] for r in rows], [r["shots"] for r in rows], [r["score"] for r in rows])
    rows = [rows[i] for i in order]
    write_label_issues(output / LABEL_ISSUES, rows, pair=train.is_pair)
    write_json(output / AUDIT_SUMMARY, summary)
    from .report import audit_page

    atomic_write_bytes(output / AUDIT_REPORT, audit_page(rows, summary).encode("utf-8"))
    np.savez_compressed(output / FOLDS / "out_of_fold.npz", trained=trained, balanced=balanced, labels=y, fold=fold,
                        lines=np.array([e.line for e in train.examples]))
    log.info(f"audit: {summary['flagged']} of {len(rows)} rows flagged ({summary['flagged_few_shot']} in few-shot "
             f"classes); wrote {output / LABEL_ISSUES} and {output / AUDIT_REPORT}")
    return AuditResult(rows, summary, output)


def _fold(settings: dict, output: Path, i: int, k: int, train: Dataset, held: np.ndarray, rest: np.ndarray,
          base: RunConfig, label_map, dev_file) -> tuple[np.ndarray, np.ndarray, float]:
    """Fold ``i``'s out-of-sample probabilities (trained, balanced) of the rows ``held``, from
    a run trained on the rows ``rest``; kept from an earlier audit when it ran the same plan."""
    from ..compare import check_finished, remove_incomplete
    from ..training.resume import planned_fingerprint
    from ..training.runner import run

    data = output / FOLDS / FOLD_DATA
    data.mkdir(parents=True, exist_ok=True)
    columns = base.columns()
    train_file = data / f"fold{i + 1}.jsonl"
    write_jsonl([(train.examples[j].text, train.examples[j].text_pair, train.examples[j].label) for j in rest],
                train_file, Columns(columns.text, columns.text_pair or "text_pair", columns.label))
    folder = output / FOLDS / f"fold{i + 1}"
    config = build(RunConfig, {**settings, "output_dir": str(folder), "data_dir": None, "train_file": str(train_file),
                               "dev_file": str(dev_file) if dev_file else None, "test_file": None,
                               "do_predict": False, "labels": list(label_map.labels),
                               "text_pair_column": "text_pair" if train.is_pair and not columns.text_pair
                               else columns.text_pair, "on_bad_line": "error", "export_onnx": False})
    planned = {**planned_fingerprint(config), "held_out_lines": [train.examples[j].line for j in held]}
    scores = folder / HELD_OUT
    what = f"fold {i + 1} of {k}"
    if scores.is_file():
        check_finished(folder, planned, f"audit {what}")
        log.info(f"[audit] {what}: finished earlier, kept")
        saved = np.load(scores)
        return saved["trained"], saved["balanced"], float(saved["seconds"])
    if folder.exists() and not (folder / RUN_SUMMARY).is_file():
        log.info(f"[audit] {what}: incomplete earlier run, starting it again")
        remove_incomplete(folder)
    if not (folder / RUN_SUMMARY).is_file():
        log.info(f"[audit] {what}: training on {len(rest)} rows, judging {len(held)}")
        folder.mkdir(parents=True)
        atomic_write_text(folder / COMPARE_PLAN, json.dumps(planned, indent=1) + "\n")
        run(config)
    else:
        check_finished(folder, planned, f"audit {what}")
    seconds = float(json.loads((folder / RUN_SUMMARY).read_text(encoding="utf-8")).get("seconds") or 0.0)
    trained, balanced = held_out_probabilities(folder / MODEL, Dataset(train.path, [train.examples[j] for j in held]),
                                               batch_size=base.eval_batch_size)
    tmp = folder / f".{HELD_OUT}.partial.npz"
    np.savez_compressed(tmp, trained=trained, balanced=balanced, seconds=seconds)
    tmp.replace(scores)
    shutil.rmtree(folder / MODEL, ignore_errors=True)  # its work is done; a model a fold is disk nobody reads
    return trained, balanced, seconds


def held_out_probabilities(model, dataset: Dataset, *, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A fold model's probabilities of rows it did not see: ``(trained, balanced)``. Trained: the
    raw logits at the fitted temperature, no decision (the decision differs from fold to fold);
    balanced: those with the recipe's training prior taken out."""
    from ..classifier import Classifier
    from ..model_folder import load_fine_tuned
    from ..prediction import softmax

    fine_tuned = load_fine_tuned(model)
    raw = Classifier(fine_tuned, batch_size=batch_size, calibration=False).logits(dataset)
    temperature = fine_tuned.calibration.temperature if fine_tuned.calibration is not None else 1.0
    trained = softmax(raw.astype(np.float64) / temperature)
    unseen = np.asarray(fine_tuned.info.class_counts or [1] * trained.shape[1]) == 0
    if unseen.any():  # a class this fold never trained on (its one row is held out): the model cannot know it
        trained[:, unseen] = 0.0
        trained /= trained.sum(axis=1, keepdims=True)
    prior, source = fine_tuned.recipe_prior()
    if prior is None:  # focal, dice, LDAM: no closed form; the training frequencies are the nearest guess
        from ..calibration.inputs import log_prior_from_counts

        log.info(f"{model}: {source}; the balanced probabilities take out the training frequencies")
        prior = log_prior_from_counts(fine_tuned.info.class_counts)
    balanced = balanced_probabilities(trained, prior)
    balanced[:, unseen] = 0.0
    return trained, balanced / balanced.sum(axis=1, keepdims=True)


def _judge(train: Dataset, y: np.ndarray, counts: np.ndarray, probabilities: np.ndarray, label_map,
           config: RunConfig, audit: AuditSettings) -> tuple[list[dict], dict]:
    """Each row's score, flag and suggestion, and the counts of audit.json."""
    scored = counts[y] >= 2
    score = np.full(len(y), np.nan)
    issue = np.zeros(len(y), dtype=bool)
    score[scored] = label_quality(y[scored], probabilities[scored])
    issue[scored] = find_issues(y[scored], probabilities[scored], audit.flag, audit.flag_probability)
    suggested = probabilities.argmax(axis=1)
    shots = [shot_group(int(counts[c]), config.many_threshold, config.few_threshold) for c in range(len(counts))]
    labels = label_map.labels
    rows = []
    for i, e in enumerate(train.examples):
        rows.append({"line": e.line, "text": e.text, "text_pair": e.text_pair or "", "given_label": labels[y[i]],
                     "suggested_label": labels[suggested[i]], "score": float(score[i]), "issue": bool(issue[i]),
                     "shots": shots[y[i]], "class_count": int(counts[y[i]])})
    per_class = []
    for c, label in enumerate(labels):
        mine = np.flatnonzero(y == c)
        if not len(mine):
            continue
        flagged = mine[issue[mine]]
        pairs = Counter(labels[suggested[j]] for j in flagged)
        per_class.append({"label": label, "count": int(counts[c]), "shots": shots[c], "flagged": int(len(flagged)),
                          "flagged_share": float(len(flagged) / len(mine)),
                          "scored": bool(counts[c] >= 2),
                          "taken_for": pairs.most_common(1)[0][0] if pairs else None,
                          "worst_lines": [int(train.examples[j].line) for j in mine[np.argsort(score[mine])][:3]
                                          if not np.isnan(score[j])]})
    pairs = Counter((labels[y[j]], labels[suggested[j]]) for j in np.flatnonzero(issue))
    few = np.array([shots[c] == "few" for c in y])
    summary = {"rows": len(y), "flagged": int(issue.sum()), "flagged_few_shot": int((issue & few).sum()),
               "unscored": int((~scored).sum()), "unscored_because": UNSCORED,
               "flagged_by_shots": {g: {"rows": int(sum(s == g for s in (shots[c] for c in y))),
                                        "flagged": int(sum(issue[j] for j in range(len(y)) if shots[y[j]] == g))}
                                    for g in ("few", "medium", "many")},
               "per_class": per_class,
               "pairs": [{"given": g, "suggested": s, "rows": n} for (g, s), n in pairs.most_common(TOP_PAIRS)]}
    return rows, summary


def near_duplicate_conflicts(train: Dataset) -> list[dict]:
    """Training texts that are the same up to case, spacing and punctuation
    (:func:`~weighted_bert.label_audit.rules.normalised`) but carry different labels: at least one is wrong."""
    groups = defaultdict(list)
    for e in train.examples:
        groups[text_key(e)].append(e)
    out = []
    for members in groups.values():
        labels = Counter(str(e.label) for e in members)
        if len(labels) > 1:
            out.append({"text": members[0].text, "labels": dict(labels), "lines": [e.line for e in members]})
    return sorted(out, key=lambda g: -len(g["lines"]))


def leakage(train: Dataset, others: dict) -> dict:
    """Per split (dev, test): how many of its rows repeat a training text (up to case, spacing
    and punctuation), with a few of them; a model scored on them is scored on what it learnt."""
    seen = {}
    for e in train.examples:
        seen.setdefault(text_key(e), e.line)
    out = {}
    for split, dataset in others.items():
        if dataset is None:
            continue
        hits = [(e, seen[text_key(e)]) for e in dataset.examples if text_key(e) in seen]
        out[split] = {"rows": len(dataset), "repeated": len(hits), "path": str(dataset.path),
                      "examples": [{"text": e.text, "line": e.line, "train_line": t} for e, t in hits[:10]]}
    return out


def check_output(output_dir) -> None:
    """An audit folder holds an audit's files only (a folder of other things is refused)."""
    output = Path(output_dir)
    if output.exists() and not output.is_dir():
        raise RunError(f"{output}: exists and is not a folder; expected the audit's output folder")
    if output.is_dir():
        foreign = sorted(p.name for p in output.iterdir() if p.name not in AUDIT_FILES)
        if foreign:
            raise RunError(f"{output}: holds files an audit does not write ({', '.join(foreign[:5])}); choose an "
                           "empty or new --output-dir (an earlier audit's folder resumes)")
