"""The multi-label data sets of `benchmarks/multilabel.py` beside debian_tags, built once into
a folder of train/dev/test.jsonl (`{"text", "labels"}`) and reused.

* `clinc_compositional`: built from ../shared/data/clinc150 (see its builder).
* `pypi_topics`: natural long-tailed tags on text nobody chose a recipe on, fetched once from
  the PyPI registry (the package versions are pinned in benchmarks/data/pypi_topics.txt, so
  a later build reads the same metadata).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CLINC = HERE.parent.parent / "shared" / "data" / "clinc150" / "data_full.json"
UTTERANCES_A_ROW = {1: 0.5, 2: 0.35, 3: 0.15}  # clinc_compositional: how many requests a text joins
PYPI_MANIFEST = HERE / "data" / "pypi_topics.txt"
TOPIC = "Topic :: "
MIN_TRAIN_ROWS = 10  # pypi_topics: a tag with fewer training rows is dropped (debian_tags' own floor)
SPLIT_SHARES = (("train", 0.6), ("dev", 0.15), ("test", 0.25))


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


def pypi_rows(packages: list[dict]) -> list[dict]:
    """One row per package: its summary and its "Topic :: ..." classifiers (the prefix dropped).
    A package without a summary or a topic is left out, and so is every package whose summary
    (case and spacing folded) another package also has: templates, and no text in two splits."""
    rows = []
    for p in packages:
        text = " ".join((p.get("summary") or "").split())
        topics = sorted({c[len(TOPIC):] for c in p.get("classifiers") or [] if c.startswith(TOPIC)})
        if text and topics:
            rows.append({"name": p["name"], "text": text, "labels": topics})
    same = Counter(r["text"].casefold() for r in rows)
    return [r for r in rows if same[r["text"].casefold()] == 1]


def split_rows(rows: list[dict]) -> dict[str, list[dict]]:
    """Train / dev / test by the SHA-256 of the package name (60 / 15 / 25 %); tags with fewer
    than MIN_TRAIN_ROWS training rows are dropped everywhere, then rows left without a tag."""
    ordered = sorted(rows, key=lambda r: hashlib.sha256(r["name"].encode()).hexdigest())
    splits, start = {}, 0
    for i, (name, share) in enumerate(SPLIT_SHARES):
        end = len(ordered) if i == len(SPLIT_SHARES) - 1 else start + round(share * len(ordered))
        splits[name], start = ordered[start:end], end
    counts = Counter(t for r in splits["train"] for t in r["labels"])
    keep = {t for t, n in counts.items() if n >= MIN_TRAIN_ROWS}
    return {name: [{"text": r["text"], "labels": [t for t in r["labels"] if t in keep]} for r in part
                   if any(t in keep for t in r["labels"])] for name, part in splits.items()}


_CONNECTION = threading.local()  # one kept-alive connection per fetching thread


def fetch_metadata(name: str, version: str | None = None) -> dict:
    """A release's summary and classifiers from PyPI's JSON API (the latest without a version)."""
    path = f"/pypi/{name}/{version}/json" if version else f"/pypi/{name}/json"
    for _ in range(3):
        try:
            if getattr(_CONNECTION, "pypi", None) is None:
                _CONNECTION.pypi = http.client.HTTPSConnection("pypi.org", timeout=30)
            _CONNECTION.pypi.request("GET", path)
            response = _CONNECTION.pypi.getresponse()
            body = response.read()
            if response.status == 404:
                break
            info = json.loads(body)["info"]
            return {"name": name, "version": info.get("version"), "summary": info.get("summary"),
                    "classifiers": info.get("classifiers") or []}
        except (OSError, ValueError, KeyError, http.client.HTTPException):
            _CONNECTION.pypi = None  # start a fresh connection on the next try
    return {"name": name, "version": version, "summary": None, "classifiers": []}


def fetch_pinned(name: str, version: str) -> dict:
    """The pinned release's metadata, or the latest release's where the registry does not serve it."""
    package = fetch_metadata(name, version)
    return package if package["summary"] is not None else fetch_metadata(name)


def build_pypi_topics(folder: Path) -> Path:
    """A natural multi-label set: Python packages' one-line summaries on PyPI, labelled with
    their "Topic :: ..." trove classifiers (a package chooses its own; 'Software Development ::
    Libraries :: Python Modules' beside 'Scientific/Engineering :: Astronomy'). The packages
    are a pseudo-random draw of the whole index (lowest SHA-256 of the name), pinned by version
    in benchmarks/data/pypi_topics.txt (`python benchmarks/multilabel_data.py --pin 24000`
    wrote it on 2026-11-30); packages whose summary another one shares are left
    out; split 60 / 15 / 25 % by the hash of the name; tags with fewer than 10 training rows
    dropped. Natural frequencies in every split; fetched from the registry on the first build."""
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "test.jsonl").is_file():
        return folder
    pinned = [line.split("==") for line in PYPI_MANIFEST.read_text(encoding="utf-8").split()]
    with ThreadPoolExecutor(16) as pool:
        packages = list(pool.map(lambda p: fetch_pinned(*p), pinned))
    newer = sum(p["version"] != version for p, (_, version) in zip(packages, pinned))
    print(f"pypi_topics: {len(packages)} packages read, {newer} of them at a release newer than the pin "
          "(a registry mirror without per-release metadata serves the latest)", flush=True)
    missing = [p["name"] for p in packages if p["summary"] is None]
    if len(missing) > len(packages) // 100:  # a release can be deleted; many missing is a network failure
        raise SystemExit(f"pypi_topics: {len(missing)} of {len(packages)} packages could not be read from PyPI "
                         f"(first: {', '.join(missing[:5])}); the build needs the registry once")
    for name, part in split_rows(pypi_rows(packages)).items():
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
    return folder


def pin_pypi_sample(index_html: str, size: int) -> list[str]:
    """The manifest's lines: of the ``size`` names with the lowest SHA-256 in PyPI's simple
    index, those whose latest release has a summary and a topic, as ``name==version``."""
    names = re.findall(r'<a href="[^"]*">([^<]+)</a>', index_html)
    sample = sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())[:size]
    with ThreadPoolExecutor(16) as pool:
        packages = list(pool.map(fetch_metadata, sample))
    kept = {r["name"] for r in pypi_rows(packages)}
    return [f"{p['name']}=={p['version']}" for p in packages if p["name"] in kept]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Pin the PyPI sample of pypi_topics (writes the manifest).")
    parser.add_argument("--pin", type=int, required=True, help="how many names of the index to draw")
    args = parser.parse_args()
    index = http.client.HTTPSConnection("pypi.org", timeout=120)
    index.request("GET", "/simple/")
    html = index.getresponse().read().decode()
    PYPI_MANIFEST.write_text("\n".join(sorted(pin_pypi_sample(html, args.pin))) + "\n", encoding="utf-8")
