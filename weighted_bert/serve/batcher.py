"""Dynamic batching: requests waiting at the same moment run as one batch.

The first request of a batch waits at most ``max_wait_ms`` for others to join, up to
``max_batch_size`` texts; the batch is answered on one worker thread (so the event loop keeps
answering health checks) by the model's :meth:`Classifier.answer
<weighted_bert.classifier.Classifier.answer>`, and each caller gets exactly its own rows
back, in its own order. A batch that fails is answered again request by request, so that
one caller's bad text fails only that caller.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..classifier import Answers


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

    async def submit(self, texts: list[str]) -> Answers:
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
                answers = await loop.run_in_executor(self.executor, self.score, texts)
                self.observe_model(time.perf_counter() - started)
            except Exception as err:
                if len(batch) == 1:  # the caller hears of it; the server keeps serving
                    _settle(batch[0], error=err)
                    continue
                for waiting in batch:  # whose text failed it? each request alone
                    try:
                        _settle(waiting, answers=await loop.run_in_executor(self.executor, self.score, waiting.texts))
                    except Exception as own:
                        _settle(waiting, error=own)
                continue
            start = 0
            for waiting in batch:
                end = start + len(waiting.texts)
                _settle(waiting, answers=Answers(answers.probabilities[start:end], answers.decided[start:end],
                                                 answers.labels[start:end], answers.truncated[start:end],
                                                 answers.windows[start:end]))
                start = end


def _settle(waiting: _Waiting, *, answers: Answers | None = None, error: Exception | None = None) -> None:
    if waiting.future.done():  # a caller that went away needs no answer
        return
    if error is not None:
        waiting.future.set_exception(error)
    else:
        waiting.future.set_result(answers)
