"""``weighted-bert suggest`` and ``weighted_bert.suggestions``: the pool scored by the answering
object, the picks made by :func:`~weighted_bert.suggestions.rules.pick`, the picks file written."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..classifier import Classifier
from ..data import Columns, Dataset, find_data_files, read_dataset
from ..errors import UserError
from ..files import atomic_write_text
from ..label_audit.rules import text_key
from ..log import get_logger
from . import NEAR_DUPLICATE, STRATEGIES
from .rules import pick

log = get_logger(__name__)

COLUMNS = ("text", "predicted_label", "probability", "reason", "strategy", "line")


def training_keys(classifier: Classifier, train=None, *, columns=None) -> set[str] | None:
    """The text keys of the labelled data to skip: ``train``, or the model's own training file
    when it is still where training read it (None when there is none to read)."""
    path = train
    if path is None:
        settings = classifier.fine_tuned.info.settings or {}
        columns = Columns(settings.get("text_column", "text"), settings.get("text_pair_column"),
                          settings.get("label_column", "label"))  # read as training read it
        try:
            path = find_data_files(settings.get("data_dir"), train=settings.get("train_file")).train
        except UserError:
            path = None
        if path is None or not Path(path).is_file():
            log.warning(f"{classifier.path}: its training file is not at hand; texts already labelled are not "
                        "skipped (name them with --train)")
            return None
    options = {"columns": columns} if columns is not None else {}
    dataset = read_dataset(path, labels="optional", pair=bool(classifier.fine_tuned.info.pair), **options)
    return {text_key(e) for e in dataset.examples}


def suggest(classifier: Classifier, data, *, budget: int, strategy: str = STRATEGIES[0], skip: set[str] | None = None,
            seed: int = 42, threshold: float = NEAR_DUPLICATE) -> list[dict]:
    """The picks, in pick order: dicts of :data:`COLUMNS` (``line``: the text's place in ``data``)."""
    if strategy not in STRATEGIES:
        raise UserError(f"strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    classifier.fine_tuned.outputs.refuse_label_sets(
        f"{classifier.path}: a multi-label model; suggest shares its picks out by class and needs a single-label "
        "model")
    if (data.examples if isinstance(data, Dataset) else list(data) if not isinstance(data, str) else True) == []:
        raise UserError(f"{getattr(data, 'path', 'the pool')}: the pool is empty; expected texts to pick from")
    pool = classifier.dataset(data)
    keys = [text_key(e) for e in pool.examples]
    keep = [i for i, k in enumerate(keys) if not skip or k not in skip]
    if not keep:
        raise UserError(f"{pool.path}: every text of the pool is already in the training data; nothing to suggest")
    if budget > len(keep):
        raise UserError(f"budget {budget} is more than the {len(keep)} texts of {pool.path} not in the training "
                        "data; lower --budget")
    if len(keep) < len(pool):
        log.info(f"{pool.path}: {len(pool) - len(keep)} text(s) already in the training data skipped")
    candidates = Dataset(pool.path, [pool.examples[i] for i in keep])
    view = classifier
    if strategy == "balanced-uncertainty":
        try:
            view = classifier.with_options(target_prior="uniform")
        except UserError as err:
            log.warning(f"{err}; the classes are predicted with the model's own prior")
    logits, features = view.logits_and_embeddings(candidates)
    probabilities = view.probabilities(logits)
    counts = classifier.fine_tuned.info.class_counts or [0] * len(classifier.labels)
    picks = pick(strategy, budget=budget, probabilities=probabilities, train_counts=counts,
                 keys=[keys[i] for i in keep], embeddings=features, threshold=threshold, seed=seed)
    if len(picks) < budget:
        log.warning(f"{pool.path}: only {len(picks)} distinct texts to pick (the rest are near-duplicates of picks)")
    labels = classifier.labels
    return [{"text": candidates.examples[i].text, "predicted_label": labels[int(probabilities[i].argmax())],
             "probability": float(probabilities[i].max()), "reason": reason, "strategy": strategy,
             "line": candidates.examples[i].line} for i, reason in picks]


def write_picks(path, picks: list[dict]) -> None:
    """``.jsonl``: one ``{"text", "label": [predicted], "meta"}`` a line (doccano's import);
    anything else: a TSV of :data:`COLUMNS`."""
    if str(path).endswith(".jsonl"):
        lines = [json.dumps({"text": p["text"], "label": [p["predicted_label"]],
                             "meta": {k: p[k] for k in ("probability", "reason", "strategy", "line")}},
                            ensure_ascii=False) for p in picks]
        atomic_write_text(path, "\n".join(lines) + "\n")
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in picks:
        writer.writerow([p["text"], p["predicted_label"], f"{p['probability']:.6f}", p["reason"], p["strategy"],
                         p["line"]])
    atomic_write_text(path, buffer.getvalue())


def suggest_command(config) -> list[dict]:
    """``weighted-bert suggest`` (a :class:`~weighted_bert.scoring_config.SuggestConfig`)."""
    from ..inference import read_texts

    if Path(config.output).resolve() == Path(config.data).resolve():
        raise UserError(f"--output {config.output} is the pool file; choose another")
    classifier = Classifier.from_config(config)
    pool = read_texts(classifier.fine_tuned, config.data, labels="optional", config=config)
    skip = training_keys(classifier, config.train, columns=config.columns() if config.train else None)
    picks = suggest(classifier, pool, budget=config.budget, strategy=config.strategy, skip=skip, seed=config.seed,
                    threshold=config.near_duplicate)
    write_picks(config.output, picks)
    return picks
