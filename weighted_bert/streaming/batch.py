"""One batch-scoring callable for the engines users already run: Ray Data and Spark.

:class:`BatchScorer` takes the model folder and the scoring settings in its constructor (so
each worker loads the model once) and maps a batch, a pandas DataFrame, a pyarrow Table or a
dict of columns (Ray's ``numpy`` batches), with a text column to the same batch plus the
answer columns :data:`ANSWERS`, answered by the one
:class:`~weighted_bert.classifier.Classifier` path that ``predict`` uses.

Ray Data (a class UDF: one model a worker)::

    ds = ray.data.read_parquet("texts.parquet")
    out = ds.map_batches(BatchScorer, fn_constructor_kwargs={"model": "runs/a"}, concurrency=4,
                         batch_size=1024, batch_format="pandas")

Spark::

    df.mapInPandas(BatchScorer.spark(model="runs/a"), schema=BatchScorer.spark_schema(df.schema))
"""

from __future__ import annotations

from ..errors import UserError

ANSWERS = ("predicted_label", "probability", "truncated", "windows")


class BatchScorer:
    """``BatchScorer(model, text_column="text", ...)(batch) -> batch + ANSWERS``. A multi-label
    model's ``predicted_label`` is its label set joined by ``;`` (most probable first) and its
    ``probability`` that of its most probable label; an abstention is the calibration's label."""

    def __init__(self, model, *, text_column: str = "text", text_pair_column: str | None = None, batch_size: int = 64,
                 backend: str = "auto", precision: str = "fp32", target_prior: str | None = None,
                 stride: int | None = None, max_windows: int | None = None, window_aggregation: str | None = None,
                 top_k: int | None = None, at_least_one: bool = False):
        from ..classifier import Classifier

        self.classifier = Classifier.load(model, backend=backend, batch_size=batch_size, precision=precision,
                                          target_prior=target_prior, stride=stride, max_windows=max_windows,
                                          aggregation=window_aggregation)
        self.text_column, self.text_pair_column = text_column, text_pair_column
        self.top_k, self.at_least_one = top_k, at_least_one

    def __call__(self, batch):
        import pandas

        kind = "pandas" if isinstance(batch, pandas.DataFrame) else "dict" if isinstance(batch, dict) else "arrow"
        frame = batch if kind == "pandas" else pandas.DataFrame(batch) if kind == "dict" else batch.to_pandas()
        out = self.score(frame)
        if kind == "pandas":
            return out
        if kind == "dict":
            return {name: out[name].to_numpy() for name in out.columns}
        import pyarrow

        return pyarrow.Table.from_pandas(out, preserve_index=False)

    def score(self, frame):
        """``frame`` (pandas) with the answer columns added."""
        for column in (self.text_column, self.text_pair_column):
            if column is not None and column not in frame.columns:
                raise UserError(f"the batch has no column {column!r} (text_column/text_pair_column); its columns: "
                                f"{', '.join(map(str, frame.columns))}")
        texts = frame[self.text_column].tolist()
        if self.text_pair_column is not None:
            texts = list(zip(texts, frame[self.text_pair_column].tolist()))
        out = frame.copy()
        if not texts:
            for name in ANSWERS:
                out[name] = []
            return out
        answers = self.classifier.answer(texts, top_k=self.top_k, at_least_one=self.at_least_one,
                                         measure_truncation=True)
        out["predicted_label"], out["probability"] = self.classifier.fine_tuned.outputs.answer_columns(answers)
        out["truncated"] = answers.truncated
        out["windows"] = answers.windows
        return out

    @classmethod
    def spark(cls, model, **options):
        """A function for Spark's ``mapInPandas``: the scorer is made once a task."""
        def score_partition(frames):
            scorer = cls(model, **options)
            for frame in frames:
                yield scorer.score(frame)
        return score_partition

    @staticmethod
    def spark_schema(schema):
        """The schema of ``mapInPandas``' output: the input's columns and the answers."""
        from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType, StructField, StructType

        return StructType(list(schema.fields) + [StructField("predicted_label", StringType()),
                                                 StructField("probability", DoubleType()),
                                                 StructField("truncated", BooleanType()),
                                                 StructField("windows", LongType())])
