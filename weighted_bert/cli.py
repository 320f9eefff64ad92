"""``weighted-bert``: a thin command line over the Python API.

Subcommands: ``train``, ``evaluate``, ``predict``, ``calibrate``, ``stats``, ``compare``,
``audit``, ``suggest``, ``report``, ``import-tf``, ``export``, ``serve``, ``push``, ``demo``.
The flags of ``train`` and ``compare`` (and the shared ones of ``evaluate``, ``predict``,
``calibrate``) are made from the settings schema in :mod:`weighted_bert.config`; a flag may
also be spelled with underscores, as in Hugging Face's scripts (``--num_train_epochs``). A user error (bad
file, bad setting, unusable model folder) ends the program with one ``error:`` line and
exit status 2; anything else is a bug and shows its traceback (``WEIGHTED_BERT_DEBUG=1``
shows it for user errors too). Heavy libraries are imported inside the commands, so
``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __doc__ as _package_doc
from . import __version__
from .cli_data import add_data_commands
from .config import RunConfig
from .cpu import share_the_cpu
from .errors import SettingError, UserError
from .log import set_verbosity
from .scoring_config import CalibrateConfig, ExportConfig, PredictConfig, ScoreConfig, ServeConfig
from .settings import add_arguments, build, check_value, default_of, given, read_settings, underscores_to_dashes

_COMMON = argparse.ArgumentParser(add_help=False)
_COMMON.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="print warnings and errors only")
_COMMON.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="print debugging notes too")


def _command(sub, name: str, func, **kwargs) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, parents=[_COMMON], formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
    parser.set_defaults(func=func)
    return parser


def run_config(args) -> RunConfig:
    """The run's settings: ``--config FILE`` if given, with the flags given on top."""
    flags = given(args, RunConfig)
    from_file = read_settings(RunConfig, args.config) if getattr(args, "config", None) else {}
    try:
        return build(RunConfig, {**from_file, **flags}, where=None)
    except SettingError as err:
        raise (err.at(args.config) if err.name in from_file and err.name not in flags else err) from None


def _train(args) -> int:
    from .training.runner import run
    from .training.stages import Stages, process_age

    stages = Stages()
    if args.started_for_it:  # interpreter, imports, flags: before the run
        stages.add("start-up", process_age() or 0.0)
    run(run_config(args), stages)
    return 0


def _score_config(args) -> ScoreConfig:
    return build(ScoreConfig, given(args, ScoreConfig))


def _evaluate(args) -> int:
    from .inference import evaluate

    config = _score_config(args)
    metrics = evaluate(config, output_dir=args.output_dir, overwrite=args.overwrite)
    for key, value in metrics.items():
        if isinstance(value, (int, float)):  # per-class rows and confusions are in the result files
            print(f"eval_{key} = {value}")
    if args.update_card:
        from .model_card import write_model_card

        card = write_model_card(config.model, metrics=metrics, split="evaluation", data_name=Path(config.data).name)
        print(f"wrote {card}")
    return 0


def _predict(args) -> int:
    from .inference import predict

    predict(build(PredictConfig, given(args, PredictConfig)))
    return 0


def _calibrate(args) -> int:
    from .inference import calibrate_command

    for line in calibrate_command(build(CalibrateConfig, given(args, CalibrateConfig))):
        print(line)
    return 0


def _import_tf(args) -> int:
    from .tf_convert import import_tf

    print(import_tf(args.source, args.dest, bert_config_file=args.bert_config_file, vocab_file=args.vocab_file,
                    do_lower_case=args.do_lower_case, labels=args.labels))
    return 0


def _export(args) -> int:
    from .export import export_onnx
    from .model_folder import load_fine_tuned

    config = build(ExportConfig, given(args, ExportConfig))
    fine_tuned = load_fine_tuned(config.model)
    for path in export_onnx(fine_tuned, quantize=config.quantize):
        print(path)
    if config.quantize == "int8":
        from .quantization_audit import audit_int8

        audit = audit_int8(fine_tuned, config)
        if audit is not None:
            print(audit.summary())
    return 0


def _serve(args) -> int:
    from .serve import serve

    return serve(build(ServeConfig, given(args, ServeConfig)))


def _push(args) -> int:
    from .push import push

    print(push(args.model_dir, args.repo_id, private=args.private))
    return 0


def _demo(args) -> int:
    from .demo import run_demo

    run_demo(args.output_dir, epochs=args.epochs, max_steps=args.max_steps, overwrite=args.overwrite_output_dir)
    return 0


def _report(args) -> int:
    from .errors import RunError
    from .tasks import build_report

    page = build_report(args.run_dir, split=args.split, many_threshold=args.many_threshold,
                        few_threshold=args.few_threshold)
    if page is None:
        raise RunError(f"{args.run_dir}: no labelled predictions (predictions.tsv with gold labels, or "
                       "eval_predictions.tsv) to report on")
    print(page)
    if (Path(args.run_dir) / "model" / "config.json").is_file():
        from .model_card import write_model_card

        print(write_model_card(Path(args.run_dir) / "model"))
    return 0


def _compare(args) -> int:
    from .compare import load_sweep, parse_recipe, print_leaderboard, run_compare

    if args.auto:
        return _auto(args)
    if args.budget_minutes is not None:
        raise UserError("--budget-minutes is the budget of --auto; give --auto too")
    if bool(args.recipes) == bool(args.config):
        raise UserError("give the recipes with --recipes or --config (one of the two), or --auto")
    sweep = load_sweep(args.config) if args.config else {
        "recipes": dict(parse_recipe(r) for r in args.recipes.split(",")), "seeds": None, "settings": {}}
    flags = {k: v for k, v in given(args, RunConfig).items() if k != "output_dir"}  # ours is the sweep's folder
    settings = {**sweep["settings"], **flags}  # flags given win over the file's settings
    model = settings.pop("model", None)
    if not model:
        raise UserError("compare needs the model: --model, or model in the sweep file's settings")
    run_compare(model=model, output_dir=args.output_dir, recipes=sweep["recipes"],
                seeds=args.seeds or sweep["seeds"] or [default_of(RunConfig, "seed")], settings=settings)
    print_leaderboard(Path(args.output_dir))
    return 0


def _auto(args) -> int:
    from .auto import auto_compare, markdown

    if args.recipes or args.config:
        raise UserError("--auto chooses the recipes itself; leave out --recipes and --config")
    if not args.budget_minutes or args.budget_minutes <= 0:
        raise UserError("--auto needs --budget-minutes, a time budget above 0")
    settings = {k: v for k, v in given(args, RunConfig).items() if k != "output_dir"}
    model = settings.pop("model", None)
    if not model:
        raise UserError("compare --auto needs the model: --model")
    summary = auto_compare(model=model, output_dir=args.output_dir, settings=settings,
                           budget_minutes=args.budget_minutes, seed=(args.seeds or [default_of(RunConfig, "seed")])[0])
    print(markdown(summary))
    return 0


def _seeds(text: str) -> list[int]:
    return [check_value(RunConfig, "seed", s) for s in text.split(",")]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="weighted-bert", description=_package_doc.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"weighted-bert {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(sub, "train", _train, help="fine-tune a classifier, evaluate on dev, predict on test",
                 description="Fine-tune a BERT-family encoder with a (class-weighted) loss. Every setting can "
                 "also come from --config; flags given on the command line win over the file.")
    p.add_argument("--config", help="JSON or YAML file of settings (names as the flags, with _ or -)")
    add_arguments(p, RunConfig)

    for name, func, help_text, labelled in (
            ("evaluate", _evaluate, "score a fine-tuned model on a labelled file", True),
            ("predict", _predict, "label new text with a fine-tuned model", False),
            ("calibrate", _calibrate, "fit temperature, decisions and abstaining on a labelled dev file", True)):
        p = _command(sub, name, func, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        if name == "calibrate":  # it fits on the raw logits: --no-calibration would do nothing
            add_arguments(p, CalibrateConfig, exclude=("calibration",))
        else:
            add_arguments(p, PredictConfig if name == "predict" else ScoreConfig)
        if name == "evaluate":
            p.add_argument("--output-dir", help="write eval_results.txt/.json and classification_report.txt here")
            p.add_argument("--overwrite", action="store_true", help="with --output-dir: replace those files when "
                           "the folder has them (a training run's dev results, say)")
            p.add_argument("--update-card", action="store_true", help="rewrite the model card (README.md in the "
                           "model folder) with these results")
        elif name == "predict":
            p.description += (" The input is read, scored and written a chunk at a time (--chunk-rows), so memory "
                              "does not grow with it; --shard I/N splits it among N tasks, --resume continues an "
                              "interrupted run. Inputs: the training formats, JSONL and Parquet.")
        else:
            p.description = ("Fit on a labelled dev file: a temperature (probabilities that say how often the model "
                             "is right), a decision for --objective (a logit shift, a cost rule or a class bias; "
                             "kept only when its cross-fitted gain is beyond noise) and, when asked, a threshold to "
                             "abstain. Saved in the model folder, folded into its weights where exact; see "
                             "weighted_bert/calibration/.")

    p = _command(sub, "demo", _demo,
                 help="train the packaged MiniLM on CLINC150-LT: the seed's method against the defaults")
    p.add_argument("--output-dir", default="demo_output", help="folder for both runs (default demo_output)")
    p.add_argument("--epochs", type=float, default=None, help="override the demo's epochs")
    p.add_argument("--max-steps", type=int, default=None, help="override: stop each run after N steps")
    p.add_argument("--overwrite-output-dir", action="store_true")

    p = _command(sub, "import-tf", _import_tf, help="convert a Google TensorFlow BERT checkpoint to a Hugging "
                 "Face folder", description="Read a Google BERT TensorFlow checkpoint (no TensorFlow needed) and "
                 "write a plain Hugging Face folder (safetensors, config, tokenizer) that later runs load directly.")
    p.add_argument("source", help="checkpoint folder (bert_config.json, vocab.txt, bert_model.ckpt.*), prefix, "
                   "or the seed's fine-tuned output folder")
    p.add_argument("dest", help="new folder to write")
    p.add_argument("--bert-config-file", help="bert_config.json when it is not beside the checkpoint")
    p.add_argument("--vocab-file", help="vocab.txt when it is not beside the checkpoint")
    p.add_argument("--do-lower-case", action=argparse.BooleanOptionalAction, default=True,
                   help="lower-case input (default yes; --no-do-lower-case for cased models)")
    p.add_argument("--labels", type=lambda s: s.split(","), help="class names of a fine-tuned checkpoint "
                   "(default: its label2id.pkl)")

    p = _command(sub, "export", _export, help="write an ONNX model (optionally int8) for fast CPU prediction",
                 description="Export a fine-tuned model to ONNX (checked against PyTorch before it is kept), "
                 "optionally with ONNX Runtime's dynamic int8 quantisation, into the model folder's onnx/; "
                 "`predict --backend onnx` or `--backend onnx-int8` then uses it. The int8 model is scored against "
                 "the fp32 one on a labelled file (the run's dev file unless --check-data names one): the change in "
                 "macro-F1, few-shot accuracy and the classes that lose most, in onnx/int8_check.json.")
    add_arguments(p, ExportConfig)

    p = _command(sub, "serve", _serve, help="serve a trained model over HTTP, with dynamic batching",
                 description="Serve a trained model folder: POST /predict with {\"inputs\": ...} as Hugging Face's "
                 "Inference API and Text Embeddings Inference take it; GET /health, /info, /metrics; /docs. "
                 "SIGTERM drains. Needs the serve extra: pip install \"weighted-bert[serve]\".")
    add_arguments(p, ServeConfig)

    p = _command(sub, "push", _push, help="upload a trained model folder to the Hugging Face Hub",
                 description="Upload the model folder (weights, tokenizer, model card, label map) to a Hub "
                 "repository, creating it if needed. The token comes from HF_TOKEN or `hf auth login`.")
    p.add_argument("model_dir", help="output folder of `train` (or its model/ subfolder)")
    p.add_argument("--repo-id", required=True, help="the Hub repository, e.g. my-org/intent-classifier")
    p.add_argument("--private", action="store_true", help="create the repository private")

    p = _command(sub, "report", _report, help="redraw a run's pictures and report.html from its saved predictions")
    p.add_argument("run_dir", help="output folder of `train`")
    p.add_argument("--split", choices=("auto", "test", "dev"), default="auto",
                   help="predictions to report on (auto: test when it has labels, else dev)")
    p.add_argument("--many-threshold", type=int, default=None, help="default: the run's own")
    p.add_argument("--few-threshold", type=int, default=None, help="default: the run's own")

    p = _command(sub, "compare", _compare, help="several recipes, one budget and seed set, one leaderboard",
                 description="Run several training recipes with the same budget and seeds; resumes an interrupted "
                 "sweep; writes leaderboard.md/.csv/.png. Any train setting given here applies to every recipe "
                 "(over the sweep file's settings); a recipe's own settings win over both.")
    p.add_argument("--output-dir", required=True, help="one folder per recipe and seed, and the leaderboard")
    p.add_argument("--recipes", help="comma-separated LOSS[:CLASS_WEIGHTS[:NORMALIZATION]], "
                   "e.g. ce,weighted_ce:inverse,weighted_ce:balanced")
    p.add_argument("--config", help="JSON or YAML sweep file with recipes, seeds and settings")
    p.add_argument("--seeds", type=_seeds, default=None, help="comma-separated seeds (default 42, or the sweep file's)")
    p.add_argument("--auto", action="store_true", help="choose the recipe and learning rate for this data by "
                   "successive halving on dev within --budget-minutes; the winner's test score is computed once")
    p.add_argument("--budget-minutes", type=float, default=None, help="--auto: the time to spend training")
    add_arguments(p, RunConfig, exclude=("output_dir", "seed"))

    add_data_commands(sub, _command)

    return parser


# what the `train` extra adds to the base install (pyproject.toml), by import name
TRAINING_STACK = ("torch", "transformers", "accelerate", "sklearn", "scipy", "matplotlib", "safetensors",
                  "google_crc32c")


def report_user_errors(func, *args, resumable: bool = False) -> int:
    """Run ``func``; a :class:`UserError` becomes one ``error:`` line and exit status 2,
    Ctrl-C one line and 130 (the shell's code for SIGINT)."""
    try:
        return func(*args)
    except KeyboardInterrupt:
        print(f"error: interrupted{'; rerun the same command to resume' if resumable else ''}", file=sys.stderr)
        return 130
    except UserError as err:
        if os.environ.get("WEIGHTED_BERT_DEBUG"):
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in TRAINING_STACK or os.environ.get("WEIGHTED_BERT_DEBUG"):
            raise
        print(f"error: this needs {err.name}, which the base install leaves out (it answers through a model "
              "folder's ONNX export: predict, serve, load); install the training stack: pip install "
              '"weighted-bert[train]"', file=sys.stderr)
        return 2


def main(argv=None) -> int:
    """The command line; ``argv`` None: this process was started for it (its start-up is timed)."""
    share_the_cpu()  # before torch is loaded: OpenMP reads its environment when it starts
    as_program, argv = argv is None, underscores_to_dashes(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    args.started_for_it = as_program
    set_verbosity(quiet=getattr(args, "quiet", False), verbose=getattr(args, "verbose", False))
    return report_user_errors(args.func, args, resumable=args.command in ("train", "compare", "audit"))


if __name__ == "__main__":
    sys.exit(main())
