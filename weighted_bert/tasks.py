"""The task a model does, as an object: single-label (one class a text, softmax outputs) or
multi-label (a set of labels a text, one sigmoid each).

What differs between the two lives here, once, as two classes of the same shape: the
targets training fits, how data files are read (a multi-label field is split at the label
separator), the checks of a training file's labels, the metrics of each dev evaluation,
the result files and the run's report page, what ``evaluate`` scores, how ``predict``
writes its answers, which answer options apply, what ``stats`` says of the labels, what
the seed's ``--weighted_loss`` means, and how the run and the model card describe the
task. The task is chosen where it is known (the settings, the training file's labels, a
model folder's record) by :func:`task_of`; the code that uses it does not ask again
(``tests/test_structure.py`` keeps the places that choose to a handful).

A task is its outputs (:mod:`weighted_bert.outputs`: probabilities, the answer rule, the
join of a long text's windows, which the model layer uses alone) plus the above.

The decision itself is the model's (:class:`~weighted_bert.model_folder.FineTuned`: the
calibration's rule, or the per-label thresholds) and is fitted by the run
(:mod:`weighted_bert.training.decisions`).
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from itertools import combinations
from pathlib import Path

import numpy as np

from .data import DEFAULT_SEPARATOR
from .data.readers import JSONL_EXTENSIONS
from .errors import DataFormatError, UserError
from .labels import LabelMap, build_label_map, check_set_labels, check_some_label, check_two_classes
from .log import get_logger
from .loss_settings import MULTI_LABEL_LOSSES
from .outputs import LabelSet, OneClass
from .recipes import MULTI_LABEL_RECIPE, RECIPES
from .result_files import write_predictions, write_test_results
from .run_folder import LABEL_MAP, MODEL, TrainingInfo

log = get_logger(__name__)


class SingleLabel(OneClass):
    """One class a text: softmax outputs, the calibration's decision rule."""

    noun = "classes"
    kind = "text classifier"
    # what `compare --auto` tries (recommended is ce)
    compare_recipes = ("recommended", "logit_adjusted", "class_balanced", "sqrt", "ldam_drw", "seed")

    def targets(self, label_map, dataset) -> np.ndarray:
        """Class ids in label-map order."""
        return np.asarray(label_map.encode(dataset))

    def read_options(self, given_separator: str | None = None, trained_separator: str | None = None) -> dict:
        """What the readers need beyond the columns (nothing: one label a row)."""
        return {}

    def check_training_data(self, train, label_separator: str | None) -> None:
        """What the training file must hold beyond what the reader checks (nothing more)."""

    def training_label_map(self, train, *, explicit=None, order: str = "sorted") -> LabelMap:
        """The training file's label map (:func:`~weighted_bert.labels.build_label_map`), at least two classes."""
        check_two_classes(train)
        return build_label_map(train, explicit=explicit, order=order)

    def say_detected(self, train, settled, *, given: bool | None) -> None:
        """Said when the task was read from the training file (nothing: single-label is the default)."""

    def seed_loss(self, weighted: bool) -> tuple[str, dict]:
        """The seed's ``--weighted_loss``: the loss and its weights (the seed's N / n_c a class)."""
        return ("weighted_ce", {"class_weights": "inverse"}) if weighted else ("ce", {})

    def label_stats(self, dataset, label_map) -> dict:
        """What `stats` says of a split's labels beyond the class counts (nothing more)."""
        return {}

    def report(self, run_dir, *, split: str = "auto", many_threshold: int | None = None,
               few_threshold: int | None = None) -> Path | None:
        """The run's ``report.html`` (:func:`~weighted_bert.report.run.single_label_report`)."""
        from .report.run import single_label_report

        return single_label_report(run_dir, split=split, many_threshold=many_threshold, few_threshold=few_threshold)

    def start_head(self, model, class_counts, num_examples: int) -> None:
        """How a fresh head starts before training (as the model made it)."""

    def decision_text(self, config, target_prior: str) -> str:
        """What the run will fit on dev after training, in words."""
        return f"target prior {target_prior}"

    def epoch_metrics(self, logits, targets, *, train_counts, many_threshold, few_threshold) -> dict:
        """Each dev evaluation's metrics: what ``--metric-for-best-model`` can name."""
        from .evaluation import metrics_from_logits  # scikit-learn and torch: not for predicting from ONNX

        return metrics_from_logits(logits, targets, train_counts=train_counts, many_threshold=many_threshold,
                                   few_threshold=few_threshold)

    def result_writers(self, fine_tuned):
        """``(write_evaluation, write_prediction_files)`` for a run's dev and test."""
        from .evaluation import write_evaluation, write_prediction_files

        return write_evaluation, write_prediction_files

    def evaluate(self, classifier, dataset, *, loss_fn=None, output_dir=None, top_k=None,
                 at_least_one: bool = False) -> dict:
        """``evaluate``'s metrics (and with ``output_dir`` its files) under the calibration's
        rule; when the calibration changes the logits, also ``nll_uncalibrated`` and
        ``ece_uncalibrated``."""
        from .calibration.temperature import ece, nll
        from .evaluation import metrics_from_logits, write_evaluation

        fine_tuned = classifier.fine_tuned
        logits = classifier.with_options(target_prior=None).logits(dataset)  # shifted below, after the raw NLL
        calibration = fine_tuned.calibration if classifier.calibration else None
        counts, y = fine_tuned.info.class_counts, fine_tuned.label_map.encode(dataset)
        extra = {}
        if calibration is not None and calibration.changes_logits:
            raw = calibration.remove(logits)
            extra = {"nll_uncalibrated": nll(raw, y), "ece_uncalibrated": ece(raw, y)}
        logits = classifier.shifted(logits)
        if output_dir:
            return write_evaluation(output_dir, logits, dataset, fine_tuned.label_map, loss_fn=loss_fn,
                                    train_counts=counts, calibration=calibration, extra=extra)
        return {**metrics_from_logits(logits, y, loss_fn=loss_fn, train_counts=counts, calibration=calibration),
                **extra}

    def write_answers(self, path, dataset, answers, labels) -> None:
        """``predictions.tsv``: each text's label (the rule's answer) and its probabilities."""
        write_predictions(path, dataset.examples, answers.probabilities, answers.labels, answers.decided,
                          answers.windows)

    def write_probabilities(self, path, labels, probabilities) -> None:
        """The seed's ``test_results.tsv``: one row of class probabilities a text."""
        write_test_results(path, probabilities)

    def check_answer_options(self, where, top_k=None, at_least_one: bool = False) -> None:
        if top_k is not None or at_least_one:
            raise UserError(f"{where}: --top-k and --at-least-one are for multi-label models; this one gives one "
                            "label a text")

    def describe_data(self, counts, num_examples) -> str:
        """The model card's sentence on the training data."""
        rarest, ratio = _rarest_and_ratio(counts)
        return (f"Training data: {sum(counts)} examples; the largest class has {max(counts)}, the smallest "
                f"{rarest} (imbalance ratio {ratio:.0f}).")

    def usage_note(self) -> list[str]:
        """What the model card adds under "How to use"."""
        return []

    def card_metrics(self, metrics: dict, report: Path) -> dict:
        """The results the model card shows: the run's saved metrics, per-class rows included."""
        return metrics

    compared_metrics = ("accuracy", "macro_f1", "few_shot_accuracy")  # what the int8 check reports

    def compared_answers(self, fine_tuned, logits, dataset) -> tuple[np.ndarray, dict]:
        """``(top class per row, its metrics with per_class rows)``: what the int8 check compares
        between two backends."""
        from .metrics import full_metrics

        predicted = np.asarray(logits).argmax(1)
        return predicted, full_metrics(fine_tuned.label_map.encode(dataset), predicted, fine_tuned.label_map.labels,
                                       train_counts=fine_tuned.info.class_counts)


class MultiLabel(LabelSet):
    """A set of labels a text: one sigmoid a label, per-label thresholds."""

    noun = "labels"
    kind = "multi-label text classifier (each text gets a set of labels)"
    # what `compare --auto` tries: every multi-label preset (measured by benchmarks/multilabel.py), the default first
    compare_recipes = (MULTI_LABEL_RECIPE, *(r for r, v in RECIPES.items()
                                             if v.get("loss") in MULTI_LABEL_LOSSES and r != MULTI_LABEL_RECIPE))

    def targets(self, label_map, dataset) -> np.ndarray:
        """The 0/1 matrix of the rows' label sets."""
        return label_map.multi_hot(dataset)

    def read_options(self, given_separator: str | None = None, trained_separator: str | None = None) -> dict:
        """Label sets split as in training, unless told otherwise (the reader's default where neither says)."""
        return {"label_separator": given_separator or trained_separator}

    def check_training_data(self, train, label_separator: str | None) -> None:
        """The label sets (see :func:`check_label_sets`)."""
        check_label_sets(train, label_separator)

    def training_label_map(self, train, *, explicit=None, order: str = "sorted") -> LabelMap:
        """The training file's label map, its labels fit for sets (:mod:`weighted_bert.labels`' checks)."""
        check_some_label(train)
        label_map = build_label_map(train, explicit=explicit, order=order)
        check_set_labels(train, label_map)
        return label_map

    def say_detected(self, train, settled, *, given: bool | None) -> None:
        """Say that lists of labels made the run multi-label (``given``: None, the settings did not
        say), and how to refuse such files."""
        if given is None:
            log.info(f"{train.path}: the labels are lists: a multi-label task (loss {settled.loss}; "
                     "--no-multi-label refuses such files)")

    def seed_loss(self, weighted: bool) -> tuple[str, dict]:
        """The seed's ``--weighted_loss`` for label sets: ``bce``, the positive term of each label weighted
        by its negatives / positives."""
        return "bce", {"pos_weight": "inverse"} if weighted else {}

    def label_stats(self, dataset, label_map, top: int = 10) -> dict:
        """What `stats` says of a split's label sets: label cardinality, rows without a label, the
        distinct label sets and the most frequent ones, and the label pairs that occur together most often."""
        sets = Counter(tuple(sorted(e.label)) for e in dataset.examples)
        pairs = Counter(pair for e in dataset.examples for pair in combinations(sorted(e.label), 2))
        return {"label_cardinality": float(np.mean([len(e.label) for e in dataset.examples])),
                "max_labels_a_row": max(len(e.label) for e in dataset.examples),
                "rows_without_label": sum(1 for e in dataset.examples if not e.label),
                "distinct_label_sets": len(sets),
                "frequent_label_sets": [{"labels": list(k), "rows": n} for k, n in sets.most_common(top)],
                "frequent_pairs": [{"labels": list(k), "rows": n} for k, n in pairs.most_common(top)]}

    def report(self, run_dir, *, split: str = "auto", many_threshold: int | None = None,
               few_threshold: int | None = None) -> Path | None:
        """The run's ``report.html`` (:func:`~weighted_bert.report.multilabel.build_ml_report`; its shot
        groups are the run's)."""
        from .report.multilabel import build_ml_report

        return build_ml_report(run_dir, split)

    def start_head(self, model, class_counts, num_examples: int) -> None:
        """Each label's bias at its prior logit (see :func:`start_at_the_prior`)."""
        start_at_the_prior(model, class_counts, num_examples)

    def decision_text(self, config, target_prior: str) -> str:
        return f"thresholds {config.thresholds}"

    def epoch_metrics(self, logits, targets, *, train_counts, many_threshold, few_threshold) -> dict:
        from .multilabel import results as multilabel_results

        return multilabel_results.evaluation_metrics(logits, targets, None, train_counts=train_counts,
                                                     many_threshold=many_threshold, few_threshold=few_threshold)

    def result_writers(self, fine_tuned):
        from .multilabel import results as multilabel_results

        return (partial(multilabel_results.write_evaluation, thresholds=fine_tuned.thresholds),
                partial(multilabel_results.write_prediction_files, thresholds=fine_tuned.thresholds))

    def evaluate(self, classifier, dataset, *, loss_fn=None, output_dir=None, top_k=None,
                 at_least_one: bool = False) -> dict:
        """``evaluate``'s metrics at the model's thresholds (and with ``output_dir`` its files)."""
        from .multilabel import results as multilabel_results

        fine_tuned = classifier.fine_tuned
        logits = classifier.with_options(target_prior=None).logits(dataset)
        options = dict(loss_fn=loss_fn, train_counts=fine_tuned.info.class_counts, top_k=top_k,
                       at_least_one=at_least_one)
        if output_dir:
            return multilabel_results.write_evaluation(output_dir, logits, dataset, fine_tuned.label_map,
                                                       thresholds=fine_tuned.thresholds, **options)
        return multilabel_results.evaluation_metrics(logits, fine_tuned.label_map.multi_hot(dataset),
                                                     fine_tuned.thresholds, **options)

    def write_answers(self, path, dataset, answers, labels) -> None:
        """``predictions.tsv``: each text's label set and the labels' probabilities."""
        from .multilabel import results as multilabel_results

        multilabel_results.write_predictions(path, dataset.examples, answers.probabilities, answers.decided, labels,
                                             answers.windows)

    def write_probabilities(self, path, labels, probabilities) -> None:
        from .multilabel import results as multilabel_results

        multilabel_results.write_test_results(path, labels, probabilities)

    def check_answer_options(self, where, top_k=None, at_least_one: bool = False) -> None:
        return None

    def describe_data(self, counts, num_examples) -> str:
        rarest, ratio = _rarest_and_ratio(counts)
        return (f"Training data: {num_examples} rows; the most frequent label is on {max(counts)}, the rarest on "
                f"{rarest} (imbalance ratio {ratio:.0f}).")

    def usage_note(self) -> list[str]:
        return ["The probabilities are independent sigmoids (`problem_type: multi_label_classification`). A label "
                "is predicted when its probability reaches its threshold in `thresholds.json` (0.5 where none "
                "was kept); weighted-bert's `predict` and `serve` apply them.", ""]

    compared_metrics = ("micro_f1", "macro_f1", "few_shot_macro_f1")

    def compared_answers(self, fine_tuned, logits, dataset) -> tuple[np.ndarray, dict]:
        """``(0/1 labels at the model's thresholds, their metrics with per_class rows)``."""
        from .multilabel.metrics import multilabel_metrics, per_label_table

        scores = self.probabilities(logits)
        decided, _ = self.decide(fine_tuned, scores)
        y, counts = fine_tuned.label_map.multi_hot(dataset), fine_tuned.info.class_counts
        return decided, {**multilabel_metrics(y, decided, train_counts=counts),
                         "per_class": per_label_table(y, decided, scores, fine_tuned.label_map.labels,
                                                      train_counts=counts)}

    def card_metrics(self, metrics: dict, report: Path) -> dict:
        """The saved metrics with the per-label rows of the run's classification ``report``
        (a multi-label results file holds none)."""
        if not report.is_file():
            return metrics
        from .multilabel.results import read_per_label

        return {**metrics, "per_class": [
            {"label": r["label"], "train_count": int(r["train_count"] or 0), "shot_group": r["group"],
             "precision": r["precision"], "recall": r["recall"], "f1": r["f1"], "support": int(r["support"])}
            for r in read_per_label(report)]}


def _rarest_and_ratio(counts) -> tuple[int, float]:
    """The smallest non-zero count and the largest count over it (the imbalance ratio)."""
    rarest = min([c for c in counts if c > 0] or [0])
    return rarest, max(counts) / max(rarest, 1)


def check_label_sets(train, separator: str | None) -> None:
    """A separator that splits no label field is a wrong separator; rows with no label are
    fine (all-negative) and counted."""
    if Path(train.path).suffix.lower() not in JSONL_EXTENSIONS and not any(len(e.label) > 1 for e in train.examples):
        separator = separator or DEFAULT_SEPARATOR
        raise DataFormatError(train.path, None, f"no label field holds the label separator {separator!r}: every row "
                              "has one label; name the character between labels with --label-separator (or, for "
                              "one label a row, train without --multi-label)")
    empty = sum(1 for e in train.examples if not e.label)
    if empty:
        log.info(f"{train.path}: {empty} of {len(train)} rows have no label (negative for every label)")


def start_at_the_prior(model, class_counts, num_examples: int) -> None:
    """Set the fresh head's bias to each label's prior logit, ``logit(n_l / N)`` (Lin et al.'s
    prior initialisation, ICCV 2017): a zero bias starts every label at probability 0.5,
    and the first steps' gradient, nearly all "push every label down", then runs through the
    pretrained encoder and wears its features away before any label is learnt."""
    import torch

    from .losses.multilabel.distribution_balanced import prior_logits
    from .model_folder import head_linear_name

    name = head_linear_name(model)
    if name is None:
        log.info("the model's head has no bias to start at the label priors; it starts at 0.5")
        return
    head = model.get_submodule(name)
    with torch.no_grad():
        head.bias.copy_(prior_logits(class_counts, num_examples).to(head.bias))


SINGLE_LABEL, MULTI_LABEL = SingleLabel(), MultiLabel()


Task = SingleLabel | MultiLabel  # the same methods and attributes, each task its own answers


def task_of(multi_label) -> Task:
    """The task object for a run or a model folder's ``multi_label`` record."""
    return MULTI_LABEL if multi_label else SINGLE_LABEL


def build_report(run_dir, *, split: str = "auto", many_threshold: int | None = None,
                 few_threshold: int | None = None) -> Path | None:
    """Write the pictures and ``report.html`` of a training run's folder, by the task its model
    records; return the page's path, or None when the run has no labelled predictions to report on."""
    run_dir = Path(run_dir)
    if not (run_dir / LABEL_MAP).is_file():
        raise DataFormatError(run_dir, None, "has no label_map.json; expected the output folder of a training run")
    return task_of(TrainingInfo.read(run_dir / MODEL).multi_label).report(
        run_dir, split=split, many_threshold=many_threshold, few_threshold=few_threshold)
