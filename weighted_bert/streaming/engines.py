"""Where ``predict``'s chunks are scored: this process, a Ray cluster or a Spark cluster.

Every engine runs the same :class:`ChunkScorer` (made once a worker: the model loaded once)
on the same chunks (:mod:`~.sources`): a worker parses its chunk, answers it and returns the
part files' bytes, and the driver commits them (:class:`~.parts.Parts`) and assembles the
output. So the output is the same file whatever the engine (the same rows, the same
answers), ``--shard`` and ``--resume`` work as with the local engine, and no shared file
system is needed. The driver reads the input (a line scan, no parsing) and holds at most
``2 x workers`` chunks in flight.

- ``ray``: one actor a worker (``num_cpus=1``) in an actor pool; the cluster is Ray's usual
  ``RAY_ADDRESS`` (``auto``, ``host:port`` or ``ray://host:port``), else a local Ray on this
  machine's CPUs.
- ``spark``: waves of ``2 x workers`` one-chunk partitions through ``mapPartitions``; the
  master is Spark's usual setting (``--master`` in ``PYSPARK_SUBMIT_ARGS``, ``MASTER``,
  ``spark-defaults.conf``), else ``local[*]``. A Python worker keeps its scorer between tasks
  (Spark reuses Python workers by default).

A cluster address is checked (a TCP connection, 5 s) before the engine starts: the engines
themselves wait minutes on an address nobody answers.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import RunError, UserError
from ..log import get_logger

IN_FLIGHT = 2  # chunks a worker a time: one scored, one waiting
log = get_logger(__name__)


@dataclass
class Scored:
    """One chunk's answers as the bytes of its part files (or the user error that stopped it)."""

    index: int
    rows: int = 0
    predictions: bytes = b""
    probabilities: bytes | None = None
    ids: list | None = None
    error: str | None = None  # a UserError's message, said again by the driver


class ChunkScorer:
    """``ChunkScorer(config)(index, load) -> Scored``: the model loaded once (``threads``: the
    CPU threads it may use, for a worker that shares the machine)."""

    def __init__(self, config, threads: int | None = None, classifier=None):
        from ..classifier import Classifier
        from ..tasks import task_of

        if threads and config.backend == "torch":
            import torch

            torch.set_num_threads(threads)
        self.config = config
        self.classifier = classifier or Classifier.from_config(config, threads=threads)
        self.task = task_of(self.classifier.multi_label)

    def __call__(self, index: int, load: Callable) -> Scored:
        try:
            chunk = load()
            answers = self.classifier.answer(chunk.dataset, top_k=self.config.top_k,
                                             at_least_one=self.config.at_least_one)
        except UserError as err:
            return Scored(index, error=str(err))
        labels = self.classifier.labels
        with tempfile.TemporaryDirectory(prefix="weighted-bert-chunk-") as tmp:
            predictions, probabilities = Path(tmp) / "p.tsv", Path(tmp) / "probabilities.tsv"
            self.task.write_answers(predictions, chunk.dataset, answers, labels)
            if self.config.probabilities:
                self.task.write_probabilities(probabilities, labels, answers.probabilities)
            return Scored(index, len(chunk.dataset), predictions.read_bytes(),
                          probabilities.read_bytes() if self.config.probabilities else None, chunk.ids)


def score_chunks(engine: str, config, work: Iterable[tuple[int, Callable]], *, workers: int | None,
                 classifier=None) -> Iterator[Scored]:
    """Each ``(index, load)`` of ``work`` scored on ``engine``, in any order."""
    if engine == "local":
        scorer = ChunkScorer(config, classifier=classifier)
        for index, load in work:
            yield scorer(index, load)
    elif engine == "ray":
        yield from _ray(config, work, workers)
    else:
        yield from _spark(config, work, workers)


def _ray(config, work, workers: int | None) -> Iterator[Scored]:
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise UserError('--engine ray needs Ray: pip install "weighted-bert[ray]"') from None
    address = os.environ.get("RAY_ADDRESS") or None
    if address and address not in ("auto", "local"):
        _reachable(address.removeprefix("ray://"), "RAY_ADDRESS", "start it with `ray start --head`, or unset "
                   "RAY_ADDRESS to score on a Ray started on this machine")
    started = not ray.is_initialized()
    if started:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        options = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray.init(address=address, **(options if address else {**options, "num_cpus": workers}))
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1)(ChunkScorer)
        pool = ActorPool([actor.remote(config, threads=1) for _ in range(count)])
        log.info(f"--engine ray: {count} worker(s) at {address or 'a local Ray'}")
        submitted = 0
        for item in work:
            while submitted >= IN_FLIGHT * count:
                yield pool.get_next_unordered()
                submitted -= 1
            pool.submit(lambda a, v: a.__call__.remote(*v), item)
            submitted += 1
        while pool.has_next():
            yield pool.get_next_unordered()
    finally:
        if started:
            ray.shutdown()


_SCORERS: dict = {}  # a Spark Python worker's scorer, kept between its tasks


def _score_partition(config, threads: int, items):
    """Spark's ``mapPartitions`` function (top-level: pickled by name, so that the cache is
    the worker's module's)."""
    key = repr(config)
    if key not in _SCORERS:
        _SCORERS.clear()
        _SCORERS[key] = ChunkScorer(config, threads=threads)
    for index, load in items:
        yield _SCORERS[key](index, load)


def _spark(config, work, workers: int | None) -> Iterator[Scored]:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError('--engine spark needs PySpark: pip install "weighted-bert[spark]"') from None
    master = _spark_master()
    if master and master.startswith("spark://"):
        for address in master.removeprefix("spark://").split(","):
            _reachable(address, "the Spark master", "start it (sbin/start-master.sh) or run without --master to "
                       "score in local mode")
    active = SparkSession.getActiveSession()
    spark = active or SparkSession.builder.appName("weighted-bert predict").getOrCreate()
    try:
        context = spark.sparkContext
        count = workers or max(1, context.defaultParallelism)
        log.info(f"--engine spark: {count} worker(s) at {context.master}")
        score = functools.partial(_score_partition, config, 1)
        wave: list = []
        for item in work:
            wave.append(item)
            if len(wave) == IN_FLIGHT * count:
                yield from context.parallelize(wave, len(wave)).mapPartitions(score).collect()
                wave = []
        if wave:
            yield from context.parallelize(wave, len(wave)).mapPartitions(score).collect()
    finally:
        if active is None:
            spark.stop()


def _spark_master() -> str | None:
    """The master Spark will use, from its usual settings (None: Spark's default, local[*])."""
    submit = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
    for i, arg in enumerate(submit):
        if arg == "--master" and i + 1 < len(submit):
            return submit[i + 1]
        if arg.startswith("--master="):
            return arg.split("=", 1)[1]
    return os.environ.get("MASTER") or None


def _reachable(address: str, name: str, remedy: str, timeout: float = 5.0) -> None:
    """One TCP connection to ``host:port``, or a one-line error."""
    match = re.fullmatch(r"\[?([^\]]+?)\]?:(\d+)", address.strip())
    if not match:
        raise UserError(f"{name} {address!r}: expected host:port")
    try:
        socket.create_connection((match.group(1), int(match.group(2))), timeout=timeout).close()
    except OSError as err:
        raise RunError(f"{name} {address}: nothing answers there ({err.strerror or err}); {remedy}") from None
