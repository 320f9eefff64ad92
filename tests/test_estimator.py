"""WeightedBertClassifier follows scikit-learn's estimator contract."""

import numpy as np
from sklearn.base import clone

import weighted_bert
from weighted_bert.config import RunConfig
from weighted_bert.settings import default_of

TEXTS = ["the striker scored a goal", "the coach praised the team", "the match ended late",
         "the bank raised its loan price", "shares and stock fell", "heavy rain and wind"]


def test_parameters_clone_and_labels_keep_their_type(tiny_bert, tmp_path):
    estimator = weighted_bert.WeightedBertClassifier(str(tiny_bert), epochs=2, learning_rate=3e-3, batch_size=2,
                                                     precision="fp32", settings={"weight_decay": 0.0})
    params = estimator.get_params()
    assert params["epochs"] == 2 and params["loss"] == default_of(RunConfig, "loss")
    assert params["settings"] == {"weight_decay": 0.0}
    assert clone(estimator).get_params() == params
    y = [10, 10, 10, 2, 2, 7]  # numbers: the answers come back as numbers
    fitted = estimator.fit(TEXTS, y)
    assert fitted is estimator and estimator.classes_.tolist() == [2, 7, 10]
    predicted = estimator.predict(TEXTS)
    assert predicted.dtype.kind == "i" and set(predicted.tolist()) <= {2, 7, 10}
    probabilities = estimator.predict_proba(TEXTS)
    assert probabilities.shape == (6, 3) and np.allclose(probabilities.sum(axis=1), 1)
    assert 0 <= estimator.score(TEXTS, y) <= 1
