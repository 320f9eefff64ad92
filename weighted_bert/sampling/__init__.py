"""Class-aware sampling of training examples.

* ``random``: the Trainer's own shuffling (each example once per epoch).
* ``class_balanced``: every class equally likely, then a uniform example of that class
  (Shen et al., ECCV 2016; "class-balanced sampling" in Kang et al., ICLR 2020).
* ``sqrt``: class c drawn with probability proportional to sqrt(n_c) (Mahajan et al., 2018).

Multi-label (labels a 0/1 matrix): the same draw of a label, then a uniform row among
those that carry it (Shen et al.'s class-aware sampling as Wu et al. use it for
multi-label); a row with no label is never drawn.

:class:`LengthGroupedSampler` is ``random`` with batches of similar length: each example
once per epoch, so that dynamic padding pads little (what the Trainer's
``group_by_length`` does, seeded per epoch here so that a resumed run draws the same).

An epoch draws as many examples as the training set has, with replacement. The draws
depend only on ``seed`` and the epoch (``set_epoch``), so every process of a
distributed run computes the same sequence; process ``rank`` of ``world_size`` takes
positions ``rank, rank + world_size, ...`` of it: disjoint shares of one epoch. Under
the Trainer, accelerate already splits the batches between processes, so the Trainer
uses ``rank=0, world_size=1``.
"""

SAMPLINGS = ("random", "class_balanced", "sqrt")  # multi-label: a label drawn, then a row that carries it
