"""weighted-bert: fine-tune BERT-family encoders for imbalanced text classification.

The pipeline, one module a stage: ``data`` (readers) -> ``labels`` (label map, counts)
-> ``weights`` and ``losses`` -> ``model`` (loading) -> ``training`` (the Trainer run)
-> ``evaluation``, ``metrics`` and ``reports`` -> ``prediction``.
"""

__version__ = "0.1.0"
