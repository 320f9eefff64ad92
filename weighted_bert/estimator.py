"""``WeightedBertClassifier``: weighted-bert as a scikit-learn estimator, for a ``Pipeline``,
``cross_val_score`` or ``GridSearchCV``. ``fit`` trains with :func:`weighted_bert.train`;
``classes_`` keep the labels' own type (ints stay ints) so scikit-learn's scorers compare
them with ``y``."""

from __future__ import annotations

import tempfile

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .config import RunConfig
from .data.examples import value_text
from .settings import default_of


class WeightedBertClassifier(ClassifierMixin, BaseEstimator):
    """Fine-tune ``model`` on ``fit(X, y)`` (X: texts, y: labels); the common settings are
    parameters, any other ``train`` setting goes in ``settings``. Each fit writes its run
    into ``output_dir`` (a new temporary folder when None)."""

    def __init__(self, model: str = "", *, loss: str = default_of(RunConfig, "loss"), class_weights=None,
                 sampling: str = default_of(RunConfig, "sampling"), epochs: float = default_of(RunConfig, "epochs"),
                 learning_rate: float = default_of(RunConfig, "learning_rate"),
                 head_learning_rate=default_of(RunConfig, "head_learning_rate"),
                 batch_size: int = default_of(RunConfig, "batch_size"),
                 max_seq_length: int = default_of(RunConfig, "max_seq_length"),
                 seed: int = default_of(RunConfig, "seed"),
                 precision: str = default_of(RunConfig, "precision"), output_dir=None, settings: dict | None = None):
        self.model, self.loss, self.class_weights, self.sampling = model, loss, class_weights, sampling
        self.epochs, self.learning_rate, self.head_learning_rate = epochs, learning_rate, head_learning_rate
        self.batch_size, self.max_seq_length, self.seed, self.precision = batch_size, max_seq_length, seed, precision
        self.output_dir, self.settings = output_dir, settings

    def fit(self, X, y):
        from .api import load, train

        texts, labels = list(X), list(y)
        output = self.output_dir or tempfile.mkdtemp(prefix="weighted-bert-fit-")
        params = {k: v for k, v in self.get_params().items() if k not in ("model", "output_dir", "settings")}
        train(list(zip(texts, labels)), model=self.model, output_dir=output, progress=False,
              overwrite_output_dir=self.output_dir is not None, **{**params, **(self.settings or {})})
        self.classifier_ = load(output)
        original = {value_text(label): label for label in labels}  # "3" -> 3: answers in y's own type
        self.classes_ = np.array([original[label] for label in self.classifier_.labels])
        self.output_dir_ = output
        return self

    def predict_proba(self, X) -> np.ndarray:
        return self.classifier_.predict_proba(list(X))

    def predict(self, X) -> np.ndarray:
        """Each text's class by the model's answer rule (its calibration's decision where it has one)."""
        by_name = dict(zip(self.classifier_.labels, self.classes_))
        return np.array([by_name.get(label, label) for label in self.classifier_.predict(list(X))])
