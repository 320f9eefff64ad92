"""The examples in the docstrings run and give what they say."""

import doctest
import importlib

import pytest

MODULES = ["weighted_bert.weights", "weighted_bert.speed", "weighted_bert.losses.cross_entropy", "weighted_bert.losses.weighted_cross_entropy",
           "weighted_bert.losses.focal", "weighted_bert.losses.dice", "weighted_bert.losses.logit_adjusted",
           "weighted_bert.losses.ldam", "weighted_bert.losses.multilabel.bce",
           "weighted_bert.losses.multilabel.sigmoid_focal", "weighted_bert.losses.multilabel.asymmetric",
           "weighted_bert.losses.multilabel.cb_ntr", "weighted_bert.windows.reading"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
