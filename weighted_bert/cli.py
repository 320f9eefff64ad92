"""``weighted-bert``: a thin command line over the Python API.

Subcommands: ``train``, ``evaluate``, ``predict``, ``calibrate``, ``stats``, ``compare``,
``report``, ``import-tf``, ``export``, ``demo``. A user error (bad file,
bad flag value, unusable model folder) ends the program with one ``error:`` line and
exit status 2; set ``WEIGHTED_BERT_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from .data import Columns, DataFormatError, parse_dataset, read_dataset
from .export import ExportError
from .labels import LABEL_ORDERS
from .losses import available_losses
from .metrics import FEW_THRESHOLD, MANY_THRESHOLD
from .model import ModelSourceError
from .sampling import SAMPLINGS
from .training import PRECISIONS, RunConfig, RunError
from .weights import NORMALIZATIONS, SCHEMES

# CheckpointError (TensorFlow checkpoints) is a ValueError too.
USER_ERRORS = (DataFormatError, RunError, ModelSourceError, ExportError, FileNotFoundError, ValueError)


def _add_data_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--text-column", default="text", help="column/key of the text in TSV, CSV or JSONL files")
    group.add_argument("--text-pair-column", default=None,
                       help="column/key of the second text for sentence-pair tasks")
    group.add_argument("--label-column", default="label", help="column/key of the label")
    group.add_argument("--on-bad-line", choices=("error", "skip", "warn"), default="error",
                       help="a malformed line stops the run (error, the default) or is skipped and counted")


def _add_file_flags(p: argparse.ArgumentParser) -> None:
    data = p.add_argument_group("files")
    data.add_argument("--data-dir", help="folder with train_data.txt, dev_data.txt, test_data.txt (seed names) "
                      "or train/dev/test.{txt,tsv,csv,jsonl}")
    data.add_argument("--train", dest="train_file", help="training file (overrides --data-dir)")
    data.add_argument("--dev", dest="dev_file", help="dev file (overrides --data-dir)")
    data.add_argument("--test", dest="test_file", help="test file, labels optional (overrides --data-dir)")


def _add_budget_flags(p: argparse.ArgumentParser) -> None:
    """The training budget and optimiser settings (train and compare)."""
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--batch-size", type=int, default=32, help="training batch size per device (default 32)")
    opt.add_argument("--eval-batch-size", type=int, default=64, help="evaluation/prediction batch size (default 64)")
    opt.add_argument("--learning-rate", type=float, default=5e-5, help="peak AdamW learning rate (default 5e-5)")
    opt.add_argument("--head-learning-rate", type=float, default=None,
                     help="learning rate of the new classification head (default: --learning-rate); "
                     "a higher one helps with many classes")
    opt.add_argument("--epochs", type=float, default=3.0, help="training epochs (default 3)")
    opt.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps (overrides --epochs)")
    opt.add_argument("--gradient-accumulation-steps", type=int, default=1, help="batches per optimizer step")
    opt.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (default 0.01)")
    opt.add_argument("--max-seq-length", type=int, default=128, help="truncate inputs to this many tokens")
    opt.add_argument("--warmup-ratio", type=float, default=0.1,
                     help="fraction of steps with linear warmup (the seed's warmup_proportion)")
    opt.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping norm")
    opt.add_argument("--precision", choices=PRECISIONS, default="auto",
                     help="auto: bf16 on GPUs that have it, fp16 on older GPUs, bf16 autocast on CPUs with "
                     "AVX512-BF16/AMX, fp32 otherwise")
    opt.add_argument("--logging-steps", type=int, default=10, help="log the training loss every N steps")


def _add_train_parser(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a classifier, evaluate on dev, predict on test",
                       description="Fine-tune a BERT-family encoder with a (class-weighted) loss.")
    p.add_argument("--model", required=True,
                   help="Hugging Face model folder (or hub name); a `train` output folder to continue from it")
    p.add_argument("--output-dir", required=True, help="folder for the model and result files")
    _add_file_flags(p)
    _add_data_flags(p)
    steps = p.add_argument_group("what to run (the seed's do_train/do_eval/do_predict)")
    steps.add_argument("--do-train", action=argparse.BooleanOptionalAction, default=True,
                       help="train (default); --no-do-train evaluates/predicts with --model as is")
    steps.add_argument("--do-eval", action=argparse.BooleanOptionalAction, default=None,
                       help="evaluate on dev (default: when a dev file is found)")
    steps.add_argument("--do-predict", action=argparse.BooleanOptionalAction, default=None,
                       help="predict the test file (default: when a test file is found)")
    labels = p.add_argument_group("labels and loss")
    labels.add_argument("--labels", type=lambda s: [x for x in s.split(",")],
                        help="comma-separated label order (the columns of test_results.tsv)")
    labels.add_argument("--label-order", choices=LABEL_ORDERS, default="sorted",
                        help="order of labels read from training data, unless numeric or --labels (default: sorted)")
    labels.add_argument("--loss", choices=available_losses(), default="weighted_ce",
                        help="training loss (default: weighted_ce)")
    labels.add_argument("--class-weights", default=None,
                        help=f"weighting scheme: {', '.join(SCHEMES)}, or a JSON file label -> weight "
                        "(default: inverse, N / n_c, for weighted_ce; none for focal's alpha)")
    labels.add_argument("--weight-normalization", choices=NORMALIZATIONS, default="sample_mean",
                        help="sample_mean (default): average weight over training examples is 1, so "
                        "weighting does not change the loss scale; none: raw weights (the seed)")
    labels.add_argument("--loss-reduction", choices=("mean", "weighted_mean"), default="mean",
                        help="mean of w_y*CE over the batch (the seed, default), or sum w_y*CE / sum w_y")
    labels.add_argument("--class-weight-beta", type=float, default=0.9999,
                        help="beta of the effective_number scheme and of ldam's deferred re-weighting (default 0.9999)")
    labels.add_argument("--label-smoothing", type=float, default=0.0,
                        help="label smoothing for ce, weighted_ce, logit_adjusted, balanced_softmax (default 0)")
    labels.add_argument("--focal-gamma", type=float, default=2.0, help="focal: exponent of (1 - p) (default 2)")
    labels.add_argument("--dice-alpha", type=float, default=0.1,
                        help="dice: self-adjusting exponent of (1 - p) (default 0.1)")
    labels.add_argument("--dice-smoothing", type=float, default=1.0, help="dice: smoothing gamma (default 1)")
    labels.add_argument("--la-tau", type=float, default=1.0,
                        help="logit_adjusted: strength tau of logits + tau log(prior) (default 1)")
    labels.add_argument("--ldam-max-margin", type=float, default=0.5, help="ldam: largest class margin (default 0.5)")
    labels.add_argument("--ldam-scale", type=float, default=30.0, help="ldam: scale s of the cosine head (default 30)")
    labels.add_argument("--drw-start", type=float, default=None,
                        help="ldam: deferred re-weighting from this fraction of training on, e.g. 0.8 (default off)")
    labels.add_argument("--sampling", choices=SAMPLINGS, default="random",
                        help="random (default), class_balanced (each class equally likely) or sqrt "
                        "(class probability proportional to sqrt(n_c))")
    labels.add_argument("--length-grouping", action=argparse.BooleanOptionalAction, default=True,
                        help="with random sampling, batch examples of similar length so that little is padded "
                        "(default on)")
    _add_budget_flags(p)
    p.add_argument("--seed", type=int, default=42, help="random seed")
    run = p.add_argument_group("run")
    run.add_argument("--overwrite-output-dir", action="store_true",
                     help="allow writing over another run's results in --output-dir")
    run.add_argument("--keep-checkpoints", action="store_true",
                     help="keep the checkpoints folder after a finished run (it is removed by default)")
    run.add_argument("--save-steps", type=int, default=None,
                     help="write a resumable checkpoint (and score dev) every N optimizer steps "
                     "(default: each epoch)")
    run.add_argument("--resume", action="store_true",
                     help="resume from the last complete checkpoint in --output-dir, and fail if there is none "
                     "(rerunning the same command resumes anyway)")
    run.add_argument("--vocab-file", help="WordPiece vocab.txt, for a model without a tokenizer of its own "
                     "(a Google TensorFlow folder has one)")
    run.add_argument("--do-lower-case", action=argparse.BooleanOptionalAction, default=None,
                     help="lower-case with --vocab-file (default: yes, as Google's BERT)")
    run.add_argument("--bert-config-file", help="bert_config.json of a TensorFlow checkpoint not beside it")
    run.add_argument("--trust-remote-code", action="store_true",
                     help="allow model folders that ship their own Python code (off by default)")
    run.add_argument("--many-threshold", type=int, default=MANY_THRESHOLD,
                     help=f"classes with more training examples are many-shot (default {MANY_THRESHOLD})")
    run.add_argument("--few-threshold", type=int, default=FEW_THRESHOLD,
                     help=f"classes with fewer training examples are few-shot (default {FEW_THRESHOLD})")
    run.add_argument("--skip-nonfinite", action="store_true",
                     help="skip (and count) steps whose loss is NaN or infinite instead of stopping")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    _add_calibration_flag(run)
    p.set_defaults(func=_train)


def _train(args) -> int:
    from .training import run

    fields = {k: v for k, v in vars(args).items() if k in RunConfig.__dataclass_fields__}
    run(RunConfig(**fields))
    return 0


def _add_evaluate_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="score a fine-tuned model on a labelled file")
    p.add_argument("--model-dir", required=True, help="output folder of `train` (or its model/ subfolder)")
    p.add_argument("--data", required=True, help="labelled data file")
    p.add_argument("--output-dir", help="write eval_results.txt/.json and classification_report.txt here")
    p.add_argument("--batch-size", type=int, default=64)
    _add_backend_flags(p)
    _add_calibration_flag(p)
    _add_data_flags(p)
    p.set_defaults(func=_evaluate)


def _note(message: str) -> None:
    print(f"[weighted-bert] {message}", file=sys.stderr)


def _add_calibration_flag(p) -> None:
    p.add_argument("--no-calibration", dest="calibration", action="store_false",
                   help="ignore the model folder's calibration.json (from `weighted-bert calibrate`)")


def _add_calibrate_parser(sub) -> None:
    p = sub.add_parser("calibrate", help="fit post-hoc logit adjustment on a dev set to raise macro-F1",
                       description="Fit tau in logits - tau*log(prior) (and optionally per-class biases) on a "
                       "labelled dev file to maximise macro-F1; kept in the model folder only when the "
                       "cross-fitted gain is beyond noise (see weighted_bert/calibration.py).")
    p.add_argument("--model-dir", required=True, help="output folder of `train` (or its model/ subfolder)")
    p.add_argument("--data", required=True, help="labelled dev file (not the test set)")
    p.add_argument("--per-class-bias", action="store_true", help="also fit one bias per class")
    p.add_argument("--batch-size", type=int, default=64)
    _add_backend_flags(p)
    _add_data_flags(p)
    p.set_defaults(func=_calibrate)


def _calibrate(args) -> int:
    from .calibration import CALIBRATION_FILE, calibrate
    from .evaluation import run_split
    from .reports import write_json

    fine_tuned = _load(args)
    counts = fine_tuned.info.get("class_counts")
    if not counts:
        raise RunError(f"{fine_tuned.path}: no training class counts (weighted_bert.json); calibration needs the prior")
    dataset = read_dataset(args.data, labels="required", pair=fine_tuned.info.get("pair"), columns=_columns(args),
                           on_bad_line=args.on_bad_line)
    logits = run_split(fine_tuned.model, fine_tuned.tokenizer, dataset, fine_tuned.label_map,
                       max_seq_length=fine_tuned.info.get("max_seq_length", 512), batch_size=args.batch_size,
                       precision=args.precision)
    result = calibrate(logits, np.asarray(fine_tuned.label_map.encode(dataset)), counts,
                       per_class_bias=args.per_class_bias)
    print(f"dev macro-F1 {result.dev_macro_f1_before:.4f} -> {result.dev_macro_f1_after:.4f} with tau "
          f"{result.tau}{' and per-class biases' if result.biases else ''}; held-out gain "
          f"{result.held_out_gain:+.4f} (bootstrap 5th percentile {result.held_out_gain_p05:+.4f})")
    target = Path(fine_tuned.path) / CALIBRATION_FILE
    if result.accepted:
        write_json(target, result.to_dict())
        print(f"kept: wrote {target}; predict and evaluate apply it (--no-calibration to turn it off)")
    else:
        print("not kept: the gain is within noise (" + result.rule + "); nothing changed"
              + (f", {target} left as it was" if target.exists() else ""))
    return 0


def _load(args):
    from .model import load_fine_tuned

    fine_tuned = load_fine_tuned(args.model_dir)
    backend = getattr(args, "backend", "torch")
    if backend == "torch":
        return fine_tuned
    import dataclasses

    from .export import OnnxClassifier, onnx_path

    path = onnx_path(fine_tuned.path, backend)
    if not path.is_file():
        raise RunError(f"{path}: no such ONNX model; write it first with `weighted-bert export --model-dir "
                       f"{args.model_dir}{' --quantize int8' if backend == 'onnx-int8' else ''}`")
    return dataclasses.replace(fine_tuned, model=OnnxClassifier(path, len(fine_tuned.label_map)))


def _add_backend_flags(p) -> None:
    p.add_argument("--backend", choices=("torch", "onnx", "onnx-int8"), default="torch",
                   help="torch (default), or the ONNX model written by `weighted-bert export` (fp32 or int8), "
                   "run by ONNX Runtime")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="torch backend: fp32 (default) or bf16 autocast (faster where the hardware has bf16)")


def _columns(args) -> Columns:
    return Columns(args.text_column, args.text_pair_column, args.label_column)


def _evaluate(args) -> int:
    from .evaluation import metrics_from_logits, run_split, write_evaluation
    from .losses import get_loss
    from .training import saved_loss

    fine_tuned = _load(args)
    info = fine_tuned.info
    pair = fine_tuned.info.get("pair")
    dataset = read_dataset(args.data, labels="required", pair=pair, columns=_columns(args),
                           on_bad_line=args.on_bad_line)
    counts = info.get("class_counts")
    loss_name, options = saved_loss(info, fine_tuned.label_map)
    loss_fn = get_loss(loss_name, counts, **options) if counts else None
    logits = run_split(fine_tuned.model, fine_tuned.tokenizer, dataset, fine_tuned.label_map,
                       max_seq_length=info.get("max_seq_length", 512), batch_size=args.batch_size,
                       precision=args.precision)
    logits = fine_tuned.logits(logits, use_calibration=args.calibration, log=_note)
    if args.output_dir:
        metrics = write_evaluation(args.output_dir, logits, dataset, fine_tuned.label_map, loss_fn=loss_fn,
                                   train_counts=counts)
    else:
        metrics = metrics_from_logits(logits, fine_tuned.label_map.encode(dataset), loss_fn=loss_fn,
                                      train_counts=counts)
    for key, value in metrics.items():
        print(f"eval_{key} = {value}")
    return 0


def _add_predict_parser(sub) -> None:
    p = sub.add_parser("predict", help="label new text with a fine-tuned model")
    p.add_argument("--model-dir", required=True, help="output folder of `train` (or its model/ subfolder)")
    p.add_argument("--input", required=True, help="data file, or - for lines of text on standard input")
    p.add_argument("--output", required=True,
                   help="predictions TSV (text, predicted_label, probability[, gold_label]); - for standard output")
    p.add_argument("--probabilities", help="also write the seed's test_results.tsv (class probabilities) here")
    p.add_argument("--batch-size", type=int, default=64)
    _add_backend_flags(p)
    _add_calibration_flag(p)
    _add_data_flags(p)
    p.set_defaults(func=_predict)


def _predict(args) -> int:
    import tempfile

    from .evaluation import run_split
    from .prediction import softmax
    from .reports import write_predictions, write_test_results

    fine_tuned = _load(args)
    read = dict(labels="optional", pair=fine_tuned.info.get("pair"), columns=_columns(args),
                on_bad_line=args.on_bad_line)
    if args.input == "-":
        dataset = parse_dataset(sys.stdin.buffer.read(), "<stdin>", **read)
    else:
        dataset = read_dataset(args.input, **read)
    logits = run_split(fine_tuned.model, fine_tuned.tokenizer, dataset, fine_tuned.label_map,
                       max_seq_length=fine_tuned.info.get("max_seq_length", 512), batch_size=args.batch_size,
                       precision=args.precision)
    probabilities = softmax(fine_tuned.logits(logits, use_calibration=args.calibration, log=_note))
    if args.probabilities:
        write_test_results(args.probabilities, probabilities)
    if args.output == "-":
        with tempfile.TemporaryDirectory() as tmp:
            write_predictions(Path(tmp) / "p.tsv", dataset.examples, probabilities, fine_tuned.label_map.labels)
            sys.stdout.write((Path(tmp) / "p.tsv").read_text(encoding="utf-8"))
    else:
        write_predictions(args.output, dataset.examples, probabilities, fine_tuned.label_map.labels)
    return 0


def _add_import_tf_parser(sub) -> None:
    p = sub.add_parser("import-tf", help="convert a Google TensorFlow BERT checkpoint to a Hugging Face folder",
                       description="Read a Google BERT TensorFlow checkpoint (no TensorFlow needed) and write a "
                       "plain Hugging Face folder (safetensors, config, tokenizer) that later runs load directly.")
    p.add_argument("source", help="checkpoint folder (bert_config.json, vocab.txt, bert_model.ckpt.*), prefix, "
                   "or the seed's fine-tuned output folder")
    p.add_argument("dest", help="new folder to write")
    p.add_argument("--bert-config-file", help="bert_config.json when it is not beside the checkpoint")
    p.add_argument("--vocab-file", help="vocab.txt when it is not beside the checkpoint")
    p.add_argument("--do-lower-case", action=argparse.BooleanOptionalAction, default=True,
                   help="lower-case input (default yes; --no-do-lower-case for cased models)")
    p.add_argument("--labels", type=lambda s: s.split(","), help="class names of a fine-tuned checkpoint "
                   "(default: its label2id.pkl)")
    p.set_defaults(func=_import_tf)


def _import_tf(args) -> int:
    from .tf_import import import_tf

    dest = import_tf(args.source, args.dest, bert_config_file=args.bert_config_file, vocab_file=args.vocab_file,
                     do_lower_case=args.do_lower_case, labels=args.labels)
    print(dest)
    return 0


def _add_export_parser(sub) -> None:
    p = sub.add_parser("export", help="write an ONNX model (optionally int8) for fast CPU prediction",
                       description="Export a fine-tuned model to ONNX (checked against PyTorch before it is kept), "
                       "optionally with ONNX Runtime's dynamic int8 quantisation, into the model folder's onnx/; "
                       "`predict --backend onnx` or `--backend onnx-int8` then uses it.")
    p.add_argument("--model-dir", required=True, help="output folder of `train` (or its model/ subfolder)")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="onnx (the only format so far)")
    p.add_argument("--quantize", choices=("int8",), default=None, help="also write an int8 model")
    p.set_defaults(func=_export)


def _export(args) -> int:
    from .export import export_onnx
    from .model import load_fine_tuned

    for path in export_onnx(load_fine_tuned(args.model_dir), quantize=args.quantize):
        print(path)
    return 0


def _add_demo_parser(sub) -> None:
    p = sub.add_parser("demo", help="train the packaged MiniLM on CLINC150-LT with ce and weighted_ce")
    p.add_argument("--output-dir", default="demo_output", help="folder for both runs (default demo_output)")
    p.add_argument("--epochs", type=float, default=None, help="override the demo's epochs")
    p.add_argument("--max-steps", type=int, default=None, help="override: stop each run after N steps")
    p.add_argument("--overwrite-output-dir", action="store_true")
    p.set_defaults(func=_demo)


def _demo(args) -> int:
    from .demo import run_demo

    run_demo(args.output_dir, epochs=args.epochs, max_steps=args.max_steps,
             overwrite=args.overwrite_output_dir)
    return 0


def _add_report_parser(sub) -> None:
    p = sub.add_parser("report", help="redraw a run's pictures and report.html from its saved predictions")
    p.add_argument("run_dir", help="output folder of `train`")
    p.add_argument("--split", choices=("auto", "test", "dev"), default="auto",
                   help="predictions to report on (auto: test when it has labels, else dev)")
    p.add_argument("--many-threshold", type=int, default=None, help="default: the run's own")
    p.add_argument("--few-threshold", type=int, default=None, help="default: the run's own")
    p.set_defaults(func=_report)


def _report(args) -> int:
    from .run_report import build_report

    page = build_report(args.run_dir, split=args.split, many_threshold=args.many_threshold,
                        few_threshold=args.few_threshold)
    if page is None:
        raise RunError(f"{args.run_dir}: no labelled predictions (predictions.tsv with gold labels, or "
                       "eval_predictions.tsv) to report on")
    print(page)
    return 0


def _add_stats_parser(sub) -> None:
    p = sub.add_parser("stats", help="class counts, imbalance, lengths, duplicates and conflicts of a data set")
    p.add_argument("data", help="a data file, or a folder with train/dev/test files")
    p.add_argument("--model", help="tokenizer (model folder) for token-length percentiles; "
                   "without it lengths are whitespace words")
    p.add_argument("--output-dir", default=".", help="where stats.json and class_distribution.png go (default .)")
    p.add_argument("--many-threshold", type=int, default=MANY_THRESHOLD)
    p.add_argument("--few-threshold", type=int, default=FEW_THRESHOLD)
    p.add_argument("--text-column", default="text")
    p.add_argument("--text-pair-column", default=None)
    p.add_argument("--label-column", default="label")
    p.set_defaults(func=_stats)


def _stats(args) -> int:
    from .model import load_tokenizer
    from .stats import dataset_stats, format_stats, write_stats

    tokenizer = load_tokenizer(args.model) if args.model else None
    stats = dataset_stats(args.data, tokenizer=tokenizer, columns=_columns(args),
                          many_threshold=args.many_threshold, few_threshold=args.few_threshold)
    print(format_stats(stats))
    write_stats(stats, args.output_dir)
    print(f"wrote {Path(args.output_dir) / 'stats.json'}")
    return 0


def _add_compare_parser(sub) -> None:
    p = sub.add_parser("compare", help="several recipes, one budget and seed set, one leaderboard",
                       description="Run several training recipes with the same budget and seeds; "
                       "resumes an interrupted sweep; writes leaderboard.md/.csv/.png.")
    p.add_argument("--model", required=True, help="Hugging Face model folder (or hub name)")
    p.add_argument("--output-dir", required=True, help="one folder per recipe and seed, and the leaderboard")
    _add_file_flags(p)
    p.add_argument("--recipes", help="comma-separated LOSS[:CLASS_WEIGHTS[:NORMALIZATION]], "
                   "e.g. ce,weighted_ce:inverse,weighted_ce:balanced")
    p.add_argument("--config", help="JSON or YAML sweep file with recipes, seeds and settings")
    p.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=None,
                   help="comma-separated seeds (default 42, or the sweep file's)")
    _add_budget_flags(p)
    p.set_defaults(func=_compare)


def _compare(args) -> int:
    from .compare import load_sweep, parse_recipe, print_leaderboard, run_compare

    if bool(args.recipes) == bool(args.config):
        raise RunError("give the recipes with --recipes or --config (one of the two)")
    sweep = load_sweep(args.config) if args.config else {
        "recipes": dict(parse_recipe(r) for r in args.recipes.split(",")), "seeds": None, "settings": {}}
    budget = {k: v for k, v in vars(args).items() if k in RunConfig.__dataclass_fields__
              and k not in ("model", "output_dir", "seed")}
    settings = {**budget, **sweep["settings"]}
    seeds = args.seeds or sweep["seeds"] or [42]
    run_compare(model=args.model, output_dir=args.output_dir, recipes=sweep["recipes"], seeds=seeds,
                settings=settings, log=lambda m: print(m, file=sys.stderr, flush=True))
    print_leaderboard(Path(args.output_dir))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="weighted-bert", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train_parser(sub)
    _add_evaluate_parser(sub)
    _add_predict_parser(sub)
    _add_demo_parser(sub)
    _add_import_tf_parser(sub)
    _add_export_parser(sub)
    _add_calibrate_parser(sub)
    _add_report_parser(sub)
    _add_stats_parser(sub)
    _add_compare_parser(sub)
    return parser


def report_user_errors(func, *args) -> int:
    """Run ``func``; a user error becomes one ``error:`` line and exit status 2."""
    try:
        return func(*args)
    except USER_ERRORS as err:
        if os.environ.get("WEIGHTED_BERT_DEBUG"):
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return report_user_errors(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
