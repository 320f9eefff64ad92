"""The job `weighted-bert train` does, written as a competent user writes it from
transformers' `run_classification.py`: the plain `Trainer`, dynamic padding, length-grouped
batches, bf16 autocast where the CPU has it, evaluation and a checkpoint each epoch, the best
dev macro-F1 checkpoint kept, the model saved, the test set predicted and written.

    python benchmarks/trainer_job.py --model DIR --data-dir DIR --output-dir DIR [--epochs 3]

Standalone (it imports nothing of weighted_bert), so `benchmarks/whole_job.py` can time it
as a whole process beside `weighted-bert train`. Writes OUTPUT/predictions.tsv and
OUTPUT/results.json (dev and test macro-F1 and accuracy of the kept model).
"""

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)

# The budget settings this benchmark varies on purpose (tests/test_benchmarks.py): a user's plain
# Trainer script, timed beside ours
STUDIES = ("epochs", "learning_rate", "warmup_ratio", "weight_decay")


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return [(row[0], row[1]) for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if row]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--eval-batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--precision", choices=("auto", "fp32"), default="auto",
                        help="auto: bf16 on a GPU that has it or a CPU that flags AVX512-BF16/AMX, as users write it")
    args = parser.parse_args()

    train, dev, test = (read(args.data_dir / f"{split}_data.txt") for split in ("train", "dev", "test"))
    labels = sorted({label for _, label in train})
    label2id = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(
        args.model, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id)

    def encode(rows):
        encoded = tokenizer([text for text, _ in rows], truncation=True, max_length=args.max_seq_length)
        return [{**{k: v[i] for k, v in encoded.items()}, "labels": label2id[label]}
                for i, (_, label) in enumerate(rows)]

    def compute_metrics(prediction):
        predicted = prediction.predictions.argmax(-1)
        return {"accuracy": accuracy_score(prediction.label_ids, predicted),
                "macro_f1": f1_score(prediction.label_ids, predicted, average="macro")}

    bf16 = args.precision == "auto" and (torch.cuda.is_bf16_supported() if torch.cuda.is_available() else any(
        flag in Path("/proc/cpuinfo").read_text().split() for flag in ("avx512_bf16", "amx_bf16")))
    training_args = TrainingArguments(
        output_dir=str(args.output_dir / "checkpoints"), per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.eval_batch_size, learning_rate=args.learning_rate,
        num_train_epochs=args.epochs, weight_decay=0.01, warmup_steps=0.1, seed=args.seed,
        bf16=bf16, use_cpu=bf16 and not torch.cuda.is_available(), train_sampling_strategy="group_by_length",
        eval_strategy="epoch", save_strategy="epoch", save_total_limit=1, load_best_model_at_end=True,
        metric_for_best_model="macro_f1", logging_steps=50, report_to="none", disable_tqdm=True)
    trainer = Trainer(model=model, args=training_args, train_dataset=encode(train), eval_dataset=encode(dev),
                      data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
                      compute_metrics=compute_metrics)
    trainer.train()
    trainer.save_model(str(args.output_dir / "model"))
    dev_metrics = trainer.evaluate()
    test_output = trainer.predict(encode(test))
    probabilities = torch.softmax(torch.from_numpy(test_output.predictions).float(), -1).numpy()
    with open(args.output_dir / "predictions.tsv", "w", encoding="utf-8") as f:
        for (text, _), p in zip(test, probabilities):
            f.write(f"{text}\t{labels[int(p.argmax())]}\t{p.max():.6f}\n")
    results = {"dev": {"macro_f1": dev_metrics["eval_macro_f1"], "accuracy": dev_metrics["eval_accuracy"]},
               "test": {"macro_f1": test_output.metrics["test_macro_f1"],
                        "accuracy": test_output.metrics["test_accuracy"]}}
    (args.output_dir / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(json.dumps(results))
    return 0 if np.isfinite(results["test"]["macro_f1"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
