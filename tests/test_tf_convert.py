"""import-tf: a Google checkpoint written once as a plain Hugging Face folder."""

from pathlib import Path

import torch

from weighted_bert.cli import main
from weighted_bert.model_folder import load_fine_tuned

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PRETRAINED = FIXTURES / "tf_bert"
FINETUNED = FIXTURES / "tf_finetuned"


def test_import_tf_writes_a_plain_hugging_face_folder(tmp_path, capsys):
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    dest = tmp_path / "converted"
    assert main(["import-tf", str(FINETUNED), str(dest), "--bert-config-file", str(PRETRAINED / "bert_config.json"),
                 "--vocab-file", str(PRETRAINED / "vocab.txt")]) == 0
    assert (dest / "model.safetensors").is_file() and not list(dest.glob("*.bin"))
    model = AutoModelForSequenceClassification.from_pretrained(dest).eval()
    tokenizer = AutoTokenizer.from_pretrained(dest)
    assert model.config.id2label == {0: "0", 1: "1", 2: "2"} and model.config.hidden_act == "gelu_new"
    original = load_fine_tuned(FINETUNED, bert_config_file=PRETRAINED / "bert_config.json",
                               vocab_file=PRETRAINED / "vocab.txt")
    text = ["北京老教授泄露 hello", "周六晚到卖场"]
    with torch.inference_mode():
        ours = model(**tokenizer(text, padding=True, return_tensors="pt")).logits
        theirs = original.model(**original.tokenizer(text, padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    # Google's WordPiece gives [UNK] only past 200 characters; transformers 5 reloads with 100,
    # our loader puts 200 back from tokenizer.json
    ours_tokenizer = load_fine_tuned(dest).tokenizer
    assert ours_tokenizer.tokenize("b" * 250) == ["[UNK]"] and len(ours_tokenizer.tokenize("a" * 150)) == 150

    plain = tmp_path / "pretrained"
    assert main(["import-tf", str(PRETRAINED), str(plain)]) == 0
    assert AutoModel.from_pretrained(plain).config.hidden_act == "gelu_new"
    assert main(["import-tf", str(PRETRAINED), str(plain)]) == 2  # never over an existing folder
    assert "exists and is not empty" in capsys.readouterr().err
