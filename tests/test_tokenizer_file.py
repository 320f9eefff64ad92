"""tokenizer.json run by the tokenizers library gives the ids transformers' tokenizer gives."""

import json

import numpy as np
import pytest

from weighted_bert.model import load_tokenizer
from weighted_bert.tokenizer_file import TokenizerFile

TEXTS = ["Hello, World!", "what is the weather in Zürich today", "我想订一张去北京的机票", "café naïve résumé",
         "a " * 300, "x" * 250, "", "tab\tinside and   spaces", "Ünïcödé ÀÉÎ 東京 and emoji 🙂"]
PAIRS = ["second text", "", "ein zweiter Satz " * 40, "短い", "b", "c", "d", "e", "f"]


@pytest.fixture(scope="module")
def saved(trained_run):
    return trained_run / "model"


@pytest.mark.parametrize("max_length", [8, 16, 128])
def test_ids_equal_the_transformers_tokenizer(saved, max_length):
    reference, ours = load_tokenizer(saved), TokenizerFile(saved)
    for pairs in (None, PAIRS):
        expected = reference(TEXTS, pairs, truncation=True, max_length=max_length, padding=False,
                             return_attention_mask=False)
        got = ours(TEXTS, pairs, truncation=True, max_length=max_length)
        assert got["input_ids"] == expected["input_ids"]
        assert got["token_type_ids"] == expected["token_type_ids"]
        assert max(len(r) for r in got["input_ids"]) == max_length


def test_padding_equals_the_transformers_tokenizer(saved):
    reference, ours = load_tokenizer(saved), TokenizerFile(saved)
    rows = ours(TEXTS[:4], PAIRS[:4], max_length=32)
    expected = reference.pad(rows, return_tensors="np")
    got = ours.pad(rows)
    assert set(got) == set(expected)
    for key in got:
        np.testing.assert_array_equal(got[key], expected[key])
        assert got[key].dtype == np.int64


def test_left_padding_and_a_missing_pad_token(saved, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "tokenizer.json").write_text((saved / "tokenizer.json").read_text())
    settings = json.loads((saved / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**settings, "padding_side": "left"}))
    padded = TokenizerFile(folder).pad({"input_ids": [[5, 6, 7], [8]]})
    pad = TokenizerFile(folder).pad_token_id
    np.testing.assert_array_equal(padded["input_ids"], [[5, 6, 7], [pad, pad, 8]])
    np.testing.assert_array_equal(padded["attention_mask"], [[1, 1, 1], [0, 0, 1]])
    (folder / "tokenizer_config.json").write_text(json.dumps({**settings, "pad_token": "<nothing like it>"}))
    with pytest.raises(ValueError, match="pad_token is not in tokenizer.json"):
        TokenizerFile(folder)
