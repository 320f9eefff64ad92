"""``weighted-bert suggest``: which unlabelled texts to label next, so that the rare classes grow.

A trained model scores a pool of unlabelled texts; ``--budget`` of them are picked by a
``--strategy``:

- ``balanced-uncertainty`` (the default): each text's class is the one the model finds most
  probable with the class prior taken out (its answers moved to a uniform target prior, as
  ``predict --target-prior uniform`` does), so that rare classes are predicted at all; the
  budget is shared out rarest class first (:func:`~weighted_bert.suggestions.rules.rare_first_quotas`:
  each pick goes to the predicted class with the fewest training rows counting the picks so
  far), and within a class's quota the least sure texts come first (smallest margin between
  the two most probable classes).
- ``uncertainty``: the least sure texts of the whole pool (smallest margin), whatever their class.
- ``random``: a seeded random sample, the baseline every strategy must beat (on imbalanced
  text it is a strong one).

Whatever the strategy, a text already in the training data (the model's own training file,
or ``--train``) is skipped, and so is a near-duplicate of a text already picked: the same up
to case, spacing and punctuation, or a sentence embedding (what the model's last layer takes
in) with cosine similarity at or above :data:`NEAR_DUPLICATE`. The code: the rules in
:mod:`~weighted_bert.suggestions.rules`, the command in :mod:`~weighted_bert.suggestions.run`.
"""

from __future__ import annotations

STRATEGIES = ("balanced-uncertainty", "uncertainty", "random")
# Cosine of two sentence embeddings at or above which the second pick is a near-duplicate. Fine-tuned
# MiniLM on CLINC150 dev (600 texts): distinct texts of one class 0.93 at the 90th percentile, a text
# against itself with a word dropped and its case changed 0.98 at the 10th.
NEAR_DUPLICATE = 0.97
