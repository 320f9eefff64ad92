"""The HTTP application: ``POST /predict``, ``GET /health``, ``GET /info``, ``GET /metrics``
and the OpenAPI page (``/docs``).

``/predict`` takes ``{"inputs": "text"}`` or ``{"inputs": ["a", "b"]}`` with optional
``{"parameters": {"top_k": k}}`` and answers a list (one per input) of lists of
``{"label", "score"}``, highest score first, as Hugging Face's Inference API and Text
Embeddings Inference do. A text longer than the training length is cut there, as in
training, and the answer's ``X-Truncated-Inputs`` header lists the positions of such texts.
When the model's calibration has a decision rule (a cost matrix, abstaining), the answer's
``X-Decisions`` header is the JSON list of the decided label of each input (ASCII-escaped),
the label ``weighted-bert predict`` writes. A multi-label model's scores are one sigmoid
probability per label, and ``X-Decisions`` is the list of each input's label set (its
labels at or above their thresholds).
A bad request gets a 4xx answer with ``{"error": "..."}``; the server keeps serving.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from .. import __version__
from ..errors import UserError
from ..scoring_config import ServeConfig
from .batcher import Batcher


class Metrics:
    """The server's Prometheus metrics, in a registry of its own."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("weighted_bert_requests", "Requests to /predict by status code", ["status"],
                                registry=self.registry)
        self.texts = Counter("weighted_bert_texts", "Texts classified", registry=self.registry)
        self.truncated = Counter("weighted_bert_truncated_texts", "Texts cut at the training length",
                                 registry=self.registry)
        self.latency = Histogram("weighted_bert_request_seconds", "Time from request to answer",
                                 buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10), registry=self.registry)
        self.queue = Histogram("weighted_bert_queue_seconds", "Time a request waited for its batch",
                               buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1), registry=self.registry)
        self.batch = Histogram("weighted_bert_batch_texts", "Texts in each batch run",
                               buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512), registry=self.registry)
        self.model = Histogram("weighted_bert_batch_seconds", "Time the model took for each batch",
                               buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5), registry=self.registry)

    def observe_batch(self, batch_size: int, queue_seconds: float) -> None:
        self.batch.observe(batch_size)
        self.queue.observe(queue_seconds)

    def observe_model(self, seconds: float) -> None:
        self.model.observe(seconds)


@dataclass
class ServerState:
    config: ServeConfig
    fine_tuned: object
    batcher: Batcher
    metrics: Metrics
    precision: str
    draining: bool = False
    in_flight: int = 0
    info: dict = field(default_factory=dict)


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _parse(body: bytes, config: ServeConfig) -> tuple[list[str], int | None]:
    """(texts, top_k) from a request body, or a BadRequest saying what is wrong. One string
    is a list of one: the answer is a list of one list either way, as the Inference API's."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest(400, f"the body is not valid JSON ({err})") from None
    except RecursionError:
        raise BadRequest(400, "the body's JSON is nested too deeply") from None
    if not isinstance(data, dict) or "inputs" not in data:
        raise BadRequest(422, 'expected a JSON object with "inputs": a string or a list of strings')
    inputs = data["inputs"]
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list):
        raise BadRequest(422, f'"inputs" is {type(inputs).__name__}; expected a string or a list of strings')
    if not texts:
        raise BadRequest(422, '"inputs" is an empty list; expected at least one text')
    if len(texts) > config.max_inputs:
        raise BadRequest(413, f'"inputs" holds {len(texts)} texts; at most {config.max_inputs} a request '
                         "(--max-inputs)")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise BadRequest(422, f'"inputs"[{i}] is {type(text).__name__}; expected a string')
        if not text.strip():
            raise BadRequest(422, f'"inputs"[{i}] is {"empty" if not text else "only whitespace"}; expected a text '
                             "to classify")
    parameters = data.get("parameters")
    parameters = {} if parameters is None else parameters
    if not isinstance(parameters, dict):
        raise BadRequest(422, '"parameters" must be an object, e.g. {"top_k": 3}')
    top_k = parameters.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise BadRequest(422, f'"parameters.top_k" is {top_k!r}; expected a whole number >= 1')
    return texts, top_k


def create_app(state: ServerState) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app):
        state.batcher.start()
        yield
        await state.batcher.stop()

    app = FastAPI(title="weighted-bert", version=__version__, description=__doc__.split("\n\n")[1],
                  lifespan=lifespan)
    labels = list(state.fine_tuned.label_map.labels)
    calibration = state.fine_tuned.calibration
    rule = state.config.calibration and calibration is not None and calibration.decision_rule is not None
    says_decisions = state.fine_tuned.outputs.says_decisions(rule)

    @app.post("/predict", summary="Classify one text or a list of texts")
    async def predict(request: Request):
        started = time.perf_counter()
        state.in_flight += 1
        try:
            response = await _predict(request)
        finally:
            state.in_flight -= 1
        state.metrics.requests.labels(status=str(response.status_code)).inc()
        state.metrics.latency.observe(time.perf_counter() - started)
        return response

    async def _predict(request: Request) -> Response:
        if state.draining:
            return JSONResponse({"error": "the server is shutting down"}, status_code=503)
        limit = int(state.config.max_body_mb * 1_000_000)
        try:
            declared = int(request.headers.get("content-length") or 0)
            if declared > limit:
                raise BadRequest(413, f"the body is {declared} bytes; at most {limit} (--max-body-mb)")
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise BadRequest(413, f"the body is over {limit} bytes (--max-body-mb)")
            texts, top_k = _parse(body, state.config)
        except BadRequest as err:
            return JSONResponse({"error": str(err)}, status_code=err.status)
        try:
            said = await state.batcher.submit(texts)
        except UserError as err:  # a text of this request the model cannot take
            return JSONResponse({"error": f'"inputs": {err}'}, status_code=422)
        except Exception as err:  # the model failed on this request: the server keeps serving
            return JSONResponse({"error": f"the model failed: {type(err).__name__}: {err}"}, status_code=500)
        probabilities, truncated = said.probabilities, said.truncated
        k = len(labels) if top_k is None else min(top_k, len(labels))
        answers = []
        for row in probabilities:
            order = row.argsort()[::-1][:k]
            answers.append([{"label": labels[j], "score": float(row[j])} for j in order])
        state.metrics.texts.inc(len(texts))
        cut = [str(i) for i, t in enumerate(truncated) if t]
        state.metrics.truncated.inc(len(cut))
        headers = {"X-Truncated-Inputs": ",".join(cut)} if cut else {}
        if any(n > 1 for n in said.windows):  # each input's windows, where one was read in several
            headers["X-Windows"] = ",".join(str(n) for n in said.windows)
        if says_decisions:  # each input's label set (by the thresholds), or its label by the decision rule
            headers["X-Decisions"] = json.dumps(said.labels)
        return JSONResponse(answers, headers=headers)

    @app.get("/health", summary="200 while serving, 503 while shutting down")
    async def health():
        if state.draining:
            return JSONResponse({"status": "shutting down"}, status_code=503)
        return {"status": "ok"}

    @app.get("/info", summary="The model: labels, backend, maximum length, calibration")
    async def info():
        return state.info

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics():
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
