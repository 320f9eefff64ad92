"""The whole job, timed from outside: `weighted-bert train` against the Trainer script doing
the same work, and `weighted-bert predict` against a `transformers.pipeline` script.

    python benchmarks/whole_job.py                    # about 35 minutes on 2 CPU cores
    python benchmarks/whole_job.py --pairs 1 --epochs 0.1 --predict-pairs 1 --predict-lines 100 \
        --bert-base-steps 2 --results /tmp                                           # a smoke run

Training (CLINC150-LT from ../shared/data/clinc150_lt, the packaged MiniLM-L6, 3 epochs of
batch 32 at --max-seq-length 128, learning rate 5e-5, evaluation on dev and a checkpoint
each epoch, the best dev macro-F1 kept, saved, the test set predicted): each process timed
whole, in `--pairs` pairs whose order alternates, one process at a time:

  * `weighted-bert train` with its defaults;
  * `benchmarks/trainer_job.py`, the Trainer recipe a competent user writes from
    `run_classification.py` (dynamic padding, group_by_length, bf16 where the CPU flags
    it, eval + save each epoch, best model kept, test predicted);
  * the same script with `--precision fp32`, to show what the precision choice alone gives.

Reported: wall seconds (mean and each), our speed-up over each, dev and test macro-F1 of
all, and our run's wall time by stage (run_summary.json `stages`, start-up being the time
from process start to the run's first stage).

Prediction (the first training pair's model): `weighted-bert predict` (torch, ONNX fp32,
ONNX int8, OpenVINO fp32 and bf16) against `benchmarks/pipeline_job.py`, whole processes, on 10
lines and on `--predict-lines` lines (the test set repeated); each backend's answers on the
held-out test lines against PyTorch fp32's; and in process, each backend's share of
the roofline: model FLOPs of the real tokens (2 x non-embedding parameters + attention, per
token) over the matmul peak measured here in the dtype it runs in (weighted_bert.speed).

A BERT-base-shaped model (12 layers, 768 wide, random, sequence length 128) trained by
`weighted-bert train` for `--bert-base-steps` steps: tokens/s and MFU from its log.

The page opens with the machine: its CPU, whether it multiplies bf16 natively, the fp32 and bf16
matrix-multiply peaks measured here, and the precision `--precision auto` picks on it; our
training's MFU (from its log, against the peak of the precision it ran in) sits under the
stage table.

Writes benchmarks/results/whole_job.md and whole_job.json (`--name`: another stem, to keep one
page per kind of CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

# The budget settings this benchmark varies on purpose (tests/test_benchmarks.py): speed at a fixed
# budget, alike on both sides; no model's quality is measured
STUDIES = ("epochs", "max_steps", "warmup_ratio")

DATA = ROOT.parent / "shared" / "data" / "clinc150_lt"
BACKENDS = (("torch", "fp32"), ("onnx", "fp32"), ("onnx-int8", "fp32"), ("openvino", "fp32"), ("openvino", "bf16"))
OURS = [shutil.which("weighted-bert") or sys.executable, *([] if shutil.which("weighted-bert") else
                                                           ["-m", "weighted_bert"])]


def timed(command: list[str], log: Path) -> float:
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}); see {log}")
    return seconds


def train_jobs(model: str, out: Path, pair: int, epochs: float) -> dict:
    ours = out / f"ours-{pair}"
    jobs = {
        "weighted-bert train (defaults)": [*OURS, "train", "--model", model, "--data-dir", str(DATA),
                                           "--output-dir", str(ours), "--no-progress", "--epochs", str(epochs)],
        "Trainer script (bf16 where flagged)": [sys.executable, str(HERE / "trainer_job.py"), "--model", model,
                                                "--data-dir", str(DATA), "--output-dir", str(out / f"trainer-{pair}"),
                                                "--epochs", str(epochs)],
        "Trainer script, fp32": [sys.executable, str(HERE / "trainer_job.py"), "--model", model, "--data-dir",
                                 str(DATA), "--output-dir", str(out / f"trainer32-{pair}"), "--precision", "fp32",
                                 "--epochs", str(epochs)],
    }
    results = {}
    names = list(jobs) if pair % 2 == 0 else list(reversed(jobs))
    for name in names:
        seconds = timed(jobs[name], out / f"{name.split()[0]}-{pair}-{len(results)}.log")
        if name.startswith("weighted-bert"):
            summary = json.loads((ours / "run_summary.json").read_text())
            scores = {"dev": summary["eval"]["macro_f1"], "test": summary["test"]["macro_f1"],
                      "stages": summary["stages"], **training_speed(ours)}
        else:
            folder = Path(jobs[name][jobs[name].index("--output-dir") + 1])
            found = json.loads((folder / "results.json").read_text())
            scores = {"dev": found["dev"]["macro_f1"], "test": found["test"]["macro_f1"]}
            shutil.rmtree(folder / "checkpoints", ignore_errors=True)
        results[name] = {"seconds": seconds, **scores}
        print(f"pair {pair}: {name}: {seconds:.1f} s, dev {scores['dev']:.4f}, test {scores['test']:.4f}", flush=True)
    return results


def training_speed(run: Path) -> dict:
    """Tokens/s and MFU of a run's training log (its first interval left out as warm-up)."""
    logged = [json.loads(line) for line in (run / "training_log.jsonl").read_text().splitlines()]
    speed = [e for e in logged if "mfu" in e]
    speed = speed[1:] or speed
    if not speed:  # a run too short to log (a smoke run)
        return {}
    return {"tokens_per_s": mean([e["tokens_per_second"] for e in speed]), "mfu": mean([e["mfu"] for e in speed])}


def machine() -> dict:
    """The CPU, whether it multiplies bf16 natively, its measured peaks and what `--precision auto` picks."""
    from weighted_bert.speed import automatic_precision, cpu_supports_bf16, peak_flops, remeasure_peak

    remeasure_peak("float32")  # the stored one may be from a busy moment (bf16: the best stored, as MFU uses)
    names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.startswith("model name")]
    return {"cpu": names[0] if names else "unknown", "cores": os.cpu_count(), "native_bf16": cpu_supports_bf16(),
            "peak_gflops": {name: round(peak_flops(dtype) / 1e9, 1) for name, dtype in (("fp32", "float32"),
                                                                                        ("bf16", "bfloat16"))},
            "auto_precision": automatic_precision(device="cpu")}


def predict_jobs(run: Path, inputs: dict[str, Path], out: Path, pairs: int) -> dict:
    model = str(run / "model")
    results: dict = {}
    for pair in range(pairs):
        jobs = {"pipeline script (batch 32)": lambda src, dst: [sys.executable, str(HERE / "pipeline_job.py"), model,
                                                                 str(src), str(dst)]}
        jobs["weighted-bert predict (the default: --backend auto)"] = (
            lambda src, dst: [*OURS, "predict", "--model", model, "--data", str(src), "--output", str(dst), "--quiet",
                              "--overwrite"])
        for backend, precision in BACKENDS:
            name = f"weighted-bert predict --backend {backend}" + (" --precision bf16" if precision == "bf16" else "")
            jobs[name] = (
                lambda src, dst, b=backend, p=precision: [*OURS, "predict", "--model", model, "--data", str(src),
                                                          "--output", str(dst), "--backend", b, "--precision", p,
                                                          "--quiet", "--overwrite"])
        names = list(jobs) if pair % 2 == 0 else list(reversed(jobs))
        for size, src in inputs.items():
            for name in names:
                seconds = timed(jobs[name](src, out / "predicted.tsv"), out / "predict.log")
                results.setdefault(size, {}).setdefault(name, []).append(seconds)
                print(f"predict pair {pair}, {size}: {name}: {seconds:.2f} s", flush=True)
    return results


def agreement(run: Path, texts: list[str]) -> list[dict]:
    """Each backend's answers on the held-out test lines against PyTorch fp32's: the share of
    equal top labels, the largest probability difference, and test accuracy."""
    from weighted_bert.classifier import Classifier

    gold = [line.split("\t")[1] for line in texts]
    texts = [line.split("\t")[0] for line in texts]
    reference = Classifier.load(run / "model", backend="torch").predict_proba(texts)
    rows = []
    for backend, precision in BACKENDS:
        classifier = Classifier.load(run / "model", backend=backend, precision=precision)
        probabilities = classifier.predict_proba(texts)
        labels = np.asarray(classifier.labels)
        rows.append({"backend": backend, "precision": precision,
                     "same_label": float(np.mean(probabilities.argmax(1) == reference.argmax(1))),
                     "max_probability_difference": float(np.abs(probabilities - reference).max()),
                     "accuracy": float(np.mean(labels[probabilities.argmax(1)] == np.asarray(gold)))})
    return rows


def roofline(run: Path) -> list[dict]:
    """In process: each backend's lines/s on the test set and its share of the roofline."""
    import torch

    from weighted_bert.data import read_dataset
    from weighted_bert.export import OnnxClassifier, onnx_path
    from weighted_bert.model_folder import load_fine_tuned
    from weighted_bert.prediction import encode_examples, predict_logits, row_lengths
    from weighted_bert.speed import non_embedding_parameters, peak_flops

    fine_tuned = load_fine_tuned(run)
    test = read_dataset(DATA / "test_data.txt")
    encodings = encode_examples(fine_tuned.tokenizer, test.examples, fine_tuned.max_seq_length)
    lengths = row_lengths(encodings["input_ids"]).astype(float)
    config = fine_tuned.model.config
    # forward FLOPs of the real tokens: a line of n tokens costs n * (2N + 4 * layers * hidden * n)
    flops = float(np.sum(lengths * (2 * non_embedding_parameters(fine_tuned.model)
                                    + 4 * config.num_hidden_layers * config.hidden_size * lengths)))
    gold = np.array(fine_tuned.label_map.encode(test))
    backends = [("torch fp32", fine_tuned.model, "fp32", "float32"),
                ("torch bf16", fine_tuned.model, "bf16", "bfloat16"),
                ("onnx fp32", OnnxClassifier(onnx_path(fine_tuned.path, "onnx"), len(fine_tuned.label_map)), "fp32",
                 "float32"),
                ("onnx int8", OnnxClassifier(onnx_path(fine_tuned.path, "onnx-int8"), len(fine_tuned.label_map)),
                 "fp32", "float32")]
    rows = []
    for name, model, precision, dtype in backends:
        for batch in (32, 64, 128):
            warm = {k: [v[i] for i in range(128)] for k, v in encodings.items()}
            predict_logits(model, fine_tuned.tokenizer, warm, batch_size=batch, precision=precision)  # warm up
            start = time.perf_counter()
            logits = predict_logits(model, fine_tuned.tokenizer, encodings, batch_size=batch, precision=precision)
            seconds = time.perf_counter() - start
            peak = peak_flops(dtype)
            rows.append({"backend": name, "batch": batch, "lines_per_s": round(len(lengths) / seconds, 1),
                         "share_of_roofline": round(flops / seconds / peak, 3),
                         "peak_gflops": round(peak / 1e9),
                         "accuracy": round(float(np.mean(logits.argmax(1) == gold)), 4),
                         "threads": torch.get_num_threads()})
            print(rows[-1], flush=True)
    return rows


def bert_base(out: Path, steps: int) -> dict:
    """`weighted-bert train` on a random BERT-base shape for ``steps`` steps: tokens/s and MFU from its log."""
    from gpu_throughput import make_model_and_data

    from weighted_bert.training import runner as training

    batch, seq_len = 16, 128
    model_dir, data = make_model_and_data(out / "bert-base", 12, 768, 12, seq_len, steps * batch)
    logging = max(1, steps // 3)
    result = training.run(training.RunConfig(
        model=str(model_dir), train_file=str(data), output_dir=str(out / "bert-base-run"), batch_size=batch,
        max_steps=steps, max_seq_length=seq_len, progress=False, do_eval=False, do_predict=False,
        logging_steps=logging, warmup_ratio=0.0))
    logged = [json.loads(line) for line in (Path(result.output_dir) / "training_log.jsonl").read_text().splitlines()]
    speed = [e for e in logged if "tokens_per_second" in e][1:] or [e for e in logged if "tokens_per_second" in e]
    settings = json.loads((Path(result.output_dir) / "run_summary.json").read_text())["settings"]
    from weighted_bert.training.trainer import mixed_precision

    return {"steps": steps, "batch": batch, "seq_len": seq_len, "precision": mixed_precision(settings["precision"]),
            "tokens_per_s": round(float(np.mean([e["tokens_per_second"] for e in speed])), 1),
            "mfu": round(float(np.mean([e["mfu"] for e in speed])), 4)}


def mean(values) -> float:
    return float(np.mean(values))


def report(train: list[dict], predict: dict | None, lines: dict, rows: list[dict] | None, base: dict | None,
           minutes: float, agreed: list[dict] | None = None, host: dict | None = None, command: str = "") -> str:
    """The results page; a section never measured into this results file (``--sections``) is left out."""
    names = list(train[0])
    ours = names[0]
    where = (f"{host['cpu']}, {host['cores']} cores; native bf16 (AVX512-BF16 or AMX): "
             f"{'yes' if host['native_bf16'] else 'no'}; measured matmul peaks fp32 {host['peak_gflops']['fp32']} and "
             f"bf16 {host['peak_gflops']['bf16']} GFLOP/s; `--precision auto` trains in {host['auto_precision']}"
             if host else f"{os.cpu_count()} cores")
    out = [f"# The whole job, timed from outside\n\n`{command or 'python benchmarks/whole_job.py'}` on this machine "
           f"({where}), {len(train)} pair(s) with alternating order; {minutes:.0f} min in all. "
           "CLINC150-LT, packaged MiniLM-L6, 3 epochs of 32 at length 128, eval + checkpoint each epoch, best "
           "dev macro-F1 kept, test predicted; ours at `train`'s defaults otherwise (its learning rates, the "
           "ONNX export at the end), the Trainer recipe at its own (lr 5e-5 for all).\n",
           "| job | wall s, mean | each | our speed-up | dev macro-F1 | test macro-F1 |",
           "|---|---:|---|---:|---:|---:|"]
    for name in names:
        seconds = [pair[name]["seconds"] for pair in train]
        ratio = mean([pair[name]["seconds"] / pair[ours]["seconds"] for pair in train])
        out.append(f"| {name} | {mean(seconds):.1f} | {' '.join(f'{s:.1f}' for s in seconds)} | {ratio:.2f}x | "
                   f"{mean([p[name]['dev'] for p in train]):.4f} | {mean([p[name]['test'] for p in train]):.4f} |")
    stages = {k: mean([p[ours]["stages"].get(k, 0.0) for p in train]) for k in train[0][ours]["stages"]}
    total = sum(stages.values())
    out += ["\nOur run's wall time by stage (mean over pairs, from run_summary.json):\n",
            "| stage | seconds | share |", "|---|---:|---:|"]
    out += [f"| {k} | {v:.1f} | {v / total:.0%} |" for k, v in stages.items()]
    if "mfu" in train[0][ours]:
        out += [f"\nOur training steps: {mean([p[ours]['tokens_per_s'] for p in train]):.0f} real tokens/s, MFU "
                f"{mean([p[ours]['mfu'] for p in train]):.1%} against the measured peak of the precision they ran in "
                "(the training log's, its first interval left out)."]
    if predict:
        out += ["\n## Prediction, whole processes\n", "| lines | job | wall s, mean | each | vs pipeline |",
                "|---:|---|---:|---|---:|"]
    for size, jobs in (predict or {}).items():
        pipeline_seconds = mean(next(iter(jobs.values())))
        for name, seconds in jobs.items():
            out.append(f"| {lines[size]:,} | {name} | {mean(seconds):.2f} | {' '.join(f'{s:.2f}' for s in seconds)} | "
                       f"{pipeline_seconds / mean(seconds):.2f}x |")
    if agreed:
        out += ["\n## Answers against PyTorch fp32's (the 4,500 held-out test lines)\n",
                "| backend | precision | same top label | largest probability difference | test accuracy |",
                "|---|---|---:|---:|---:|"]
        out += [f"| {r['backend']} | {r['precision']} | {r['same_label']:.2%} | "
                f"{r['max_probability_difference']:.1e} | {r['accuracy']:.4f} |" for r in agreed]
    if rows:
        out += ["\n## Prediction in process: share of the roofline (4,500 test lines)\n",
                "| backend | batch | lines/s | share of roofline | measured peak GFLOP/s | accuracy |",
                "|---|---:|---:|---:|---:|---:|"]
        out += [f"| {r['backend']} | {r['batch']} | {r['lines_per_s']} | {r['share_of_roofline']:.1%} | "
                f"{r['peak_gflops']} | {r['accuracy']} |" for r in rows]
        out += ["\nModel FLOPs of the real tokens (a line of n tokens: n x (2 x non-embedding parameters + 4 x layers "
                "x hidden x n)) per second over the matmul peak measured here in the dtype the backend runs in; int8 "
                "is set against the fp32 peak (no int8 matmul peak is measured), so its share can pass 100%."]
    if base:
        out += ["\n## BERT-base shape (12 x 768, random), `weighted-bert train`\n",
                f"{base['steps']} steps of {base['batch']} x {base['seq_len']} tokens, precision {base['precision']}: "
                f"{base['tokens_per_s']} tokens/s, MFU {base['mfu']:.1%} (against the measured {base['precision']} "
                "matmul peak; the first log interval left out as warm-up)."]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--predict-pairs", type=int, default=2)
    parser.add_argument("--predict-lines", type=int, default=45_000)
    parser.add_argument("--bert-base-steps", type=int, default=9)
    parser.add_argument("--results", default=str(HERE / "results"))
    parser.add_argument("--name", default="whole_job", help="the results files' stem (one page per kind of CPU)")
    parser.add_argument("--sections", default="train,predict,roofline,bert_base",
                        help="run only these; the others are kept from the results file (the first pair's model is "
                             "trained again when a prediction section runs without the training one)")
    args = parser.parse_args(argv)
    from weighted_bert.demo import demo_model_dir

    sections = set(args.sections.split(","))
    results = Path(args.results)
    page = results / f"{args.name}.md"
    kept = json.loads(page.with_suffix(".json").read_text()) if page.with_suffix(".json").is_file() else {}
    here = machine()
    if kept.get("machine", {}).get("cpu", here["cpu"]) != here["cpu"]:  # sections kept from another CPU
        raise SystemExit(f"{page} was measured on {kept['machine']['cpu']}, this is {here['cpu']}: "
                         "give --name a page of its own for this CPU")
    kept["machine"] = here
    model = demo_model_dir()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if "train" in sections:
            kept["train"] = [train_jobs(model, out, pair, args.epochs) for pair in range(args.pairs)]
            kept["lines"] = {"10": 10, "many": args.predict_lines}
        run = out / "ours-0"
        if sections & {"predict", "roofline"}:
            if not run.is_dir():
                timed([*OURS, "train", "--model", model, "--data-dir", str(DATA), "--output-dir", str(run),
                       "--no-progress", "--epochs", str(args.epochs)], out / "train.log")
            subprocess.run([*OURS, "export", "--model", str(run), "--quantize", "int8", "--quiet"], check=True)
        if "predict" in sections:
            test_lines = (DATA / "test_data.txt").read_text(encoding="utf-8").splitlines()
            inputs = {"10": out / "ten.txt", "many": out / "many.txt"}
            inputs["10"].write_text("\n".join(test_lines[:10]) + "\n", encoding="utf-8")
            many = (test_lines * (args.predict_lines // len(test_lines) + 1))[:args.predict_lines]
            inputs["many"].write_text("\n".join(many) + "\n", encoding="utf-8")
            kept["predict"] = predict_jobs(run, inputs, out, args.predict_pairs)
            kept["agreement"] = agreement(run, test_lines)
            kept["lines"] = {"10": 10, "many": args.predict_lines}
        if "roofline" in sections:
            kept["roofline"] = roofline(run)
        if "bert_base" in sections:
            kept["bert_base"] = bert_base(out, args.bert_base_steps) if args.bert_base_steps else None
    kept["minutes"] = kept.get("minutes", 0.0) + (time.perf_counter() - started) / 60
    text = report(kept["train"], kept.get("predict"), kept["lines"], kept.get("roofline"), kept.get("bert_base"),
                  kept["minutes"], kept.get("agreement"), kept["machine"],
                  " ".join(["python benchmarks/whole_job.py", *(argv if argv is not None else sys.argv[1:])]))
    page.write_text(text, encoding="utf-8")
    page.with_suffix(".json").write_text(json.dumps(kept, indent=1) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
