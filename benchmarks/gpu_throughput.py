"""Training throughput of a BERT-base-sized model on a CUDA GPU (run by benchmarks/gpu.sh).

A randomly initialised BERT (12 layers, hidden 768, 12 heads, 30,522-token vocabulary:
BERT-base's shape, nothing downloaded) is fine-tuned on generated text of exactly
``--seq-len`` tokens a line (150 long-tailed classes), in bf16, side by side:

  (b) the Trainer tuned by hand: dynamic padding, group_by_length, bf16;
  (c) `weighted-bert train` with its defaults (precision auto = bf16 on such a GPU).

Both run the same weighted cross-entropy, global batch, learning rates and optimizer
steps. Reported: examples/s and tokens/s from the first step's start to the last step's
end, and MFU against the bf16 matrix-multiply peak measured on the card in the same run
(and against the data-sheet dense bf16 peak where the card is known). Writes
benchmarks/results/gpu.md. ``--smoke`` runs a 2-layer model for a few steps (any device).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from throughput import HeadLRTrainer, StepTimer, table, timed_weighted_bert  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    BertTokenizerFast,
    DataCollatorWithPadding,
    TrainingArguments,
)

from weighted_bert.data import read_dataset  # noqa: E402
from weighted_bert.labels import build_label_map  # noqa: E402
from weighted_bert.losses import get_loss  # noqa: E402
from weighted_bert.speed import matmul_peak_flops, model_flops_per_token  # noqa: E402
from weighted_bert.training import runner as training  # noqa: E402

# The budget settings this benchmark varies on purpose (tests/test_benchmarks.py): speed at a fixed
# budget, alike on both sides; no model's quality is measured
STUDIES = ("learning_rate", "head_learning_rate", "max_steps", "warmup_ratio")

# Dense bf16 tensor-core peaks from the vendors' data sheets, FLOP/s.
DATASHEET_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12, "L40S": 362e12}


def make_model_and_data(folder: Path, layers: int, hidden: int, heads: int, seq_len: int, lines: int,
                        classes: int = 150) -> tuple[Path, Path]:
    """A random BERT with a WordPiece vocabulary of whole words, and a training file whose
    lines tokenise to exactly ``seq_len`` tokens ([CLS] words [SEP])."""
    words = [f"w{i}" for i in range(30_522 - 5)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    model_dir = folder / "bert"
    model_dir.mkdir(parents=True)
    (model_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(str(model_dir / "vocab.txt"), do_lower_case=True).save_pretrained(model_dir)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=4 * hidden, max_position_embeddings=512)
    torch.manual_seed(0)
    BertForSequenceClassification(config).bert.save_pretrained(model_dir)  # the encoder; the head is new
    rng = random.Random(0)
    data = folder / "train_data.txt"
    with open(data, "w", encoding="utf-8") as f:
        for _ in range(lines):
            label = min(int(rng.paretovariate(1.0)), classes) - 1  # long-tailed classes 0..149
            f.write(" ".join(rng.choices(words, k=seq_len - 2)) + f"\tc{label}\n")
    return model_dir, data


def run_b(model_dir, data, steps, batch, seq_len, out) -> float:
    from transformers import AutoTokenizer

    train = read_dataset(data)
    label_map = build_label_map(train)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=len(label_map))
    encoded = tokenizer([e.text for e in train.examples], truncation=True, max_length=seq_len)
    rows = [{**{k: v[i] for k, v in encoded.items()}, "labels": y} for i, y in enumerate(label_map.encode(train))]
    loss_fn = get_loss("weighted_ce", label_map.counts(train))
    args = TrainingArguments(output_dir=str(out / "b"), per_device_train_batch_size=batch, learning_rate=1e-4,
                             max_steps=steps, warmup_steps=round(0.06 * steps), bf16=True,
                             use_cpu=not torch.cuda.is_available(), save_strategy="no",
                             eval_strategy="no", logging_steps=steps, report_to="none", disable_tqdm=True,
                             train_sampling_strategy="group_by_length", seed=42)
    timer = StepTimer()
    trainer = HeadLRTrainer(model=model, args=args, train_dataset=rows, data_collator=DataCollatorWithPadding(tokenizer),
                            processing_class=tokenizer, callbacks=[timer],
                            compute_loss_func=lambda outputs, labels, **_: loss_fn(outputs.logits, labels))
    trainer.train()
    return timer.end - timer.start


def run_c(model_dir, data, steps, batch, seq_len, out) -> float:
    with timed_weighted_bert() as timer:
        training.run(training.RunConfig(
            model=str(model_dir), train_file=str(data), output_dir=str(out / "c"), batch_size=batch,
            learning_rate=1e-4, head_learning_rate=3e-2, max_steps=steps, warmup_ratio=0.06,
            max_seq_length=seq_len, progress=False, do_eval=False, do_predict=False, logging_steps=steps))
    return timer.end - timer.start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--smoke", action="store_true", help="2 layers, 4 steps: checks the script on any device")
    parser.add_argument("--results", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    layers, hidden, heads = (2, 128, 2) if args.smoke else (12, 768, 12)
    steps = 4 if args.smoke else args.steps
    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        lines = steps * args.batch_size
        model_dir, data = make_model_and_data(out, layers, hidden, heads, args.seq_len, lines)
        model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=150)
        flops = model_flops_per_token(model, args.seq_len)
        del model
        peak = matmul_peak_flops("bfloat16", device, 8192 if device == "cuda" else 1024, 2.0)
        sheet = next((v for k, v in DATASHEET_BF16.items() if k in name), None)
        rows = []
        for label, runner in (("(b) tuned Trainer, bf16", run_b), ("(c) weighted-bert train, defaults", run_c)):
            seconds = runner(model_dir, data, steps, args.batch_size, args.seq_len, out)
            tokens = steps * args.batch_size * args.seq_len
            row = {"run": label, "seconds": round(seconds, 2),
                   "examples_per_s": round(steps * args.batch_size / seconds, 1),
                   "tokens_per_s": round(tokens / seconds), "mfu_vs_measured_peak": round(tokens / seconds * flops / peak, 4)}
            if sheet:
                row["mfu_vs_datasheet"] = round(tokens / seconds * flops / sheet, 4)
            rows.append(row)
            print(row, flush=True)
    text = (f"# GPU training throughput\n\n`bash benchmarks/gpu.sh`; {name}, torch {torch.__version__}; "
            f"BERT ({layers} layers, hidden {hidden}; 12 and 768 are BERT-base) randomly initialised, sequence length "
            f"{args.seq_len}, batch {args.batch_size}, {steps} steps, bf16. Measured bf16 matmul peak "
            f"{peak / 1e12:.1f} TFLOP/s" + (f" (data sheet {sheet / 1e12:.0f})" if sheet else "") +
            f"; {time.perf_counter() - started:.0f} s in all.\n\n" + table(rows) + "\n")
    print(text)
    if not args.smoke:
        Path(args.results).mkdir(parents=True, exist_ok=True)
        (Path(args.results) / "gpu.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
