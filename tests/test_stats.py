"""stats: class counts, imbalance, duplicates and conflicts of a data set, and the command's files."""

import json

from weighted_bert.cli import main
from weighted_bert.stats import dataset_stats

PNG = b"\x89PNG\r\n\x1a\n"


def test_stats_reports_duplicates_and_conflicts_exactly(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    write(data / "train_data.txt", "a b\tx\nc d\ty\na b\tx\ne f\tx\nc d\tz\ng h\tx\na b\tx\n")
    write(data / "dev_data.txt", "a b\tx\nq r\tw\n")
    stats = dataset_stats(data)
    train = stats["splits"]["train"]
    assert train["class_counts"] == {"x": 5, "y": 1, "z": 1}
    assert train["imbalance_ratio"] == 5.0
    assert train["duplicates"] == [{"text": "a b", "label": "x", "count": 3, "lines": [1, 3, 7]}]
    assert train["conflicting_labels"] == [{"text": "c d", "labels": {"y": 1, "z": 1}, "lines": [2, 5]}]
    assert train["shot_groups"] == {"many": 0, "medium": 0, "few": 3}
    assert train["length_percentiles"]["p100"] == 2.0
    assert stats["splits"]["dev"]["labels_unseen_in_train"] == ["w"]


def test_stats_command_writes_json_and_picture(tmp_path, toy_data_dir, tiny_bert, capsys):
    assert main(["stats", str(toy_data_dir), "--model", str(tiny_bert), "--output-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "imbalance ratio 9.6" in printed  # 96 sport / 10 weather
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["unit"] == "tokens"
    assert stats["splits"]["train"]["length_percentiles"]["p100"] == 8.0  # [CLS] + 6 words + [SEP]
    assert (tmp_path / "class_distribution.png").read_bytes()[:8] == PNG


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path
