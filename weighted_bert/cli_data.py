"""The commands about the data rather than one model's answers: ``stats`` (look at it first),
``audit`` (the training rows whose label is probably wrong) and ``suggest`` (which unlabelled
texts to label next). Part of :mod:`weighted_bert.cli`, which adds them with
:func:`add_data_commands`; their settings come from the schema as every command's do."""

from __future__ import annotations

from pathlib import Path

from .config import RunConfig
from .label_audit import AuditSettings
from .scoring_config import SuggestConfig
from .settings import add_arguments, build, check_value, default_of, given, read_settings

_STATS_SETTINGS = ("text_column", "text_pair_column", "label_column", "label_separator", "multi_label",
                   "many_threshold", "few_threshold", "max_seq_length", "stride", "max_windows")


def _stats_windows(values: dict):
    from .windows import WindowPlan, check_windows, default_stride

    stride = default_stride(values["max_seq_length"]) if values["stride"] is None else values["stride"]
    check_windows(values["max_seq_length"], stride, values["max_windows"])
    return WindowPlan(stride, values["max_windows"])


def _stats(args) -> int:
    from .data import Columns
    from .model import load_tokenizer
    from .stats import dataset_stats, format_stats, write_stats

    values = {name: check_value(RunConfig, name, getattr(args, name, default_of(RunConfig, name)))
              for name in _STATS_SETTINGS}
    tokenizer = load_tokenizer(args.model) if args.model else None
    stats = dataset_stats(args.data, tokenizer=tokenizer,
                          columns=Columns(values["text_column"], values["text_pair_column"], values["label_column"]),
                          many_threshold=values["many_threshold"], few_threshold=values["few_threshold"],
                          multi_label=values["multi_label"] or (True if values["label_separator"] else None),
                          label_separator=values["label_separator"], max_seq_length=values["max_seq_length"],
                          windows=_stats_windows(values))
    print(format_stats(stats))
    write_stats(stats, args.output_dir)
    print(f"wrote {Path(args.output_dir) / 'stats.json'}")
    return 0


def _audit(args) -> int:
    from .label_audit.run import run_audit

    settings = {k: v for k, v in given(args, RunConfig).items() if k != "output_dir"}
    if args.config:
        settings = {**read_settings(RunConfig, args.config), **settings}
    result = run_audit(settings, output_dir=args.output_dir, audit=build(AuditSettings, given(args, AuditSettings)))
    s = result.summary
    print(f"{s['flagged']} of {s['rows']} training rows flagged as probably mislabelled ({s['flagged_few_shot']} in "
          f"few-shot classes; {s['unscored']} not judged)")
    for name in ("label_issues.tsv", "report.html"):
        print(f"wrote {result.output_dir / name}")
    return 0


def _suggest(args) -> int:
    from .suggestions.run import suggest_command

    config = build(SuggestConfig, given(args, SuggestConfig))
    picks = suggest_command(config)
    print(f"picked {len(picks)} text(s) of {config.data} ({config.strategy}); wrote {config.output}")
    return 0


def add_data_commands(sub, command) -> None:
    """``stats``, ``audit`` and ``suggest`` on the subcommand parsers ``sub`` (``command``: cli's maker)."""
    p = command(sub, "stats", _stats, help="class counts, imbalance, lengths, duplicates and conflicts of a data set")
    p.add_argument("data", help="a data file, or a folder with train/dev/test files")
    p.add_argument("--model", help="tokenizer (model folder) for token-length percentiles; "
                   "without it lengths are whitespace words")
    p.add_argument("--output-dir", default=".", help="where stats.json and class_distribution.png go (default .)")
    add_arguments(p, RunConfig, only=_STATS_SETTINGS)

    p = command(sub, "suggest", _suggest, help="pick the unlabelled texts to label next, rare classes first",
                description="Score a pool of unlabelled texts with a trained model and pick --budget of them to "
                "label: by default the rarest predicted classes first (the class prior taken out) and the least "
                "sure texts within each, near-duplicates and texts already in the training data skipped. Writes "
                "a TSV (or doccano's JSONL) with the reason for each pick. See weighted_bert/suggestions/.")
    add_arguments(p, SuggestConfig, exclude=("top_k", "at_least_one", "target_prior"))

    p = command(sub, "audit", _audit, help="find the training rows whose label is probably wrong",
                description="Cross-fitted training: the training rows are dealt into folds, each fold is judged by a "
                "model trained (as `train` would, with these settings) on the others, and cleanlab scores every "
                "row's label from those out-of-sample probabilities. Writes label_issues.tsv (the likely wrong "
                "first, few-shot classes first), report.html and audit.json; resumes an interrupted audit. Removes "
                "nothing: `train --exclude label_issues.tsv` (or --relabel) does. Needs the audit extra: "
                "pip install \"weighted-bert[audit]\".")
    p.add_argument("--output-dir", required=True, help="the audit's folder (label_issues.tsv, report.html, folds/)")
    p.add_argument("--config", help="JSON or YAML file of train settings (flags given win over it)")
    add_arguments(p, AuditSettings)
    add_arguments(p, RunConfig, exclude=("output_dir", "exclude", "exclude_top", "relabel", "do_train",
                                           "do_predict"))
