"""Export a fine-tuned classifier to ONNX, optionally int8, and predict with ONNX Runtime.

``weighted-bert export --model-dir RUN [--quantize int8]`` writes ``RUN/model/onnx/model.onnx``
(and ``model.int8.onnx``): the graph from ``torch.onnx.export`` (the torch.export-based
exporter) with batch and sequence length dynamic, checked against the PyTorch model on
sample inputs before it is kept. int8 is ONNX Runtime's dynamic quantisation (weights int8,
activations quantised per batch at run time) of the fp32 graph. ``predict --backend onnx``
(or ``onnx-int8``) runs it; the tokenizer and labels stay those of the model folder, and a
calibration is in the weights (folded by ``calibrate``): one that is not is refused. Needs the ``onnx`` extra: ``pip install "weighted-bert[onnx]"``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .errors import UserError, check_choice
from .log import get_logger

log = get_logger(__name__)

ONNX_DIR = "onnx"
FILES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
SAMPLE = ["a short one", "and a somewhat longer sentence to make the batch ragged", "x"]


class ExportError(UserError, RuntimeError):
    """An export or an ONNX model that cannot be used; the message says why."""


def _need_onnx(*, exporting: bool = True):
    try:
        import onnxruntime  # noqa: F401
        if exporting:
            import onnxscript  # noqa: F401
    except ImportError:
        raise ExportError('ONNX export needs onnx and onnxscript, and prediction onnxruntime: '
                          'pip install "weighted-bert[onnx]"') from None


def _logits_only(model):
    """``model`` as a module whose output is the logits tensor alone (what the graph returns)."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits

    return LogitsOnly()


def onnx_path(model_path, backend: str) -> Path:
    return Path(model_path) / ONNX_DIR / FILES[backend]


def export_onnx(fine_tuned, *, quantize: str | None = None, tolerance: float = 1e-4) -> list[Path]:
    """Write ``model.onnx`` (and ``model.int8.onnx`` with ``quantize="int8"``) into the
    model folder's ``onnx/``; each file is written under a temporary name and renamed.
    The fp32 graph must give the PyTorch logits within ``tolerance`` on sample inputs."""
    import torch

    _need_onnx()
    if quantize is not None:
        check_choice("quantize", quantize, ("int8",))
    calibration = fine_tuned.calibration
    if calibration is not None and calibration.decision_rule:
        log.warning(f"{Path(fine_tuned.path) / 'calibration.json'}: {calibration.decision_rule} is not part of the "
                    "exported graph (it gives the calibrated probabilities); weighted-bert's --backend onnx applies "
                    "it, other runtimes must apply it themselves")
    if calibration is not None and calibration.changes_logits and not calibration.folded_into:
        raise ExportError(f"{Path(fine_tuned.path) / 'calibration.json'}: the calibration is not folded into the "
                          f"weights ({calibration.not_folded_because or 'written by an earlier version'}), so the "
                          "exported model would answer without it; run `weighted-bert calibrate` again, or remove "
                          "the file to export the model uncalibrated")
    model, tokenizer = fine_tuned.model.eval().float(), fine_tuned.tokenizer
    names = [n for n in INPUT_NAMES if n in tokenizer.model_input_names]
    if names[:2] != ["input_ids", "attention_mask"]:
        raise ExportError(f"{fine_tuned.path}: the tokenizer's inputs {tokenizer.model_input_names} are not "
                          "input_ids and attention_mask (and token_type_ids); only such models are exported")
    sample = tokenizer(SAMPLE, padding=True, return_tensors="pt")
    tensors = tuple(sample[n] for n in names)
    folder = Path(fine_tuned.path) / ONNX_DIR
    folder.mkdir(exist_ok=True)
    target = folder / FILES["onnx"]
    partial = folder / (FILES["onnx"] + ".partial")
    longest = getattr(model.config, "max_position_embeddings", 512)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=longest)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter narrates every stage
        torch.onnx.export(_logits_only(model), tensors, str(partial), input_names=names, output_names=["logits"],
                          dynamic_shapes={name: {0: batch, 1: sequence} for name in names}, dynamo=True,
                          external_data=False, verbose=False)
    with torch.inference_mode():
        expected = model(**sample).logits.numpy()
    got = OnnxClassifier(partial, expected.shape[1]).logits({n: sample[n].numpy() for n in names})
    difference = float(np.abs(got - expected).max())
    if difference > tolerance:
        partial.unlink()
        raise ExportError(f"the ONNX graph's logits differ from PyTorch's by {difference:.2e} "
                          f"(more than {tolerance}); nothing was written")
    partial.replace(target)
    written = [target]
    if quantize == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8 = folder / FILES["onnx-int8"]
        partial = folder / (FILES["onnx-int8"] + ".partial")
        with _quiet_root_logger():  # its advice to pre-process is for convolutional models
            quantize_dynamic(str(target), str(partial), weight_type=QuantType.QInt8)
        partial.replace(int8)
        written.append(int8)
    return written


@contextlib.contextmanager
def _quiet_root_logger():
    """ONNX Runtime's quantiser logs through the root logger; silence it for the call only."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


class OnnxClassifier:
    """An ONNX Runtime session that :func:`weighted_bert.prediction.predict_logits` can use
    in place of the PyTorch model. Needs neither torch nor transformers: ``predict`` with an
    ONNX backend starts without them."""

    def __init__(self, path, num_labels: int, *, threads: int | None = None):
        _need_onnx(exporting=False)
        import os

        import onnxruntime as ort

        if not Path(path).is_file():
            raise ExportError(f"{path}: no such ONNX model; write it with `weighted-bert export`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _torch_threads() or (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.config = SimpleNamespace(num_labels=num_labels)

    def logits(self, batch: dict) -> np.ndarray:
        feed = {name: np.asarray(batch[name], dtype=np.int64) for name in self.input_names}
        return self.session.run(None, feed)[0].astype(np.float32)


def _torch_threads() -> int | None:
    """torch's thread count where torch is already loaded (serve workers set it); never imports it."""
    import sys

    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None
