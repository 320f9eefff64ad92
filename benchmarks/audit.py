"""The label audit on CLINC150-LT with labels flipped on purpose: does it find them, and does
leaving out (or relabelling) what it flags win back what the noise cost?

    python benchmarks/audit.py [--seeds 0,1,2] [--rates 0.05,0.1] [--kinds uniform,confusable] [--jobs 2]

Data: ../shared/data/clinc150_lt (3,251 training rows, 150 intents, 100 down to 1 a class;
balanced dev and test). For each seed s and noise (rate, kind), round(rate * rows) training
rows chosen at random (seed s) get another label: ``uniform``, any other intent at random;
``confusable``, the intent a clean model (trained at seed s) confuses the row's intent with
most (the highest mean probability on that intent's dev rows). Dev and test stay clean.

Runs, all `weighted-bert` commands at the defaults (the packaged MiniLM-L6, the demo's
length 64 and scoring batch, ``--seed s``): ``train`` on the clean data; ``audit`` on the noisy
data (5 folds, as its default takes for this size); ``train`` on the noisy data; ``train
--exclude label_issues.tsv`` and ``train --relabel label_issues.tsv`` on the noisy data; and
``train`` on the noisy data less exactly the flipped rows (what a perfect exclusion wins back).
``--jobs`` commands run side by side, each with one thread (OMP_NUM_THREADS=1), so a minute
here is not a minute of one job alone.

Measured (rows by their given label's shot group; few-shot: under 20 training rows):
- AUROC of the score (lower = more likely wrong) for the flipped rows, overall and on the
  few-shot classes; precision of the top-k list at k = the number of flips; the flags'
  precision and recall, and how many correct rows of few-shot classes are flagged. For each
  of the audit's probabilities (trained, the default, and balanced) and flag rules
  (confident, the default, and cleanlab's), computed from the same out-of-fold
  probabilities.
- Test macro-F1 of the clean, noisy, excluded and relabelled runs; the share of the macro-F1
  the noise cost that excluding (relabelling) the flagged rows wins back, (excluded - noisy) /
  (clean - noisy), per seed and its mean with a 95% t interval over seeds; how many of the
  flagged flips the suggestion gives back their true label; the same share for the run
  without exactly the flips (a perfect exclusion).
- Minutes: the audit against one clean training run.

Writes benchmarks/results/audit.md and audit.json. Runs go to benchmarks/runs/audit/ and are
kept: a second call resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from weighted_bert.classifier import Classifier  # noqa: E402
from weighted_bert.data import read_dataset  # noqa: E402
from weighted_bert.demo import SETTINGS, demo_model_dir  # noqa: E402
from weighted_bert.files import atomic_write_text  # noqa: E402
from weighted_bert.label_audit import AuditSettings  # noqa: E402
from weighted_bert.label_audit.issues_file import read_label_issues  # noqa: E402
from weighted_bert.label_audit.rules import find_issues, label_quality  # noqa: E402
from weighted_bert.paired import seed_interval  # noqa: E402
from weighted_bert.settings import default_of  # noqa: E402
from weighted_bert.shot_groups import FEW_THRESHOLD  # noqa: E402

STUDIES = ()  # the defaults, nothing else
# Exclusion runs kept from earlier flags (folder excluded_<name>): what they flagged
REFERENCES = {"p05": "`--flag-probability 0.5`", "cleanlab": "cleanlab's flags (`--flag cleanlab`)",
              "given001": "a second clause in the flags (also a row whose given label has at most 0.001 while "
                          "another class has at least one half; measured, not kept)"}
# (probabilities, flag rule): the default first, then what it was chosen against
VARIANTS = (("trained", "confident"), ("trained", "cleanlab"), ("balanced", "cleanlab"), ("balanced", "confident"))
DATA = HERE.parent.parent / "shared" / "data" / "clinc150_lt"
RUNS = HERE / "runs" / "audit"
RESULTS = HERE / "results"
KINDS = ("uniform", "confusable")
ORACLE = "flips_left_out"  # trained without exactly the flipped rows


def read_rows(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines() if line]


def flips(labels: list[str], rate: float, kind: str, seed: int, confused: dict | None) -> dict[int, str]:
    """Row index -> the wrong label it gets. No class may vanish from training (dev and test
    keep it): where every row given a class was flipped away, its first such row keeps its
    label and another row, drawn from a further permutation, is flipped in its place (no
    class vanished at seed 0, so its flips are as before)."""
    rng = np.random.default_rng(seed)
    classes = sorted(set(labels))

    def wrong(i):
        return str(rng.choice([c for c in classes if c != labels[i]])) if kind == "uniform" else confused[labels[i]]

    chosen = rng.choice(len(labels), size=round(rate * len(labels)), replace=False)
    out = {i: wrong(i) for i in sorted(chosen.tolist())}
    spare = None
    while vanished := sorted(set(labels) - {out.get(i, y) for i, y in enumerate(labels)}):
        spare = spare if spare is not None else iter(rng.permutation(len(labels)).tolist())
        keep = min(i for i in out if labels[i] == vanished[0])
        del out[keep]
        candidate = next(i for i in spare if i not in out and i != keep and Counter(
            out.get(j, y) for j, y in enumerate(labels))[labels[i]] > 1)
        out[candidate] = wrong(candidate)
    return dict(sorted(out.items()))


def most_confused(run: Path) -> dict[str, str]:
    """Each intent -> the other intent the clean model gives its dev rows most probability."""
    clf = Classifier.load(run, batch_size=128)
    dev = read_dataset(DATA / "dev_data.txt")
    p = clf.predict_proba(dev)
    y = np.array([clf.labels.index(e.label) for e in dev.examples])
    out = {}
    for c, label in enumerate(clf.labels):
        mean = p[y == c].mean(axis=0)
        mean[c] = -1.0
        out[label] = clf.labels[int(mean.argmax())]
    return out


def noisy_data(folder: Path, flipped: dict[int, str]) -> None:
    if (folder / "train_data.txt").is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rows = read_rows(DATA / "train_data.txt")
    lines = [f"{t}\t{flipped.get(i, y)}" for i, (t, y) in enumerate(rows)]
    for name in ("dev_data.txt", "test_data.txt"):
        (folder / name).write_bytes((DATA / name).read_bytes())
    atomic_write_text(folder / "flips.json", json.dumps({str(i + 1): rows[i][1] for i in flipped}))  # line -> truth
    atomic_write_text(folder / "train_data.txt", "\n".join(lines) + "\n")


def without_flips(folder: Path) -> bool:
    """``folder/data_without_flips``: the noisy data with every flipped row left out (dev and test the same);
    False (nothing written) where that leaves a class without a row."""
    target = folder / "data_without_flips"
    flipped = {int(k) for k in json.loads((folder / "data" / "flips.json").read_text())}
    lines = (folder / "data" / "train_data.txt").read_text(encoding="utf-8").splitlines()
    kept = [line for i, line in enumerate(lines, start=1) if i not in flipped]
    if {y for _, y in read_rows(DATA / "train_data.txt")} - {line.split("\t")[1] for line in kept}:
        return False
    if not (target / "train_data.txt").is_file():
        target.mkdir(parents=True, exist_ok=True)
        for name in ("dev_data.txt", "test_data.txt"):
            (target / name).write_bytes((folder / "data" / name).read_bytes())
        atomic_write_text(target / "train_data.txt", "\n".join(kept) + "\n")
    return True


def settings(seed: int) -> list[str]:
    return [f"--{k.replace('_', '-')}={v}" for k, v in {**SETTINGS, "seed": seed}.items()] + ["--no-progress"]


class Jobs:
    """Commands side by side, ``jobs`` at a time, each with one thread."""

    def __init__(self, jobs: int):
        self.jobs, self.running = jobs, []

    def start(self, name: str, argv: list[str], log: Path) -> None:
        while len(self.running) >= self.jobs:
            self.wait_one()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} if self.jobs > 1 else None
        print(f"[audit benchmark] start {name}", flush=True)
        handle = log.open("w")
        process = subprocess.Popen([sys.executable, "-m", "weighted_bert", *argv], stdout=handle,
                                   stderr=subprocess.STDOUT, env=env)
        self.running.append((name, process, log))

    def wait_one(self) -> None:
        while True:
            for item in self.running:
                name, process, log = item
                if process.poll() is not None:
                    self.running.remove(item)
                    if process.returncode:
                        raise SystemExit(f"{name} failed; see {log}")
                    print(f"[audit benchmark] done {name}", flush=True)
                    return
            time.sleep(2)

    def wait_all(self) -> None:
        while self.running:
            self.wait_one()


def done(run: Path, marker: str = "run_summary.json") -> bool:
    return (run / marker).is_file()


def run_all(seeds, rates, kinds, jobs: Jobs) -> None:
    model = demo_model_dir()
    configs = [(rate, kind) for kind in kinds for rate in rates]
    for seed in seeds:
        clean = RUNS / f"seed{seed}" / "clean"
        if not done(clean):
            clean.parent.mkdir(parents=True, exist_ok=True)
            jobs.start(f"clean seed {seed}", ["train", "--model", model, "--data-dir", str(DATA), "--output-dir",
                                              str(clean), "--overwrite-output-dir", *settings(seed)],
                       clean.parent / "clean.log")
        labels = [y for _, y in read_rows(DATA / "train_data.txt")]
        pending = []
        for rate, kind in configs:
            name = f"{kind}_{rate:g}"
            folder = RUNS / f"seed{seed}" / name
            if kind == "confusable":  # flipped to what the clean model confuses: after it
                pending.append((rate, kind))
                continue
            start_config(folder, name, seed, flips(labels, rate, kind, seed, None), model, jobs)
        if pending:
            while not done(clean):
                jobs.wait_one()
            confused = most_confused(clean)
            for rate, kind in pending:
                name = f"{kind}_{rate:g}"
                start_config(RUNS / f"seed{seed}" / name, name, seed, flips(labels, rate, kind, seed, confused),
                             model, jobs)
    jobs.wait_all()
    folders = [(seed, RUNS / f"seed{seed}" / f"{kind}_{rate:g}") for seed in seeds for rate, kind in configs]
    for run, flag in (("excluded", "--exclude"), (ORACLE, None), ("relabelled", "--relabel")):  # audits in: each
        for seed, folder in folders:  # kind of run for every noise before the next kind
            if done(folder / run):
                continue
            data, acting = folder / "data", [flag, str(folder / "audit" / "label_issues.tsv")]
            if run == ORACLE:  # what leaving out exactly the flips would win back: a perfect exclusion
                if not without_flips(folder):
                    print(f"[audit benchmark] no {ORACLE} run for {folder.name} seed {seed}: every row of a class "
                          "was flipped away, so training without the flips would not know the class", flush=True)
                    continue
                data, acting = folder / "data_without_flips", []
            jobs.start(f"{run} {folder.name} seed {seed}",
                       ["train", "--model", model, "--data-dir", str(data), "--output-dir", str(folder / run),
                        "--overwrite-output-dir", *acting, *settings(seed)], folder / f"{run}.log")
    jobs.wait_all()


def start_config(folder: Path, name: str, seed: int, flipped: dict, model: str, jobs: Jobs) -> None:
    noisy_data(folder / "data", flipped)
    if not done(folder / "audit", "label_issues.tsv"):
        jobs.start(f"audit {name} seed {seed}", ["audit", "--model", model, "--data-dir", str(folder / "data"),
                                                 "--output-dir", str(folder / "audit"), *settings(seed)],
                   folder / "audit.log")
    if not done(folder / "noisy"):
        jobs.start(f"noisy {name} seed {seed}", ["train", "--model", model, "--data-dir", str(folder / "data"),
                                                 "--output-dir", str(folder / "noisy"), "--overwrite-output-dir",
                                                 *settings(seed)], folder / "noisy.log")


def auroc(wrong: np.ndarray, score: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if wrong.all() or not wrong.any():
        return None
    return float(roc_auc_score(wrong, -score))


def detection(folder: Path) -> dict:
    """How well each kind of probabilities finds the flips, from the audit's out-of-fold file."""
    saved = np.load(folder / "audit" / "folds" / "out_of_fold.npz")
    truth = {int(k): v for k, v in json.loads((folder / "data" / "flips.json").read_text()).items()}
    lines, y = saved["lines"], saved["labels"]
    wrong = np.array([int(line) in truth for line in lines])
    counts = np.bincount(y)
    scored = counts[y] >= 2
    few = counts[y] < FEW_THRESHOLD
    out = {"flips": int(wrong.sum()), "few_shot_rows": int(few.sum()), "few_shot_flips": int((wrong & few).sum())}
    for kind, rule in VARIANTS:
        p = saved[kind]
        score = np.full(len(y), np.inf)
        score[scored] = label_quality(y[scored], p[scored])
        issue = np.zeros(len(y), dtype=bool)
        issue[scored] = find_issues(y[scored], p[scored], rule, default_of(AuditSettings, "flag_probability"))
        k = int(wrong.sum())
        top = np.argsort(score, kind="stable")[:k]
        out[f"{kind}/{rule}"] = {
            "auroc": auroc(wrong[scored], score[scored]),
            "auroc_few_shot": auroc(wrong[scored & few], score[scored & few]),
            "precision_at_k": float(wrong[top].mean()),
            "flagged": int(issue.sum()), "flag_precision": float(wrong[issue].mean()) if issue.any() else None,
            "flag_recall": float(issue[wrong].mean()), "flagged_few_shot": int((issue & few).sum()),
            "correct_few_shot_flagged": int((issue & few & ~wrong).sum()),
            "flag_precision_few_shot": float(wrong[issue & few].mean()) if (issue & few).any() else None}
    return out


def suggestions(folder: Path) -> dict:
    """The flagged rows that are flips, and how many of them the audit suggests their true label for."""
    truth = {int(k): v for k, v in json.loads((folder / "data" / "flips.json").read_text()).items()}
    flagged = [r for r in read_label_issues(folder / "audit" / "label_issues.tsv") if r["issue"]]
    flips = [r for r in flagged if r["line"] in truth]
    return {"flagged": len(flagged), "flagged_flips": len(flips),
            "true_label_suggested": sum(r["suggested_label"] == truth[r["line"]] for r in flips)}


def test_f1(run: Path) -> float | None:
    path = run / "run_summary.json"
    return json.loads(path.read_text())["test"]["macro_f1"] if path.is_file() else None


def minutes(run: Path) -> float | None:
    path = run / "run_summary.json"
    return json.loads(path.read_text())["seconds"] / 60 if path.is_file() else None


def kept_results() -> dict:
    """The rows of the last call's audit.json, by noise and seed: a seed measured before whose runs are not on
    this disk (a fresh checkout keeps no runs) stays in the table."""
    path = RESULTS / "audit.json"
    if not path.is_file():
        return {}
    return {(name, row["seed"]): row for name, rows in json.loads(path.read_text())["results"].items() for row in rows}


def collect(seeds, rates, kinds) -> dict:
    results, kept = {}, kept_results()
    for rate in rates:
        for kind in kinds:
            name = f"{kind}_{rate:g}"
            per_seed = []
            for seed in seeds:
                folder = RUNS / f"seed{seed}" / name
                if not (folder / "audit" / "folds" / "out_of_fold.npz").is_file():
                    continue
                row = {"seed": seed, **detection(folder)}
                summary = json.loads((folder / "audit" / "audit.json").read_text())
                row["audit_minutes"] = summary["training_seconds"] / 60
                row["clean_minutes"] = minutes(RUNS / f"seed{seed}" / "clean")
                f1 = {k: test_f1(p) for k, p in (("clean", RUNS / f"seed{seed}" / "clean"), ("noisy", folder / "noisy"),
                                                 ("excluded", folder / "excluded"))}
                row["test_macro_f1"] = f1
                if None not in f1.values() and f1["clean"] > f1["noisy"]:
                    row["recovered"] = (f1["excluded"] - f1["noisy"]) / (f1["clean"] - f1["noisy"])
                relabelled = test_f1(folder / "relabelled")
                if relabelled is not None and "recovered" in row:
                    row["relabelled"] = relabelled
                    row["recovered_relabel"] = (relabelled - f1["noisy"]) / (f1["clean"] - f1["noisy"])
                row["suggestions"] = suggestions(folder)
                oracle = test_f1(folder / ORACLE)
                if oracle is not None and "recovered" in row:
                    row["flips_left_out"] = oracle
                    row["recovered_flips_left_out"] = (oracle - f1["noisy"]) / (f1["clean"] - f1["noisy"])
                for other in REFERENCES:  # earlier runs with other flags, where kept
                    for run in ("excluded", "relabelled"):
                        reference = test_f1(folder / f"{run}_{other}")
                        if reference is not None and None not in f1.values() and f1["clean"] > f1["noisy"]:
                            key = other if run == "excluded" else f"{other}_relabelled"
                            row[f"excluded_{key}"] = reference
                            row[f"recovered_{key}"] = (reference - f1["noisy"]) / (f1["clean"] - f1["noisy"])
                per_seed.append(row)
            results[name] = per_seed
    for (name, seed), row in kept.items():  # every seed measured before stays in the table
        if seed not in {r["seed"] for r in results.setdefault(name, [])}:
            results[name].append(row)
    return {name: sorted(rows, key=lambda r: r["seed"]) for name, rows in results.items()}


def fmt(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def mean_of(rows, *keys) -> float | None:
    values = []
    for r in rows:
        v = r
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        if v is not None:
            values.append(v)
    return float(np.mean(values)) if values else None


def render(results: dict, command: str, seconds: float) -> str:
    lines = ["# The label audit on CLINC150-LT with flipped labels", "",
             f"Measured by `{command}` on this 2-core CPU machine ({seconds / 60:.0f} min of this call; runs kept "
             "from earlier calls are read, not run again; a seed measured before whose runs are not on this disk is "
             "taken from the previous audit.json). See the module's docstring for what each figure is. "
             "Mean over the seeds each noise ran.", "",
             "## Finding the flips", "",
             "| noise | seeds | flips | probabilities, flag rule | AUROC | AUROC few-shot | precision@k | flagged | "
             "flag precision | flag recall | flagged few-shot (precision) | correct few-shot rows flagged |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for name, rows in results.items():
        if not rows:
            continue
        for kind, rule in VARIANTS:
            v = f"{kind}/{rule}"
            lines.append(
                f"| {name} | {len(rows)} | {mean_of(rows, 'flips'):.0f} | {kind}, {rule}"
                f"{' (default)' * (v == VARIANTS[0][0] + '/' + VARIANTS[0][1])} | {fmt(mean_of(rows, v, 'auroc'))} | "
                f"{fmt(mean_of(rows, v, 'auroc_few_shot'))} | {fmt(mean_of(rows, v, 'precision_at_k'))} | "
                f"{mean_of(rows, v, 'flagged'):.0f} | {fmt(mean_of(rows, v, 'flag_precision'))} | "
                f"{fmt(mean_of(rows, v, 'flag_recall'))} | {mean_of(rows, v, 'flagged_few_shot'):.0f} "
                f"({fmt(mean_of(rows, v, 'flag_precision_few_shot'))}) | "
                f"{mean_of(rows, v, 'correct_few_shot_flagged'):.0f} |")
    lines += ["", "## Leaving out the flagged rows (`train --exclude label_issues.tsv`, the default flags)", "",
              "| noise | seeds | test macro-F1 clean | noisy | excluded | share of the loss won back: mean (95% "
              "interval) | per seed | audit minutes | one clean training, minutes |",
              "|---|---:|---:|---:|---:|---|---|---:|---:|"]
    for name, rows in results.items():
        done_rows = [r for r in rows if None not in r["test_macro_f1"].values()]
        if not done_rows:
            continue
        shares = [r["recovered"] for r in done_rows if "recovered" in r]
        f1 = {k: fmt(mean_of(done_rows, "test_macro_f1", k)) for k in ("clean", "noisy", "excluded")}
        lines.append(
            f"| {name} | {len(done_rows)} | {f1['clean']} | {f1['noisy']} | {f1['excluded']}"
            f" | {seed_interval(shares, digits=2)} | {', '.join(f'{s:+.2f}' for s in shares)} | "
            f"{fmt(mean_of(done_rows, 'audit_minutes'), 1)} | {fmt(mean_of(done_rows, 'clean_minutes'), 1)} |")
    lines += ["", "## Relabelling the flagged rows (`train --relabel label_issues.tsv`, the default flags)", "",
              "The seeds whose relabelled run is in; the exclusion figures beside them are those seeds' own.", "",
              "| noise | seeds | flagged flips given their true label | test macro-F1 clean | noisy | excluded | "
              "relabelled | won back by excluding | by relabelling: mean (95% interval) | per seed | without exactly "
              "the flips (the seeds where no class vanishes) | won back by that |",
              "|---|---:|---|---:|---:|---:|---:|---:|---|---|---:|---:|"]
    for name, rows in results.items():
        done_rows = [r for r in rows if "recovered_relabel" in r]
        if not done_rows:
            continue
        shares = [r["recovered_relabel"] for r in done_rows]
        f1 = {k: fmt(mean_of(done_rows, "test_macro_f1", k)) for k in ("clean", "noisy", "excluded")}
        right = sum(r["suggestions"]["true_label_suggested"] for r in done_rows)
        flips = sum(r["suggestions"]["flagged_flips"] for r in done_rows)
        lines.append(
            f"| {name} | {len(done_rows)} | {right} of {flips} ({right / max(flips, 1):.1%}) | {f1['clean']} | "
            f"{f1['noisy']} | {f1['excluded']} | {fmt(mean_of(done_rows, 'relabelled'))} | "
            f"{mean_of(done_rows, 'recovered'):+.2f} | {seed_interval(shares, digits=2)} | "
            f"{', '.join(f'{s:+.2f}' for s in shares)} | {fmt(mean_of(done_rows, 'flips_left_out'))} | "
            f"{fmt(mean_of(done_rows, 'recovered_flips_left_out'), 2)} |")
    lines += ["", "Minutes: the folds' training and scoring seconds summed, against the clean run's; every job ran "
              "with one thread beside one to three others on the 2 cores, so they compare with each other, not with "
              "a run alone. An audit trains K = 5 models on 80% of the rows: about 4 trainings of the whole set."]
    for other, what in REFERENCES.items():
        for key, command in ((other, "`train --exclude`"), (f"{other}_relabelled", "`train --relabel`")):
            kept = [(name, r) for name, rows in results.items() for r in rows if f"recovered_{key}" in r]
            if kept:
                lines += ["", f"With {what} instead (runs kept from earlier calls): test macro-F1 of "
                          f"{command} and the share won back:", ""]
                lines += [f"- {name} seed {r['seed']}: {r[f'excluded_{key}']:.3f}, {r[f'recovered_{key}']:+.2f}"
                          for name, r in kept]
    return "\n".join(lines) + "\n"


def run_benchmark(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--rates", default="0.05,0.1")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--jobs", type=int, default=2, help="commands side by side (default 2)")
    parser.add_argument("--table-only", action="store_true", help="write the results from the runs there are")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rates = [float(r) for r in args.rates.split(",")]
    kinds = [k for k in args.kinds.split(",") if k]
    if set(kinds) - set(KINDS):
        parser.error(f"--kinds: expected some of {', '.join(KINDS)}")
    started = time.perf_counter()
    if not args.table_only:
        run_all(seeds, rates, kinds, Jobs(args.jobs))
    results = collect(seeds, rates, kinds)
    command = "python benchmarks/audit.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "audit.json", json.dumps({"command": command.strip(), "results": results},
                                                         indent=1) + "\n")
    atomic_write_text(RESULTS / "audit.md", render(results, command.strip(), time.perf_counter() - started))
    print((RESULTS / "audit.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(run_benchmark())
