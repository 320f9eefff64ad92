"""Label a file of lines with `transformers.pipeline`, as a user would script it: the whole
process is what `benchmarks/whole_job.py` times beside `weighted-bert predict`.

    python benchmarks/pipeline_job.py MODEL_DIR INPUT OUTPUT [--batch-size 32]

Standalone (nothing of weighted_bert). INPUT: one text per line (a tab and anything after it
is ignored); OUTPUT: text, predicted label and its probability per line.
"""

import argparse

from transformers import pipeline

STUDIES = ()  # the budget settings varied on purpose: none (tests/test_benchmarks.py)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    with open(args.input, encoding="utf-8") as f:
        texts = [line.rstrip("\n").split("\t", 1)[0] for line in f]
    classify = pipeline("text-classification", model=args.model, device="cpu")
    with open(args.output, "w", encoding="utf-8") as f:
        for text, answer in zip(texts, classify(texts, batch_size=args.batch_size, truncation=True)):
            f.write(f"{text}\t{answer['label']}\t{answer['score']:.6f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
