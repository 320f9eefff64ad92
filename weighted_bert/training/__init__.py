"""A ``train`` run, from its data to its files: :mod:`.runner` (``run()``: the stages of a
run), :mod:`.trainer` (the ``Trainer`` subclass and its arguments), :mod:`.resume`
(output-folder safety, checkpoints, resuming), :mod:`.decisions` (the decision fitted on
dev after training), :mod:`.final_scores` (dev and test scored by the final model, the
result files, the report) and :mod:`.stages` (wall time by stage)."""
