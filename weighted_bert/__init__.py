"""weighted-bert: fine-tune BERT-family encoders for imbalanced text classification.

The Python API (imported on first use, so that ``import weighted_bert`` stays light):

* :func:`train` -- train from files or from data in memory (lists, DataFrames, Datasets);
* :func:`audit` -- the training rows whose label is probably wrong, as a DataFrame;
* :func:`suggest` -- which unlabelled texts to label next, rare classes first;
* :func:`load` -- a trained model folder as a classifier with ``predict``/``predict_proba``;
* :class:`WeightedBertClassifier` -- the same as a scikit-learn estimator;
* :class:`RunConfig` -- every setting of a run.

The pipeline, one module a stage: ``data`` (readers) -> ``labels`` (label map, counts)
-> ``weights`` and ``losses`` -> ``model`` (loading) -> ``training`` (the Trainer run)
-> ``evaluation``, ``metrics`` and ``reports`` -> ``classifier`` (texts in, answers out; the
commands in ``inference``, the server in ``serve``).
"""

__version__ = "0.1.0"
__all__ = ["Classifier", "RunConfig", "WeightedBertClassifier", "audit", "load", "suggest", "train"]

_HOMES = {"train": "api", "audit": "api", "suggest": "api", "load": "api", "Classifier": "classifier", "WeightedBertClassifier": "estimator",
          "RunConfig": "config"}


def __getattr__(name):
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module 'weighted_bert' has no attribute {name!r}")
