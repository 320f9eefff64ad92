"""The multi-label data set of `benchmarks/multilabel.py` beside debian_tags, built from
files on disk (../shared/data/clinc150) once into a folder of train/dev/test.jsonl
(`{"text", "labels"}`) and reused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

STUDIES = ()  # the budget settings varied on purpose: none (tests/test_benchmarks.py)

HERE = Path(__file__).resolve().parent
CLINC = HERE.parent.parent / "shared" / "data" / "clinc150" / "data_full.json"
UTTERANCES_A_ROW = {1: 0.5, 2: 0.35, 3: 0.15}  # clinc_compositional: how many requests a text joins


def build_clinc_compositional(folder: Path, seed: int = 0) -> Path:
    """A second multi-label set, built to check the recommendation on data it was not chosen
    on: each text joins one to three CLINC150 requests (". "), its labels are their intents.
    Intents are drawn with CLINC150-LT's long-tailed frequencies (round(100 * 0.01 ** (i / 149))
    over a shuffled order), so labels run from common to rare in every split; train texts come
    from CLINC's train split, dev and test texts from its val and test splits (4,000 / 1,000 /
    1,500 rows); dev and test draw only intents that training has."""
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "test.jsonl").is_file():
        return folder
    data = json.loads(CLINC.read_text(encoding="utf-8"))
    intents = sorted({label for _, label in data["train"]})
    rng = np.random.default_rng(seed)
    order = [intents[i] for i in rng.permutation(len(intents))]
    weight = np.array([round(100 * 0.01 ** (i / (len(order) - 1))) for i in range(len(order))], dtype=float)
    seen: set[str] = set()
    for split, source, rows in (("train", "train", 4000), ("dev", "val", 1000), ("test", "test", 1500)):
        by_intent: dict[str, list[str]] = {}
        for text, label in data[source]:
            by_intent.setdefault(label, []).append(text)
        p = weight * np.array([split == "train" or label in seen for label in order])
        lines = []
        for _ in range(rows):
            k = int(rng.choice(list(UTTERANCES_A_ROW), p=list(UTTERANCES_A_ROW.values())))
            chosen = rng.choice(len(order), size=k, replace=False, p=p / p.sum())
            labels = [order[i] for i in chosen]
            texts = [by_intent[label][int(rng.integers(len(by_intent[label])))] for label in labels]
            lines.append(json.dumps({"text": ". ".join(texts), "labels": labels}))
            if split == "train":
                seen.update(labels)
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
