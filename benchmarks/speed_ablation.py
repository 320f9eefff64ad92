"""What each training speed default costs in quality: bf16 autocast and length grouping.

    python benchmarks/speed_ablation.py              # 3 seeds x 5 settings, about 10 minutes on 2 cores

`weighted-bert train` on CLINC150-LT with the packaged MiniLM, the budget of
benchmarks/throughput.py (one epoch, batch 32, encoder 2e-4, head 3e-2), with
precision fp32 or bf16, and length grouping off or on with mega-batches of 50 batches (the
Trainer's group_by_length) or 8 (ours); everything else at its default.
Reports examples/s (first step's start to last step's end) and dev macro-F1, mean and
standard deviation over seeds. Writes benchmarks/results/speed_ablation.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from throughput import BATCH, HEAD_LR, LR, MAX_LEN, WARMUP, table, timed_weighted_bert  # noqa: E402

from weighted_bert.data import read_dataset  # noqa: E402
from weighted_bert.demo import demo_data_dir, demo_model_dir  # noqa: E402
from weighted_bert.sampling import samplers as sampling  # noqa: E402
from weighted_bert.training import runner as training  # noqa: E402

# The budget settings this benchmark varies on purpose (tests/test_benchmarks.py): speed at a fixed
# budget, alike on both sides; no model's quality is measured
STUDIES = ("learning_rate", "head_learning_rate", "max_steps", "warmup_ratio")


def one_run(precision: str, factor: int | None, seed: int, steps: int, out: Path) -> tuple[float, float]:
    if factor:
        sampling.LENGTH_GROUP_FACTOR = factor
    data = demo_data_dir()
    with timed_weighted_bert() as timer:
        result = training.run(training.RunConfig(
            model=str(demo_model_dir()), train_file=str(data / "train_data.txt"), dev_file=str(data / "dev_data.txt"),
            do_predict=False, output_dir=str(out / f"{precision}-{factor}-{seed}"), batch_size=BATCH,
            learning_rate=LR, head_learning_rate=HEAD_LR, max_steps=steps, warmup_ratio=WARMUP, seed=seed,
            max_seq_length=MAX_LEN, eval_batch_size=128, progress=False, precision=precision,
            length_grouping=factor is not None))
    return steps * BATCH / (timer.end - timer.start), result.eval_metrics["macro_f1"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=None, help="default: one epoch (102)")
    args = parser.parse_args(argv)
    steps = args.steps or -(-len(read_dataset(demo_data_dir() / "train_data.txt")) // BATCH)
    rows, started = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        default = sampling.LENGTH_GROUP_FACTOR
        for precision, factor in (("fp32", None), ("fp32", default), ("bf16", None), ("bf16", 50),
                                  ("bf16", default)):
            speeds, f1s = zip(*(one_run(precision, factor, seed, steps, Path(tmp)) for seed in args.seeds))
            sampling.LENGTH_GROUP_FACTOR = default
            rows.append({"precision": precision, "length_grouping": f"mega-batches of {factor}" if factor else "off",
                         "examples_per_s": f"{np.mean(speeds):.1f} ± {np.std(speeds, ddof=1):.1f}",
                         "dev_macro_f1": f"{np.mean(f1s):.4f} ± {np.std(f1s, ddof=1):.4f}",
                         "per_seed_f1": " ".join(f"{f:.4f}" for f in f1s)})
            print(rows[-1], flush=True)
    text = (f"# Speed defaults against quality\n\n`python benchmarks/speed_ablation.py` (seeds "
            f"{' '.join(map(str, args.seeds))}; {steps} steps of {BATCH}, MiniLM-L6 on CLINC150-LT; "
            f"{time.perf_counter() - started:.0f} s in all). Mean ± sd over seeds.\n\n" + table(rows) + "\n")
    print(text)
    (HERE / "results" / "speed_ablation.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
