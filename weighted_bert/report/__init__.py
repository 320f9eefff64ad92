"""``report.html`` of a run and its pictures: :mod:`.run` (any run: the single-label page, and
the way to the multi-label one) and :mod:`.multilabel` (the multi-label page). What every
page shares (style, sorting, embedded pictures) is in :mod:`weighted_bert.page`."""
