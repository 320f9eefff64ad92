"""Speed benchmark: training, prediction and data preparation, side by side in one run.

    python benchmarks/throughput.py                 # about 10 minutes on 2 CPU cores
    python benchmarks/throughput.py --quick         # a smoke run: few steps, 20,000 lines

Training, the same model (the packaged MiniLM-L6), data (CLINC150-LT train, 3,251 lines),
weighted cross-entropy, global batch 32, learning rates (encoder 2e-4, new head 3e-2),
6% warmup, seed and number of optimizer steps (one epoch) for:

  (a) the seed's pipeline on the Trainer: every example padded to 128 tokens, fp32;
  (b) a tuned Trainer: dynamic padding, group_by_length, bf16 autocast where the CPU has
      native bf16 (else fp32);
  (c) `weighted-bert train` with its own defaults for everything that is not a setting above.

Examples/s and real (unpadded) tokens/s are timed from the first optimizer step's start to
the last one's end (no evaluation or saving inside). MFU = real tokens/s x model FLOPs per
token (weighted_bert.speed: 6 x non-embedding parameters + attention) / the matrix-multiply
peak measured here in the dtype used. Dev macro-F1 of each model is scored the same way
after training, so a speed-up cannot hide a quality loss.

Prediction, on the 4,500 CLINC150-LT test lines with model (c): transformers.pipeline at
batch 32 against our length-sorted PyTorch path (fp32 and bf16) and ONNX Runtime (fp32 and
int8), examples/s and accuracy. Data preparation: a generated 1,000,000-line training
file, read and tokenised the way `train` does, against the tokenizer alone on the same
lines (lines/s and peak RSS, each in a fresh process).

Writes benchmarks/results/throughput.md and throughput.csv.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)

from weighted_bert.data import read_dataset  # noqa: E402
from weighted_bert.demo import demo_data_dir, demo_model_dir  # noqa: E402
from weighted_bert.labels import build_label_map  # noqa: E402
from weighted_bert.losses import get_loss  # noqa: E402
from weighted_bert.metrics import full_metrics  # noqa: E402
from weighted_bert.model_folder import load_fine_tuned  # noqa: E402
from weighted_bert.prediction import encode_examples, predict_logits  # noqa: E402
from weighted_bert.speed import cpu_supports_bf16, matmul_peak_flops, model_flops_per_token  # noqa: E402
from weighted_bert.training import runner as training  # noqa: E402
from weighted_bert.training import trainer

# The budget settings this benchmark varies on purpose (tests/test_benchmarks.py): speed at a fixed
# budget, alike on both sides; no model's quality is measured
STUDIES = ("learning_rate", "head_learning_rate", "max_steps", "warmup_ratio", "max_grad_norm", "weight_decay")

BATCH, LR, HEAD_LR, WARMUP, SEED, MAX_LEN = 32, 2e-4, 3e-2, 0.06, 42, 128


class StepTimer(TrainerCallback):
    """Wall time from the first optimizer step's start to the last one's end."""

    def __init__(self):
        self.start = self.end = None

    def on_step_begin(self, args, state, control, **kwargs):
        if self.start is None:
            self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.end = time.perf_counter()


class HeadLRTrainer(Trainer):
    """The plain Trainer with weighted-bert's optimizer groups (head at its own rate), so
    that (a), (b) and (c) optimise identically and differ only in how fast they run."""

    def create_optimizer(self, *args, **kwargs):
        return trainer.head_groups(super().create_optimizer(*args, **kwargs), self.model, HEAD_LR)


def dev_macro_f1(model, tokenizer, dev, label_map) -> float:
    logits = predict_logits(model, tokenizer, encode_examples(tokenizer, dev.examples, MAX_LEN), batch_size=128)
    return full_metrics(label_map.encode(dev), logits.argmax(1), label_map.labels)["macro_f1"]


def trainer_run(name, padding, bf16, grouped, steps, model_dir, train, dev, label_map, out):
    """(a) or (b): the plain Trainer, pre-tokenised data, our loss and optimizer groups."""
    set_seed(SEED)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=len(label_map), id2label=label_map.id2label, label2id=label_map.label2id)
    encoded = tokenizer([e.text for e in train.examples], truncation=True, max_length=MAX_LEN)
    rows = [{**{k: v[i] for k, v in encoded.items()}, "labels": y} for i, y in enumerate(label_map.encode(train))]
    loss_fn = get_loss("weighted_ce", label_map.counts(train))
    collator = (DataCollatorWithPadding(tokenizer, padding="max_length", max_length=MAX_LEN) if padding == "max"
                else DataCollatorWithPadding(tokenizer))
    args = TrainingArguments(
        output_dir=str(out / name), per_device_train_batch_size=BATCH, learning_rate=LR, max_steps=steps,
        warmup_steps=round(WARMUP * steps), weight_decay=0.01, lr_scheduler_type="linear", max_grad_norm=1.0,
        seed=SEED, data_seed=SEED, bf16=bf16, use_cpu=bf16, save_strategy="no", eval_strategy="no",
        logging_steps=max(steps, 1), report_to="none", disable_tqdm=True,
        train_sampling_strategy="group_by_length" if grouped else "random")
    timer = StepTimer()
    trainer = HeadLRTrainer(model=model, args=args, train_dataset=rows, data_collator=collator,
                            processing_class=tokenizer, callbacks=[timer],
                            compute_loss_func=lambda outputs, labels, **_: loss_fn(outputs.logits, labels))
    trainer.train()
    model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    return timer.end - timer.start, model, dev_macro_f1(model, tokenizer, dev, label_map)


@contextlib.contextmanager
def timed_weighted_bert():
    """While open, every `weighted-bert train` run (``training.run``) carries a StepTimer,
    the callback that times (a) and (b): the same clock for all."""
    timer = StepTimer()

    class Timed(trainer.WeightedTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.add_callback(timer)

    real, trainer.WeightedTrainer = trainer.WeightedTrainer, Timed
    try:
        yield timer
    finally:
        trainer.WeightedTrainer = real


def weighted_bert_run(steps, model_dir, data, out):
    """(c): weighted-bert's own run(), timed with the same callback."""
    config = training.RunConfig(
        model=str(model_dir), train_file=str(data / "train_data.txt"), dev_file=str(data / "dev_data.txt"),
        do_predict=False, output_dir=str(out / "c"), loss="weighted_ce", batch_size=BATCH, learning_rate=LR,
        head_learning_rate=HEAD_LR, max_steps=steps, warmup_ratio=WARMUP, seed=SEED,
        max_seq_length=MAX_LEN, eval_batch_size=128, progress=False, overwrite_output_dir=True)
    with timed_weighted_bert() as timer:
        result = training.run(config)
    precision = trainer.mixed_precision(config.precision)
    return timer.end - timer.start, result.eval_metrics["macro_f1"], precision


def train_section(steps, out) -> list[dict]:
    data, model_dir = demo_data_dir(), demo_model_dir()
    train = read_dataset(data / "train_data.txt")
    dev = read_dataset(data / "dev_data.txt")
    label_map = build_label_map(train)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    lengths = np.array([len(ids) for ids in tokenizer([e.text for e in train.examples], truncation=True,
                                                      max_length=MAX_LEN)["input_ids"]])
    examples = min(steps * BATCH, len(train))
    epochs_exact = steps * BATCH >= len(train) and steps == math.ceil(len(train) / BATCH)
    tokens = int(lengths.sum()) if epochs_exact else int(lengths.mean() * examples)
    flops = model_flops_per_token(AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=150),
                                  float(lengths.mean()))
    bf16 = cpu_supports_bf16() or torch.cuda.is_available()
    peaks = {"fp32": matmul_peak_flops("float32", "cpu"), "bf16": matmul_peak_flops("bfloat16", "cpu")}
    rows = []
    runs = [("(a) seed-equivalent: pad to 128, fp32", "max", False, False),
            (f"(b) tuned Trainer: dynamic padding, group_by_length, {'bf16' if bf16 else 'fp32'}", "dynamic",
             bf16, True)]
    for name, padding, use_bf16, grouped in runs:
        seconds, _, f1 = trainer_run(name[:3].strip("()"), padding, use_bf16, grouped, steps, model_dir, train,
                                     dev, label_map, out)
        rows.append(_train_row(name, seconds, examples, tokens, flops, peaks["bf16" if use_bf16 else "fp32"],
                               "bf16" if use_bf16 else "fp32", f1))
        print(rows[-1], flush=True)
    seconds, f1, precision = weighted_bert_run(steps, model_dir, data, out)
    rows.append(_train_row(f"(c) weighted-bert train (defaults: {precision}, length grouping, fused AdamW)",
                           seconds, examples, tokens, flops, peaks[precision], precision, f1))
    print(rows[-1], flush=True)
    for row in rows:
        row["peak_gflops"] = round(peaks[row["dtype"]] / 1e9, 1)
    return rows


def _train_row(name, seconds, examples, tokens, flops, peak, dtype, f1):
    return {"run": name, "seconds": round(seconds, 2), "examples_per_s": round(examples / seconds, 1),
            "real_tokens_per_s": round(tokens / seconds, 1), "mfu": round(tokens / seconds * flops / peak, 4),
            "dtype": dtype, "dev_macro_f1": round(f1, 4)}


def predict_section(run_dir: Path) -> list[dict]:
    from transformers import pipeline

    from weighted_bert.export import OnnxClassifier, export_onnx, onnx_path

    test = read_dataset(demo_data_dir() / "test_data.txt")
    texts = [e.text for e in test.examples]
    fine_tuned = load_fine_tuned(run_dir)
    gold = np.array(fine_tuned.label_map.encode(test))
    rows = []

    classify = pipeline("text-classification", model=str(run_dir / "model"), device="cpu")
    classify(texts[:64], batch_size=32, truncation=True)  # warm up
    start = time.perf_counter()
    labels = [r["label"] for r in classify(texts, batch_size=32, truncation=True)]
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(np.array(labels) == np.array([e.label for e in test.examples])))
    rows.append({"backend": "transformers.pipeline, batch 32, fp32", "seconds": round(seconds, 2),
                 "examples_per_s": round(len(texts) / seconds, 1), "accuracy": round(accuracy, 4)})
    print(rows[-1], flush=True)

    export_onnx(fine_tuned, quantize="int8")
    onnx = OnnxClassifier(onnx_path(fine_tuned.path, "onnx"), len(fine_tuned.label_map))
    int8 = OnnxClassifier(onnx_path(fine_tuned.path, "onnx-int8"), len(fine_tuned.label_map))
    backends = [("weighted-bert predict (torch fp32), batch 64", fine_tuned.model, "fp32", 64),
                ("weighted-bert predict --precision bf16, batch 64", fine_tuned.model, "bf16", 64),
                ("weighted-bert predict --precision bf16, batch 128", fine_tuned.model, "bf16", 128),
                ("weighted-bert predict --backend onnx (fp32), batch 64", onnx, "fp32", 64),
                ("weighted-bert predict --backend onnx-int8, batch 64", int8, "fp32", 64),
                ("weighted-bert predict --backend onnx-int8, batch 128", int8, "fp32", 128)]
    for name, model, precision, batch in backends:
        encodings = encode_examples(fine_tuned.tokenizer, test.examples[:64], 64)
        predict_logits(model, fine_tuned.tokenizer, encodings, batch_size=batch, precision=precision)  # warm up
        start = time.perf_counter()
        encodings = encode_examples(fine_tuned.tokenizer, test.examples, fine_tuned.max_seq_length)
        logits = predict_logits(model, fine_tuned.tokenizer, encodings, batch_size=batch, precision=precision)
        seconds = time.perf_counter() - start
        rows.append({"backend": name, "seconds": round(seconds, 2), "examples_per_s": round(len(texts) / seconds, 1),
                     "accuracy": round(float(np.mean(logits.argmax(1) == gold)), 4)})
        print(rows[-1], flush=True)
    base = rows[0]["examples_per_s"]
    for row in rows:
        row["speed_vs_pipeline"] = round(row["examples_per_s"] / base, 2)
    return rows


PREP_OURS = """
import json, sys, time
from weighted_bert.data import read_dataset
from weighted_bert.labels import build_label_map
from weighted_bert.model import load_tokenizer, resolve_model_source
from weighted_bert.prediction import EncodedDataset, encode_examples
tokenizer = load_tokenizer(resolve_model_source(sys.argv[2]))
start = time.perf_counter()
data = read_dataset(sys.argv[1])
label_map = build_label_map(data)
dataset = EncodedDataset(encode_examples(tokenizer, data.examples, 128, progress=True), label_map.encode(data),
                         lines=[e.line for e in data.examples])
seconds = time.perf_counter() - start
PEAK
"""

PREP_TOKENIZER = """
import json, sys, time
from weighted_bert.model import load_tokenizer, resolve_model_source
tokenizer = load_tokenizer(resolve_model_source(sys.argv[2]))
start = time.perf_counter()
texts = [line.split("\\t", 1)[0] for line in open(sys.argv[1], encoding="utf-8").read().splitlines()]
n = 0
for i in range(0, len(texts), 20000):
    n += len(tokenizer(texts[i:i + 20000], truncation=True, max_length=128)["input_ids"])
seconds = time.perf_counter() - start
PEAK
"""


# VmHWM, not getrusage's ru_maxrss: the latter survives exec and would report this
# (parent) process's peak for the child.
PEAK = """
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"lines": LINES, "seconds": seconds, "peak_rss_mb": hwm / 1024}))
"""
PREP_OURS = PREP_OURS.replace("PEAK", PEAK.replace("LINES", "len(dataset)"))
PREP_TOKENIZER = PREP_TOKENIZER.replace("PEAK", PEAK.replace("LINES", "n"))


def prep_section(lines: int, out: Path) -> list[dict]:
    texts = [e.text for e in read_dataset(demo_data_dir() / "train_data.txt").examples]
    rng = random.Random(0)
    path = out / "million.txt"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(lines):
            f.write(f"{rng.choice(texts)} {rng.choice(texts)} {i}\tlabel{int(rng.paretovariate(1.2)) % 150}\n")
    rows = []
    for name, script in (("tokenizer alone (batches of 20,000)", PREP_TOKENIZER),
                         ("weighted-bert: read, check, label, tokenise to flat arrays", PREP_OURS)):
        done = subprocess.run([sys.executable, "-c", script, str(path), str(demo_model_dir())], check=True,
                              capture_output=True, text=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append({"preparation": name, "lines": result["lines"], "seconds": round(result["seconds"], 2),
                     "lines_per_s": round(result["lines"] / result["seconds"]),
                     "peak_rss_mb": round(result["peak_rss_mb"])})
        print(rows[-1], flush=True)
    rows[1]["share_of_tokenizer_speed"] = round(rows[1]["lines_per_s"] / rows[0]["lines_per_s"], 3)
    return rows


def table(rows: list[dict]) -> str:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row.get(k, "")) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (default: one epoch, 102)")
    parser.add_argument("--prep-lines", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="10 steps and 20,000 lines: checks the script runs")
    parser.add_argument("--results", default=str(HERE / "results"), help="folder for throughput.md/.csv")
    args = parser.parse_args(argv)
    train_lines = len(read_dataset(demo_data_dir() / "train_data.txt"))
    steps = 10 if args.quick else args.steps or math.ceil(train_lines / BATCH)
    prep_lines = 20_000 if args.quick else args.prep_lines
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        train_rows = train_section(steps, out)
        a, b, c = (row["examples_per_s"] for row in train_rows)
        predict_rows = predict_section(out / "c")
        prep_rows = prep_section(prep_lines, out)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    report = io.StringIO()
    report.write(f"# Throughput\n\n`python benchmarks/throughput.py{' --quick' if args.quick else ''}`; "
                 f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
                 f"{time.perf_counter() - started:.0f} s in all.\n\n")
    report.write(f"## Training: MiniLM-L6 on CLINC150-LT, {steps} optimizer steps of {BATCH}\n\n")
    report.write(table(train_rows) + "\n\n")
    report.write(f"Ratios of examples/s: c/a = {c / a:.2f}, c/b = {c / b:.2f}; "
                 f"dev macro-F1 c - b = {train_rows[2]['dev_macro_f1'] - train_rows[1]['dev_macro_f1']:+.4f}.\n\n")
    report.write("## Prediction: CLINC150-LT test (4,500 lines), model (c)\n\n" + table(predict_rows) + "\n\n")
    report.write(f"## Preparing a {prep_lines:,}-line training file\n\n" + table(prep_rows) + "\n")
    text = report.getvalue()
    print("\n" + text)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    (results / "throughput.md").write_text(text, encoding="utf-8")
    with open(results / "throughput.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        for section, rows in (("training", train_rows), ("prediction", predict_rows), ("preparation", prep_rows)):
            keys = list(dict.fromkeys(k for row in rows for k in row))
            writer.writerow(["section", *keys])
            writer.writerows([section, *(row.get(k, "") for k in keys)] for row in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
