"""Export a fine-tuned classifier to ONNX, optionally int8, and predict with ONNX Runtime.

``train`` writes ``model/onnx/model.onnx`` at the end of a run (``--no-export-onnx``: not),
and ``weighted-bert export --model-dir RUN [--quantize int8]`` writes it (and
``model.int8.onnx``) for any model folder: the graph from ``torch.onnx.export`` (the
torch.export-based exporter) with batch and sequence length dynamic, checked against the
PyTorch model on sample inputs before it is kept, and ``onnx/export.json`` recording the weight
files it was exported from. int8 is ONNX Runtime's dynamic quantisation (weights int8,
activations quantised per batch at run time) of the fp32 graph. ``--backend auto`` (the
default of ``predict``, ``evaluate``, ``serve`` and ``weighted_bert.load``) answers through the
fp32 graph where it matches the folder's weights (:func:`resolve_backend`); ``--backend onnx``
(or ``onnx-int8``) asks for it. The tokenizer and labels stay those of the model folder, and a
calibration is in the weights (folded by ``calibrate``, which exports again): one that is not
is refused. Exporting needs ``onnx`` and ``onnxscript`` (in the ``train`` extra); answering
through an export needs only the base install.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .errors import UserError, check_choice
from .files import read_json_object, write_json
from .log import get_logger

log = get_logger(__name__)

ONNX_DIR = "onnx"
FILES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx", "openvino": "model.onnx"}  # OpenVINO reads fp32's
RECORD = "export.json"  # in onnx/: the weight files the graphs were exported from (see weights_fingerprint)
WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")
AUTO = "auto"  # the backend setting that picks the fastest exact backend the folder and machine have
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
                          'pip install "weighted-bert[train]"') from None


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
    write_json(folder / RECORD, {"weights": weights_fingerprint(fine_tuned.path, digest=True)})
    if quantize == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8 = folder / FILES["onnx-int8"]
        partial = folder / (FILES["onnx-int8"] + ".partial")
        with _quiet_root_logger():  # its advice to pre-process is for convolutional models
            quantize_dynamic(str(target), str(partial), weight_type=QuantType.QInt8)
        partial.replace(int8)
        written.append(int8)
    return written


def _sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256_of(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    """Once a process per file version: a command checks the export where its settings are made
    and again where the model loads."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_fingerprint(model_path, *, digest: bool) -> list[dict]:
    """Each weight file of the model folder: name, size, modification time and (``digest``) SHA-256."""
    found = []
    for path in sorted({p for pattern in WEIGHT_FILES for p in Path(model_path).glob(pattern)}):
        stat = path.stat()
        entry = {"file": path.name, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        if digest:
            entry["sha256"] = _sha256(path)
        found.append(entry)
    return found


def export_is_current(model_path) -> tuple[bool | None, str]:
    """Whether the folder's ONNX graphs were exported from its weights as they are now: ``(True,
    "")``, ``(False, why)`` (the weights changed since: a calibration folded in, training
    resumed), or ``(None, why)`` for an export that did not record its weights (an earlier
    version's). Sizes and times are compared first; a file whose time differs (a copy) is hashed."""
    record_path = Path(model_path) / ONNX_DIR / RECORD
    if not record_path.is_file():
        return None, f"{record_path.parent} does not record which weights it was exported from (an earlier version)"
    recorded = read_json_object(record_path, "the record `weighted-bert export` writes").get("weights")
    now = weights_fingerprint(model_path, digest=False)
    if not isinstance(recorded, list) or [(r.get("file"), r.get("bytes")) for r in recorded if isinstance(r, dict)] \
            != [(n["file"], n["bytes"]) for n in now]:
        return False, "the weight files changed since the export"
    for old, new in zip(recorded, now):
        if old.get("mtime_ns") != new["mtime_ns"] and _sha256(Path(model_path) / new["file"]) != old.get("sha256"):
            return False, f"{new['file']} changed since the export"
    return True, ""


def _model_folder(model) -> Path | None:
    """A ``train`` output folder's ``model/`` (or the model folder itself); None for anything else."""
    path = Path(str(model)).expanduser()
    for folder in (path, path / "model"):
        if (folder / "config.json").is_file():
            return folder
    return None


def _gpu_visible() -> bool:
    """An NVIDIA GPU this process may use, seen without importing torch."""
    import os

    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def resolve_backend(model, backend: str, precision: str = "fp32") -> str:
    """``backend`` as given, or for ``auto`` the fastest exact backend: ``onnx`` (ONNX Runtime,
    fp32: the PyTorch logits within 1e-4, checked at export; a start without torch) where the
    model folder holds an export of its current weights, ONNX Runtime is installed, no GPU is
    visible and bf16 was not asked for; else ``torch``."""
    if backend != AUTO:
        return backend
    import importlib.util

    folder = _model_folder(model)
    if precision == "bf16" or folder is None or not onnx_path(folder, "onnx").is_file() or _gpu_visible() \
            or importlib.util.find_spec("onnxruntime") is None:
        return "torch"
    current, why = export_is_current(folder)
    if not current:
        log.info(f"--backend auto: torch, not the ONNX export: {why}")
        return "torch"
    return "onnx"


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


class OpenVinoClassifier:
    """The fp32 ONNX export compiled by OpenVINO for the CPU, in ``precision``: ``fp32``, or
    ``bf16`` (OpenVINO's inference precision hint: bf16 matrix multiplies where the CPU has them,
    AMX or AVX512-BF16; answers near fp32's, not equal: `benchmarks/whole_job.py` measures how
    near). Used as :class:`OnnxClassifier` is; needs the ``openvino`` package."""

    def __init__(self, path, num_labels: int, *, threads: int | None = None, precision: str = "fp32"):
        import os

        try:
            import openvino
        except ImportError:
            raise ExportError('--backend openvino needs OpenVINO: pip install "weighted-bert[openvino]"') from None
        if not Path(path).is_file():
            raise ExportError(f"{path}: no such ONNX model; write it with `weighted-bert export`")
        threads = threads or _torch_threads() or (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        core = openvino.Core()
        self.session = core.compile_model(core.read_model(str(path)), "CPU", {
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32", "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY"})
        self.request = self.session.create_infer_request()
        self.input_names = [i.get_any_name() for i in self.session.inputs]
        self.config = SimpleNamespace(num_labels=num_labels)

    def logits(self, batch: dict) -> np.ndarray:
        feed = {name: np.asarray(batch[name], dtype=np.int64) for name in self.input_names}
        return np.array(self.request.infer(feed)[0], dtype=np.float32)  # a copy: the request reuses its buffer


def _torch_threads() -> int | None:
    """torch's thread count where torch is already loaded (serve workers set it); never imports it."""
    import sys

    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None
