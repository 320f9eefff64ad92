"""Does `torch.compile` repay its compile time on a training run? The break-even, measured.

    python benchmarks/compile_break_even.py [--steps 40]     # a few minutes on 2 CPU cores

The packaged MiniLM-L6 with a 150-class head, CLINC150-LT training batches of 32 in
length-grouped order (their lengths vary, as in `train`), fp32 AdamW (fused) steps with
gradient clipping: eager against `torch.compile(model, dynamic=True)`. Reported: seconds of
the first compiled steps beyond eager's (the compile cost, recompiles included), seconds a
step after warm-up for each, and the break-even number of steps (compile cost / time saved
a step; none when compiled steps are not faster). Writes benchmarks/results/compile.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import torch  # noqa: E402

STUDIES = ()  # the budget settings varied on purpose: none (tests/test_benchmarks.py)

DATA = HERE.parent.parent / "shared" / "data" / "clinc150_lt" / "train_data.txt"


def batches(tokenizer, steps: int):
    lines = [line.split("\t")[0] for line in DATA.read_text(encoding="utf-8").splitlines()]
    chunks = [sorted(lines[i:i + 256], key=len) for i in range(0, len(lines), 256)]  # mega-batches of 8
    ordered = [c[j:j + 32] for c in chunks for j in range(0, len(c), 32)]
    return [tokenizer(b, padding=True, return_tensors="pt") for b in ordered[:steps]]


def timed_steps(model, data, compiled: bool) -> list[float]:
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, fused=True)
    forward = torch.compile(model, dynamic=True) if compiled else model
    labels = torch.randint(0, 150, (32,))
    times = []
    for batch in data:
        start = time.perf_counter()
        logits = forward(**batch).logits
        loss = torch.nn.functional.cross_entropy(logits, labels[:logits.shape[0]])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> int:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from weighted_bert.demo import demo_model_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--results", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    tokenizer = AutoTokenizer.from_pretrained(demo_model_dir())
    data = batches(tokenizer, args.steps)
    rows = {}
    for compiled in (False, True):
        model = AutoModelForSequenceClassification.from_pretrained(demo_model_dir(), num_labels=150).train()
        try:
            rows[compiled] = timed_steps(model, data, compiled)
        except Exception as err:  # no C++ compiler, or inductor cannot build here: that is the answer
            rows[compiled] = None
            print(f"compiled run failed: {type(err).__name__}: {str(err).splitlines()[0][:200]}")
    warm = args.steps // 2
    eager = sum(rows[False][warm:]) / (args.steps - warm)
    lines = [f"# torch.compile break-even\n\n`python benchmarks/compile_break_even.py --steps {args.steps}`; "
             f"torch {torch.__version__}, {torch.get_num_threads()} threads, MiniLM-L6, CLINC150-LT batches of 32 "
             "in length-grouped order, fp32.\n", f"- eager: {eager:.3f} s a step after warm-up"]
    if rows[True] is None:
        lines.append("- compiled: failed to build here (see the run's output); `train` keeps eager mode")
    else:
        compiled = sum(rows[True][warm:]) / (args.steps - warm)
        cost = sum(rows[True][:warm]) - sum(rows[False][:warm])
        saved = eager - compiled
        lines += [f"- compiled (dynamic shapes): {compiled:.3f} s a step after warm-up; the first {warm} steps took "
                  f"{cost:.1f} s longer than eager's (compiling)",
                  f"- break-even: {cost / saved:.0f} steps" if saved > 0 else
                  "- break-even: never (compiled steps are not faster)"]
    text = "\n".join(lines) + "\n"
    Path(args.results, "compile.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
