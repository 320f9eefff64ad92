"""``weighted-bert predict``: the input's chunks (:mod:`~.sources`) answered by the
:class:`~weighted_bert.classifier.Classifier` on an engine (:mod:`~.engines`), committed as
parts and assembled into the output (:mod:`~.parts`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..classifier import Classifier
from ..errors import RunError, UserError
from ..log import get_logger
from ..model_folder import FineTuned
from ..tasks import task_of
from . import parse_shard
from .engines import score_chunks
from .parts import Parts, to_stdout
from .sources import chunks

log = get_logger(__name__)


def _plan(config, classifier: Classifier) -> dict:
    """What a resumed run must share with the one it continues."""
    source = Path(config.data)
    stat = source.stat() if str(config.data) != "-" and source.is_file() else None
    return {"model": str(Path(classifier.path).resolve()), "data": str(source.resolve()),
            "data_bytes": stat.st_size if stat else None, "data_modified": stat.st_mtime_ns if stat else None,
            "chunk_rows": config.chunk_rows, "shard": str(parse_shard(config.shard)),
            "id_column": config.id_column, "probabilities": bool(config.probabilities),
            "settings": {k: getattr(config, k) for k in ("backend", "precision", "calibration", "target_prior",
                                                         "top_k", "at_least_one", "stride", "max_windows",
                                                         "window_aggregation", "text_column", "text_pair_column",
                                                         "label_column", "label_separator")}}


def read_options(fine_tuned: FineTuned, config, *, labels: str) -> dict:
    """How a file is read for ``fine_tuned``: as it was trained (single texts or pairs, one
    label or a set), with the columns and bad-line rule of ``config``."""
    return dict(labels=labels, pair=fine_tuned.info.pair, columns=config.columns(), on_bad_line=config.on_bad_line,
                multi_label=fine_tuned.multi_label,
                **task_of(fine_tuned.multi_label).read_options(config.label_separator,
                                                               fine_tuned.info.settings.get("label_separator")))


def stream_predict(config) -> int:
    """Answer ``config.data`` into ``config.output`` on ``config.engine``; returns the rows
    written (this shard's)."""
    # the local engine answers with this classifier; another engine's workers load their own,
    # and here the folder is read without its weights, to check the settings before they start
    classifier = Classifier.from_config(config, weights=config.engine == "local")
    fine_tuned = classifier.fine_tuned
    task = task_of(fine_tuned.multi_label)
    task.check_answer_options(fine_tuned.path, config.top_k, config.at_least_one)
    options = read_options(fine_tuned, config, labels="optional")
    if str(config.output) == "-":
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "predictions.tsv"
            rows = _score(config, classifier, task, options, Parts(out, {}, resume=False, overwrite=True))
            to_stdout(out)
        return rows
    parts = Parts(config.output, _plan(config, classifier), resume=config.resume, overwrite=config.overwrite,
                  also=config.probabilities)
    try:
        return _score(config, classifier, task, options, parts)
    except BaseException:
        parts.discard_if_empty()
        raise


def _score(config, classifier: Classifier, task, read_options: dict, parts: Parts) -> int:
    shard = parse_shard(config.shard)
    found = kept = 0  # this shard's chunks, and those committed by an earlier run

    def work():
        nonlocal found, kept
        for index, load in chunks(config.data, chunk_rows=config.chunk_rows, read_options=read_options,
                                  pair=bool(classifier.fine_tuned.info.pair), id_column=config.id_column):
            if not shard.mine(index):
                continue
            found += 1
            if parts.done(index):
                kept += 1
                continue
            yield index, load

    scored = 0
    for result in score_chunks(config.engine, config, work(), workers=config.workers,
                               classifier=classifier if config.engine == "local" else None):
        if result.error is not None:
            raise UserError(result.error)
        parts.commit_scored(result)
        scored += 1
        if shard.count > 1 or config.engine != "local" or scored % 10 == 0:
            log.info(f"chunk {result.index}: {result.rows} rows answered")
    if not found:
        raise RunError(f"{config.data}: shard {shard} has no chunk of {config.chunk_rows} rows to score (the input "
                       f"has fewer than {shard.index + 1} chunks); use fewer shards or a smaller --chunk-rows")
    if kept:
        log.info(f"--resume: {kept} chunk(s) committed earlier kept, {scored} scored now")
    return parts.assemble(id_column=config.id_column, probabilities=config.probabilities,
                          header_in_probabilities=task.multi_label)
