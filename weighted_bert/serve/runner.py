"""Running the server: one process, or ``--workers N`` processes sharing one listening
socket (the kernel hands each connection to one of them), each with the model and an equal
share of the CPU threads, so that N processes do not each take every core.

``SIGTERM`` (and Ctrl-C) drains: ``/predict`` answers 503 to new requests, the requests in
flight finish, then the process exits 0. With workers, the parent passes the signal on and
exits when they have.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sys

from ..errors import UserError
from ..log import get_logger
from ..scoring_config import ServeConfig

log = get_logger(__name__)
# A batch of requests is sorted by length and run in pieces of this many texts, each padded
# to its own longest: one tensor of 60 random-length texts pads to the longest of all.
# Measured (benchmarks/serve.py, 1,500 lines, ONNX, 2 cores): 8: 409, 16: 402, 32: 377,
# 128 (one piece): 326 requests/s.
SUB_BATCH = 16


def _need_serving_packages() -> None:
    try:
        import fastapi  # noqa: F401
        import prometheus_client  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise UserError(f'serving needs {err.name}: pip install "weighted-bert[serve]"') from None


def serve(config: ServeConfig) -> int:
    """Serve until SIGTERM or Ctrl-C; returns the exit status."""
    _need_serving_packages()
    from ..classifier import Classifier, load_model

    fine_tuned = load_model(config.model, backend=config.backend,  # a bad folder stops before binding
                            precision=_precision(config))
    Classifier(fine_tuned, **config.window_overrides())  # so do window settings that do not fit the model
    sock = _bind(config)
    host, port = sock.getsockname()[:2]
    announce = (f"weighted-bert serving {fine_tuned.path} on http://{host}:{port} ({config.workers} worker"
                f"{'s' if config.workers > 1 else ''}; POST /predict, GET /health /info /metrics /docs)")
    if config.workers == 1:
        return _serve_here(config, sock, fine_tuned, ready=lambda: print(announce, flush=True))
    del fine_tuned  # each worker loads its own
    threads = max(1, (os.cpu_count() or 1) // config.workers)
    context = multiprocessing.get_context("spawn")
    ready = [context.Event() for _ in range(config.workers)]
    workers = [context.Process(target=_worker, args=(config, sock, threads, event)) for event in ready]
    for process in workers:
        process.start()

    def pass_on(signum, frame):
        for process in workers:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    while not all(event.is_set() for event in ready):  # every worker has its model: say where we are
        if not all(p.is_alive() for p in workers):
            pass_on(None, None)
            break
        ready[0].wait(0.1)
    else:
        print(announce, flush=True)
    for process in workers:
        process.join()
    return max((p.exitcode or 0) for p in workers)


def _bind(config: ServeConfig) -> socket.socket:
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as err:
        sock.close()
        raise UserError(f"cannot listen on {config.host}:{config.port} ({err.strerror})") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(config: ServeConfig, sock: socket.socket, threads: int, ready) -> None:
    from ..classifier import load_model

    if config.backend == "torch":  # an ONNX backend needs no torch (the light install has none)
        import torch

        torch.set_num_threads(threads)
    model = load_model(config.model, backend=config.backend, threads=threads, precision=_precision(config))
    sys.exit(_serve_here(config, sock, model, ready=ready.set))


def _precision(config: ServeConfig) -> str:
    if config.backend == "openvino":
        return "fp32" if config.precision == "auto" else config.precision  # bf16 when asked: near fp32, not equal
    if config.backend != "torch":
        return "fp32"  # ONNX Runtime runs the exported graph as it is
    if config.precision != "auto":
        return config.precision
    from ..speed import automatic_precision

    return automatic_precision(fp16=False)  # scoring has no loss scaling to make fp16 safe


def _serve_here(config: ServeConfig, sock: socket.socket, fine_tuned, *, ready) -> int:
    import uvicorn

    from ..classifier import Classifier
    from .app import Metrics, ServerState, create_app
    from .batcher import Batcher

    precision = _precision(config)
    classifier = Classifier(fine_tuned, precision=precision, batch_size=SUB_BATCH, calibration=config.calibration,
                            target_prior=config.target_prior, **config.window_overrides())

    def answer(texts):
        return classifier.answer(texts, measure_truncation=True)

    answer(["warm up"])  # the first call pays for lazy set-up; no request should
    metrics = Metrics()
    batcher = Batcher(answer, max_batch_size=config.max_batch_size, max_wait_ms=config.max_wait_ms,
                      observe=metrics.observe_batch, observe_model=metrics.observe_model)
    state = ServerState(config, fine_tuned, batcher, metrics, precision)
    calibration = fine_tuned.calibration
    state.info = {"model": str(fine_tuned.path), "labels": list(fine_tuned.label_map.labels),
                  "backend": config.backend, "precision": precision, "max_length": fine_tuned.max_seq_length,
                  "windows": classifier.plan.record(),
                  "calibration": None if calibration is None or not config.calibration else
                  {"objective": calibration.objective, "temperature": calibration.temperature,
                   "tau": calibration.tau, "per_class_biases": calibration.biases is not None,
                   "target_prior": calibration.target_log_prior is not None, "folded_into": calibration.folded_into,
                   "decision_rule": calibration.decision_rule, "answering_for_target_prior": config.target_prior},
                  "multi_label": fine_tuned.multi_label,
                  "thresholds": None if fine_tuned.thresholds is None else dict(zip(fine_tuned.label_map.labels,
                                                                                    fine_tuned.thresholds.values)),
                  "max_batch_size": config.max_batch_size, "max_wait_ms": config.max_wait_ms,
                  "max_inputs": config.max_inputs, "pid": os.getpid()}
    server = _draining_server(uvicorn.Config(create_app(state), log_level="warning", access_log=False), state)
    ready()  # the socket listens already: connections wait in its queue until the server takes them
    server.run(sockets=[sock])
    return 0


def _draining_server(config, state):
    """uvicorn's server, with SIGTERM/SIGINT draining instead of closing at once (and no
    re-raised signal afterwards, so the exit status is 0)."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig, frame):
            if state.draining and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C: stop now
            state.draining = True

        async def on_tick(self, counter: int) -> bool:
            done = await super().on_tick(counter)
            return done or (state.draining and state.in_flight == 0)

    return DrainingServer(config)
