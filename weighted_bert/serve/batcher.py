"""Dynamic batching: requests waiting at the same moment run as one batch.

The first request of a batch waits at most ``max_wait_ms`` for others to join, up to
``max_batch_size`` texts; the batch is scored on one worker thread (so the event loop keeps
answering health checks), sorted by length and run in small pieces that each pad only to
their own longest text (``prediction.predict_logits``), and each caller gets exactly its
own rows back, in its own order.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..data import Example
from ..prediction import encode_examples, predict_logits, row_lengths


class Scorer:
    """Texts -> (probabilities, which texts were cut at the training length)."""

    def __init__(self, fine_tuned, *, precision: str, batch_size: int, calibration: bool = True,
                 target_prior: str | None = None):
        self.fine_tuned, self.precision, self.batch_size = fine_tuned, precision, batch_size
        self.calibration = calibration
        self.shift = fine_tuned.prior_shift(target_prior).astype(np.float32) if target_prior else None  # checked now

    def __call__(self, texts: list[str]) -> tuple[np.ndarray, list[bool]]:
        ft, length = self.fine_tuned, self.fine_tuned.max_seq_length
        encodings = encode_examples(ft.tokenizer, [Example(t, None, None, i) for i, t in enumerate(texts)], length)
        at_limit = np.flatnonzero(row_lengths(encodings["input_ids"]) >= length)
        truncated = [False] * len(texts)
        for i in at_limit:  # exactly at the limit, or cut: only these are measured in full
            truncated[i] = len(ft.tokenizer(texts[i], truncation=False)["input_ids"]) > length
        logits = predict_logits(ft.model, ft.tokenizer, encodings, batch_size=self.batch_size, precision=self.precision)
        logits = ft.logits(logits, use_calibration=self.calibration)
        if self.shift is not None:
            logits = logits + self.shift[None, :]
        return ft.probabilities(logits), truncated


@dataclass
class _Waiting:
    texts: list[str]
    future: asyncio.Future
    since: float = field(default_factory=time.perf_counter)


class Batcher:
    """Queue of waiting requests and the task that runs them in batches."""

    def __init__(self, score, *, max_batch_size: int, max_wait_ms: float, observe=None, observe_model=None):
        self.score, self.max_batch_size, self.max_wait = score, max_batch_size, max_wait_ms / 1000
        self.observe = observe or (lambda batch_size, queue_seconds: None)
        self.observe_model = observe_model or (lambda seconds: None)
        self.queue: asyncio.Queue[_Waiting] = asyncio.Queue()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="weighted-bert-model")
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, texts: list[str]) -> tuple[np.ndarray, list[bool]]:
        waiting = _Waiting(texts, asyncio.get_running_loop().create_future())
        await self.queue.put(waiting)
        return await waiting.future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            count, deadline = len(batch[0].texts), batch[0].since + self.max_wait
            while count < self.max_batch_size:
                try:
                    more = self.queue.get_nowait() if self.queue.qsize() else await asyncio.wait_for(
                        self.queue.get(), max(0.0, deadline - time.perf_counter()))
                except (asyncio.TimeoutError, asyncio.QueueEmpty):
                    break
                batch.append(more)
                count += len(more.texts)
            started = time.perf_counter()
            for waiting in batch:
                self.observe(count, started - waiting.since)
            texts = [t for waiting in batch for t in waiting.texts]
            try:
                probabilities, truncated = await loop.run_in_executor(self.executor, self.score, texts)
                self.observe_model(time.perf_counter() - started)
            except Exception as err:  # every caller of the batch hears of it; the server keeps serving
                for waiting in batch:
                    if not waiting.future.done():
                        waiting.future.set_exception(err)
                continue
            start = 0
            for waiting in batch:
                end = start + len(waiting.texts)
                if not waiting.future.done():  # a caller that went away needs no answer
                    waiting.future.set_result((probabilities[start:end], truncated[start:end]))
                start = end
