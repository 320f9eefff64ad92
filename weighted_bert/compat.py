"""The seed's command line: ``run_classifier_weighted_loss.py`` flags, as its users typed them.

Flags follow absl's syntax (``--do_train=true``, ``--do_train``, ``--nodo_train``,
``--max_seq_length 128``) and map onto :class:`weighted_bert.training.RunConfig`:

==========================  ==========================================================
seed flag                   here
==========================  ==========================================================
--task_name                 must be ``weightedloss`` (the seed's only processor)
--data_dir                  --data-dir (train_data.txt, dev_data.txt, test_data.txt)
--init_checkpoint           --model: a Google TensorFlow checkpoint (bert_model.ckpt, read
                            without TensorFlow), a Hugging Face folder, or a file inside one
--vocab_file                the WordPiece vocabulary of a TensorFlow checkpoint
--bert_config_file          the TensorFlow checkpoint's config (a Hugging Face folder has its own)
--do_lower_case             used with --vocab_file (default true, as in the seed)
--max_seq_length            --max-seq-length
--train_batch_size          --batch-size
--eval_batch_size,
--predict_batch_size        --eval-batch-size (the larger of the two)
--learning_rate             --learning-rate
--num_train_epochs          --epochs
--warmup_proportion         --warmup-ratio
--output_dir                --output-dir
--weighted_loss             true: --loss weighted_ce --class-weights inverse; false: --loss ce
--do_train/eval/predict     as in the seed (each false unless given)
--save_checkpoints_steps    --save-steps (a resumable checkpoint every N steps)
TPU flags,                  accepted and ignored
--iterations_per_loop
==========================  ==========================================================

Any ``weighted-bert train`` option can also be given in this style, e.g.
``--weight_normalization=none`` for the seed's raw weights (by default weights are
normalised so that weighting does not multiply the learning rate, a fault of the seed).

With ``--do_train=false``, the model is the fine-tuned one in ``--output_dir`` (ours, or
the seed's own TensorFlow checkpoints with its ``label2id.pkl``, as the seed's Estimator
restored it from there), else ``--init_checkpoint``. ``--do_lower_case`` is checked
against the checkpoint's name as Google's ``validate_case_matches_checkpoint`` did, with a
warning.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .cli import report_user_errors
from .tf_checkpoint import is_tf_checkpoint
from .tf_import import case_mismatch_warning
from .training import RunConfig, RunError, run

BOOLEAN = {"do_train", "do_eval", "do_predict", "do_lower_case", "weighted_loss", "use_tpu",
           "overwrite_output_dir", "keep_checkpoints", "trust_remote_code", "progress", "calibration", "skip_nonfinite",
           "resume"}
SEED_VALUES = {"task_name", "data_dir", "bert_config_file", "vocab_file", "output_dir", "init_checkpoint",
               "max_seq_length", "train_batch_size", "eval_batch_size", "predict_batch_size",
               "learning_rate", "num_train_epochs", "warmup_proportion", "save_checkpoints_steps"}
SEED_FLAGS = SEED_VALUES | {"do_train", "do_eval", "do_predict", "do_lower_case", "weighted_loss"}
IGNORED = {"use_tpu", "tpu_name", "tpu_zone", "gcp_project", "master", "num_tpu_cores",
           "iterations_per_loop"}
TRUE, FALSE = {"true", "t", "1", "yes"}, {"false", "f", "0", "no"}
# RunConfig fields that can be passed through; the ones the seed flags set are not.
PASS_THROUGH = {name for name in RunConfig.__dataclass_fields__} - {
    "model", "output_dir", "data_dir", "do_train", "do_eval", "do_predict", "batch_size", "eval_batch_size",
    "epochs", "warmup_ratio", "vocab_file", "do_lower_case", "bert_config_file", "extra_loss_options"}


class FlagError(ValueError):
    """A seed flag that is unknown, malformed or missing."""


def parse_flags(argv: list[str]) -> dict[str, str | bool]:
    """absl-style ``--name=value`` / ``--name value`` / ``--name`` / ``--noname``."""
    known = BOOLEAN | SEED_VALUES | IGNORED | PASS_THROUGH
    flags: dict[str, str | bool] = {}
    items = list(argv)
    while items:
        item = items.pop(0)
        if not item.startswith("-"):
            raise FlagError(f"unexpected argument {item!r}; flags look like --name=value")
        name, has_value, value = item.lstrip("-").partition("=")
        name = name.replace("-", "_")
        if name not in known and name.startswith("no") and name[2:] in BOOLEAN and not has_value:
            flags[name[2:]] = False
            continue
        if name not in known:
            raise FlagError(f"unknown flag --{name}; the seed's flags are: "
                            f"{', '.join('--' + f for f in sorted(SEED_FLAGS))} (and weighted-bert train's options)")
        if name in BOOLEAN:
            if not has_value:
                flags[name] = True
            elif value.lower() in TRUE | FALSE:
                flags[name] = value.lower() in TRUE
            else:
                raise FlagError(f"--{name}={value}: expected true or false")
            continue
        if not has_value:
            if not items:
                raise FlagError(f"--{name} needs a value")
            value = items.pop(0)
        flags[name] = value
    return flags


def _number(flags, name, kind):
    try:
        return kind(flags[name])
    except ValueError:
        raise FlagError(f"--{name}={flags[name]}: expected {'a whole number' if kind is int else 'a number'}") from None


def config_from_flags(flags: dict) -> RunConfig:
    for name in ("task_name", "output_dir"):
        if name not in flags:
            raise FlagError(f"--{name} is required")
    if str(flags["task_name"]).lower() != "weightedloss":
        raise FlagError(f"--task_name={flags['task_name']}: this tool reads the seed's data files; "
                        "expected --task_name=weightedloss")
    do_train, do_eval, do_predict = (bool(flags.get(k, False)) for k in ("do_train", "do_eval", "do_predict"))
    if not (do_train or do_eval or do_predict):
        raise FlagError("at least one of --do_train, --do_eval or --do_predict must be true")
    if "data_dir" not in flags:
        raise FlagError("--data_dir is required (the folder with train_data.txt, dev_data.txt, test_data.txt)")
    for name in ("bert_config_file", "vocab_file"):
        if name in flags and not Path(flags[name]).is_file():
            raise FlagError(f"--{name}={flags[name]}: no such file")
    output_dir = Path(flags["output_dir"])
    if do_train:
        if "init_checkpoint" not in flags:
            raise FlagError("--init_checkpoint is required to train (a pretrained model folder)")
        model = flags["init_checkpoint"]
    elif (output_dir / "model" / "config.json").is_file() or is_tf_checkpoint(output_dir):
        model = str(output_dir)  # fine-tuned here, by weighted-bert or by the seed itself
    elif "init_checkpoint" in flags:
        model = flags["init_checkpoint"]
    else:
        raise FlagError(f"--do_train=false needs a fine-tuned model: {output_dir} has none and "
                        "--init_checkpoint is not given")
    if "init_checkpoint" in flags:
        warning = case_mismatch_warning(flags.get("do_lower_case", True), flags["init_checkpoint"])
        if warning:
            print(warning, file=sys.stderr)
    ignored = sorted(k for k in flags if k in IGNORED)
    if ignored:
        print(f"note: ignoring {', '.join('--' + k for k in ignored)} (TensorFlow/TPU settings)", file=sys.stderr)
    values = {k: v for k, v in flags.items() if k in PASS_THROUGH}
    if "weighted_loss" in flags and "loss" not in values:
        values["loss"] = "weighted_ce" if flags["weighted_loss"] else "ce"
        if flags["weighted_loss"]:
            values.setdefault("class_weights", "inverse")  # the seed's N / n_c
    values.setdefault("loss", "ce")
    for name, kind in (("max_seq_length", int), ("learning_rate", float), ("seed", int), ("max_steps", int),
                       ("gradient_accumulation_steps", int), ("weight_decay", float), ("logging_steps", int),
                       ("class_weight_beta", float), ("max_grad_norm", float), ("many_threshold", int),
                       ("few_threshold", int), ("save_steps", int)):
        if name in flags:
            values[name] = _number(flags, name, kind)
    if "labels" in values:
        values["labels"] = str(values["labels"]).split(",")
    if "train_batch_size" in flags:
        values["batch_size"] = _number(flags, "train_batch_size", int)
    eval_sizes = [_number(flags, k, int) for k in ("eval_batch_size", "predict_batch_size") if k in flags]
    if eval_sizes:
        values["eval_batch_size"] = max(eval_sizes)
    if "save_checkpoints_steps" in flags and "save_steps" not in flags:
        values["save_steps"] = _number(flags, "save_checkpoints_steps", int)
    if "num_train_epochs" in flags:
        values["epochs"] = _number(flags, "num_train_epochs", float)
    if "warmup_proportion" in flags:
        values["warmup_ratio"] = _number(flags, "warmup_proportion", float)
    return RunConfig(model=model, output_dir=str(output_dir), data_dir=flags["data_dir"],
                     do_train=do_train, do_eval=do_eval, do_predict=do_predict,
                     vocab_file=flags.get("vocab_file"), do_lower_case=flags.get("do_lower_case", True),
                     bert_config_file=flags.get("bert_config_file"), **values)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv

    def go():
        try:
            config = config_from_flags(parse_flags(argv))
        except FlagError as err:
            raise RunError(str(err)) from None
        run(config)
        return 0

    return report_user_errors(go)


if __name__ == "__main__":
    sys.exit(main())
