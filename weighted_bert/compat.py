"""The seed's command line: ``run_classifier_weighted_loss.py`` flags, as its users typed them.

Flags follow absl's syntax (``--do_train=true``, ``--do_train``, ``--nodo_train``,
``--max_seq_length 128``) and map onto :class:`weighted_bert.config.RunConfig`, which
converts and checks every value (types included) exactly as for ``weighted-bert train``:

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
                            (with --multi_label=true: --loss bce, --pos-weight inverse when true)
--do_train/eval/predict     as in the seed (each false unless given)
--save_checkpoints_steps    --save-steps (a resumable checkpoint every N steps)
TPU flags,                  accepted and ignored
--iterations_per_loop
==========================  ==========================================================

The seed names come from the ``seed`` entries of the schema's fields. Any
``weighted-bert train`` option can also be given in this style, e.g.
``--weight_normalization=none`` for the seed's raw weights (by default weights are
normalised so that weighting does not multiply the learning rate, a fault of the seed).

With ``--do_train=false``, the model is the fine-tuned one in ``--output_dir`` (ours, or
the seed's own TensorFlow checkpoints with its ``label2id.pkl``, as the seed's Estimator
restored it from there), else ``--init_checkpoint``. ``--do_lower_case`` is checked
against the checkpoint's name as Google's ``validate_case_matches_checkpoint`` did, with a
warning.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from .config import RunConfig
from .errors import UserError
from .log import get_logger
from .run_folder import MODEL
from .settings import FALSE, TRUE, build, canonical_name, check_value, field_types
from .tasks import task_of

log = get_logger(__name__)

# The seed's flag name -> the setting it sets, from the schema (init_checkpoint -> model, ...).
SEED_NAMES = {seed: f.name for f in dataclasses.fields(RunConfig) for seed in f.metadata.get("seed", ())}
SEED_ONLY = {"task_name", "weighted_loss"}
IGNORED = {"use_tpu", "tpu_name", "tpu_zone", "gcp_project", "master", "num_tpu_cores", "iterations_per_loop"}
BOOLEAN = {name for name, (kind, *_) in field_types(RunConfig).items() if kind is bool} | {"weighted_loss", "use_tpu"}
SEED_FLAGS = set(SEED_NAMES) | SEED_ONLY | {"data_dir", "output_dir", "vocab_file", "bert_config_file",
                                            "do_train", "do_eval", "do_predict", "do_lower_case"}


class FlagError(UserError, ValueError):
    """A seed flag that is unknown, malformed or missing."""


def _known(name: str) -> bool:
    return name in SEED_NAMES or name in SEED_ONLY or name in IGNORED or canonical_name(RunConfig, name) is not None


def parse_flags(argv: list[str]) -> dict[str, str | bool]:
    """absl-style ``--name=value`` / ``--name value`` / ``--name`` / ``--noname``; values stay text."""
    flags: dict[str, str | bool] = {}
    items = list(argv)
    while items:
        item = items.pop(0)
        if not item.startswith("-"):
            raise FlagError(f"unexpected argument {item!r}; flags look like --name=value")
        name, has_value, value = item.lstrip("-").partition("=")
        name = name.replace("-", "_")
        if not _known(name) and name.startswith("no") and name[2:] in BOOLEAN and not has_value:
            flags[name[2:]] = False
            continue
        if not _known(name):
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


def _model(flags: dict, output_dir: Path, do_train: bool) -> str:
    from .tf_checkpoint import is_tf_checkpoint

    if do_train:
        if "init_checkpoint" not in flags:
            raise FlagError("--init_checkpoint is required to train (a pretrained model folder)")
        return flags["init_checkpoint"]
    if (output_dir / MODEL / "config.json").is_file() or is_tf_checkpoint(output_dir):
        return str(output_dir)  # fine-tuned here, by weighted-bert or by the seed itself
    if "init_checkpoint" in flags:
        return flags["init_checkpoint"]
    raise FlagError(f"--do_train=false needs a fine-tuned model: {output_dir} has none and "
                    "--init_checkpoint is not given")


def config_from_flags(flags: dict) -> RunConfig:
    """A :class:`RunConfig` from parsed seed flags; the schema converts and checks the values."""
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
    if "init_checkpoint" in flags:
        from .tf_import import case_mismatch_warning

        warning = case_mismatch_warning(flags.get("do_lower_case", True), flags["init_checkpoint"])
        if warning:
            log.warning(warning.removeprefix("warning: "))
    ignored = sorted(k for k in flags if k in IGNORED)
    if ignored:
        log.info(f"ignoring {', '.join('--' + k for k in ignored)} (TensorFlow/TPU settings)")
    values = {"do_lower_case": True, "loss": "ce", "target_prior": "none"}  # the seed's defaults where ours differ
    batch_sizes = ("eval_batch_size", "predict_batch_size")  # the seed had both; one batch size scores here
    sizes = [check_value(RunConfig, "eval_batch_size", flags[k]) for k in batch_sizes if k in flags]
    if sizes:
        values["eval_batch_size"] = max(sizes)
    for name, value in flags.items():
        if name in SEED_ONLY or name in IGNORED or name in batch_sizes or name == "init_checkpoint":
            continue
        if name == "save_checkpoints_steps" and "save_steps" in flags:
            continue
        values[SEED_NAMES.get(name) or canonical_name(RunConfig, name)] = value
    if "weighted_loss" in flags and "loss" not in flags:  # the task as the flags give it; the data may say more
        multi_label = check_value(RunConfig, "multi_label", flags["multi_label"]) if "multi_label" in flags else None
        loss, weights = task_of(multi_label or "label_separator" in flags).seed_loss(flags["weighted_loss"])
        values["loss"] = loss
        for name, value in weights.items():
            values.setdefault(name, value)
    values.update(model=_model(flags, output_dir, do_train), output_dir=str(output_dir),
                  do_train=do_train, do_eval=do_eval, do_predict=do_predict)
    return build(RunConfig, values)


def main(argv=None) -> int:
    from .cli import report_user_errors
    from .training.runner import run

    argv = sys.argv[1:] if argv is None else argv

    def go():
        run(config_from_flags(parse_flags(argv)))
        return 0

    return report_user_errors(go, resumable=True)


if __name__ == "__main__":
    sys.exit(main())
