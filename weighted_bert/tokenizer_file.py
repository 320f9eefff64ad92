"""A model folder's ``tokenizer.json`` run by the ``tokenizers`` library alone.

What prediction needs of a Hugging Face fast tokenizer (batch encoding with truncation, and
padding a batch), without importing torch or transformers: those cost about 4 s of start-up
on 2 cores, which is most of the time ``predict --backend onnx`` spends on a few lines.
``transformers`` saves this file from the tokenizer it runs, so the ids are the same (tested
against ``AutoTokenizer`` on single texts, pairs, CJK, accents and over-long inputs).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TOKENIZER = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"


class TokenizerFile:
    """``tokenizer.json`` with the pad token, padding side and truncation side of
    ``tokenizer_config.json``; the inputs are ``input_ids``, ``token_type_ids`` and (made
    by :meth:`pad`) ``attention_mask``."""

    def __init__(self, folder):
        from tokenizers import Tokenizer

        folder = Path(folder)
        settings = json.loads((folder / TOKENIZER_CONFIG).read_text(encoding="utf-8"))
        self.backend = Tokenizer.from_file(str(folder / TOKENIZER))
        self.backend.no_padding()
        self.padding_side = settings.get("padding_side", "right")
        self.truncation_side = settings.get("truncation_side", "right")
        self.pad_token_id = self.backend.token_to_id(settings.get("pad_token") or "")
        self.pad_token_type_id = int(settings.get("pad_token_type_id", 0))
        if self.pad_token_id is None:
            raise ValueError(f"{folder / TOKENIZER_CONFIG}: its pad_token is not in {TOKENIZER}")

    @classmethod
    def usable(cls, folder) -> bool:
        """Whether ``folder`` has the files, and the ``tokenizers`` library is installed."""
        import importlib.util

        folder = Path(folder)
        return ((folder / TOKENIZER).is_file() and (folder / TOKENIZER_CONFIG).is_file()
                and importlib.util.find_spec("tokenizers") is not None)

    def __call__(self, texts, text_pairs=None, *, truncation: bool = True, max_length: int | None = None,
                 padding: bool = False, return_attention_mask: bool = False) -> dict[str, list[list[int]]]:
        if truncation and max_length:
            self.backend.enable_truncation(max_length, strategy="longest_first", direction=self.truncation_side)
        else:
            self.backend.no_truncation()
        inputs = list(texts) if text_pairs is None else list(zip(texts, text_pairs))
        encoded = self.backend.encode_batch(inputs)
        out = {"input_ids": [e.ids for e in encoded], "token_type_ids": [e.type_ids for e in encoded]}
        if return_attention_mask:
            out["attention_mask"] = [e.attention_mask for e in encoded]
        return out

    def pad(self, rows: dict, return_tensors: str = "np") -> dict[str, np.ndarray]:
        """Rows of ``input_ids`` (and ``token_type_ids``) padded to the longest, with the
        attention mask, as int64 arrays."""
        ids = rows["input_ids"]
        width = max((len(r) for r in ids), default=0)
        out = {}
        fills = {"input_ids": self.pad_token_id, "token_type_ids": self.pad_token_type_id}
        for key, fill in fills.items():
            if key in rows:
                out[key] = self._padded(rows[key], width, fill)
        out["attention_mask"] = self._padded([[1] * len(r) for r in ids], width, 0)
        return out

    def _padded(self, rows, width: int, fill: int) -> np.ndarray:
        array = np.full((len(rows), width), fill, dtype=np.int64)
        for i, row in enumerate(rows):
            if len(row):
                if self.padding_side == "left":
                    array[i, width - len(row):] = row
                else:
                    array[i, :len(row)] = row
        return array
