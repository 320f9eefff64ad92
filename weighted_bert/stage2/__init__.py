"""``--stage2``: after training, the classifier (the last linear layer) fitted again on the
trained encoder's features, the encoder left as it is (decoupling: Kang et al., "Decoupling
Representation and Classifier for Long-Tailed Recognition", ICLR 2020). Each method gives a
new weight matrix and bias, folded into the model's own linear layer, so the saved folder
stays a plain ``transformers`` classifier:

* ``tau_norm``: each class's row divided by its norm to the power tau, tau chosen on dev
  (frequent classes grow larger weight norms; tau 0 is the model as trained);
* ``crt``: the classifier retrained from zero with every class weighing alike
  (class-balanced re-training; here the exact expectation of class-balanced sampling, a
  per-example weight 1/n_c, over the whole training set at once);
* ``lws``: one learned scale per class on the trained classifier's logits (learnable
  weight scaling), fitted class-balanced as ``crt``.

The formulas are in :mod:`weighted_bert.stage2.methods`; the stage itself (features, the
fold, the record) in :mod:`weighted_bert.training.stage2`. A fitted decision (``--target-prior``)
is fitted after it, on its logits.
"""

STAGES = ("none", "tau_norm", "crt", "lws")
TAU_GRID = tuple(round(0.1 * i, 1) for i in range(21))  # 0 (as trained) to 2; Kang et al. search [0, 2]
WEIGHT_DECAY = 5e-4  # the re-fitted classifier's L2 penalty (Kang et al.'s weight decay)
