"""Reading the seed format, TSV/CSV with a header and JSONL, and the errors for bad input."""

import json

import pytest

from weighted_bert.data import Columns, find_data_files, read_dataset
from weighted_bert.errors import DataFormatError


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def test_seed_format_single_and_quotes(tmp_path):
    path = write(tmp_path, "train_data.txt",
                 'hello world\tpos\n"quoted text"\t"neg"\nsay "hi" now\tpos\n"unbalanced start\tneg\n')
    data = read_dataset(path)
    assert [e.text for e in data.examples] == ["hello world", "quoted text", 'say "hi" now', '"unbalanced start']
    assert [e.label for e in data.examples] == ["pos", "neg", "pos", "neg"]
    assert [e.line for e in data.examples] == [1, 2, 3, 4]
    assert not data.is_pair and data.has_labels


def test_only_the_enclosing_quotes_are_removed(tmp_path):
    path = write(tmp_path, "t.txt", '"he said "yes" twice"\tpos\n""\"\tneg\n')
    data = read_dataset(path)
    assert data.examples[0].text == 'he said "yes" twice'
    assert data.examples[1].text == '"'  # '"""' loses only its outer pair


def test_bom_crlf_and_blank_lines(tmp_path):
    path = write(tmp_path, "t.txt", "\ufeffa b\tx\r\n\r\nc d\ty\r\n   \n")
    data = read_dataset(path)
    assert [(e.text, e.label, e.line) for e in data.examples] == [("a b", "x", 1), ("c d", "y", 3)]


def test_sentence_pairs(tmp_path):
    path = write(tmp_path, "t.txt", "first\tsecond\tyes\nthird\tfourth\tno\n")
    data = read_dataset(path)
    assert data.is_pair
    assert data.examples[1] == data.examples[1].__class__("third", "fourth", "no", 2)


def test_test_file_without_labels(tmp_path):
    path = write(tmp_path, "test_data.txt", "only text\nmore text\n")
    data = read_dataset(path, labels="optional", pair=False)
    assert not data.has_labels and [e.text for e in data.examples] == ["only text", "more text"]
    # a pair model's test file with two fields holds two texts, not text and label
    pairs = write(tmp_path, "pairs.txt", "a\tb\nc\td\n")
    assert read_dataset(pairs, labels="optional", pair=True).examples[0].text_pair == "b"
    assert read_dataset(pairs, labels="optional", pair=False).examples[0].label == "b"


@pytest.mark.parametrize("content, line, message", [
    ("good\tpos\nno tab here\n", 2, "has no tab; expected text<TAB>label$"),
    ("no tab here\n", 1, "has no tab; expected text<TAB>label or text_a<TAB>text_b<TAB>label$"),
    ("good\tpos\nbad\t\n", 2, "empty label"),
    ("good\tpos\n\tneg\n", 2, "empty text"),
    ("a\tb\tc\td\n", 1, "has 4 tab-separated fields"),
    ("good\tpos\nx\ty\tz\n", 2, "has 3 tab-separated fields; expected text<TAB>label like"),
])
def test_bad_seed_lines_name_file_and_line(tmp_path, content, line, message):
    path = write(tmp_path, "train_data.txt", content)
    with pytest.raises(DataFormatError, match=message) as info:
        read_dataset(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}, line {line}: ")


def test_skip_reports_every_bad_line(tmp_path):
    path = write(tmp_path, "train_data.txt", "good\tpos\nno tab\nfine\tneg\n\tneg\n")
    data = read_dataset(path, on_bad_line="skip")
    assert [e.line for e in data.examples] == [1, 3]
    assert [s.line for s in data.skipped] == [2, 4]
    assert len(data.examples) + len(data.skipped) == 4


def test_not_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "t.txt", "ok\tpos\n".encode() + "caf\xe9\tneg\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"line 2: is not valid UTF-8 \(byte 0xe9 at column 4\)"):
        read_dataset(path)


def test_utf16_with_a_byte_order_mark_is_read(tmp_path):
    # Spreadsheets save "Unicode text" as tab-separated UTF-16 with a byte-order mark.
    path = write(tmp_path, "u.txt", "h\u00e9llo\tpos\r\n\u4e16\u754c\tneg\r\n".encode("utf-16"))
    assert [(e.text, e.label, e.line) for e in read_dataset(path).examples] == [
        ("h\u00e9llo", "pos", 1), ("\u4e16\u754c", "neg", 2)]
    big_endian = write(tmp_path, "u.csv", b"\xfe\xff" + "text,label\nhi,1\n".encode("utf-16-be"))
    assert [(e.text, e.label) for e in read_dataset(big_endian).examples] == [("hi", "1")]


def test_utf16_without_byte_order_mark_and_nul(tmp_path):
    with pytest.raises(DataFormatError, match="looks like UTF-16 without a byte-order mark"):
        read_dataset(write(tmp_path, "u.txt", "a\tb\nc\td\n".encode("utf-16-le")))
    with pytest.raises(DataFormatError, match="line 2: contains a NUL byte"):
        read_dataset(write(tmp_path, "n.txt", b"a\tb\nc\x00\td\n"))


@pytest.mark.parametrize("name, header", [("big.txt", b""), ("big.csv", b"text,label\n")])
def test_a_ten_megabyte_line(tmp_path, name, header):
    sep = b"," if name.endswith(".csv") else b"\t"
    path = write(tmp_path, name, header + b"word " * (2 * 2**20) + sep + b"pos\nsmall" + sep + b"neg\n")
    data = read_dataset(path)
    assert [len(e.text) for e in data.examples] == [10 * 2**20, 5]
    assert [e.label for e in data.examples] == ["pos", "neg"]


def test_header_only_and_unclosed_quote(tmp_path):
    with pytest.raises(DataFormatError, match="has a header row but no examples"):
        read_dataset(write(tmp_path, "h.tsv", "text\tlabel\n"))
    unclosed = write(tmp_path, "q.csv", 'text,label\n"good,pos\nbad,neg\nok,pos\n')
    with pytest.raises(DataFormatError, match="line 2: has 1 field.*runs from here to line 4: is a closing quote"):
        read_dataset(unclosed)
    # In the seed format a stray quote is text: only an enclosing pair is removed.
    seed = write(tmp_path, "q.txt", '"good\tpos\nbad"\tneg\n')
    assert [e.text for e in read_dataset(seed).examples] == ['"good', 'bad"']


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataFormatError, match="does not exist"):
        read_dataset(tmp_path / "nope.txt")
    with pytest.raises(DataFormatError, match="is empty"):
        read_dataset(write(tmp_path, "e.txt", "\n\n"))


def test_csv_with_header_and_quoted_newlines(tmp_path):
    path = write(tmp_path, "train.csv", 'id,review,stars\n1,"good, really\ngood",5\n2,bad,1\n')
    data = read_dataset(path, columns=Columns(text="review", label="stars"))
    assert [(e.text, e.label, e.line) for e in data.examples] == [("good, really\ngood", "5", 2), ("bad", "1", 4)]


def test_tsv_pairs_and_missing_column(tmp_path):
    path = write(tmp_path, "dev.tsv", "q1\tq2\tlabel\nhow\twhy\tdup\n")
    data = read_dataset(path, columns=Columns(text="q1", text_pair="q2"))
    assert data.examples[0].text_pair == "why"
    with pytest.raises(DataFormatError, match=r"line 1: has no column 'text'.*--text-column"):
        read_dataset(path)


def test_tsv_row_with_wrong_field_count(tmp_path):
    path = write(tmp_path, "train.tsv", "text\tlabel\na\tx\nb\ty\textra\n")
    with pytest.raises(DataFormatError, match="line 3: has 3 field"):
        read_dataset(path)


def test_jsonl(tmp_path):
    rows = [{"sentence": "first", "y": 1}, {"sentence": "second", "y": "b"}]
    path = write(tmp_path, "train.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    with pytest.raises(DataFormatError, match="line 3: is not valid JSON"):
        read_dataset(path, columns=Columns(text="sentence", label="y"))
    data = read_dataset(path, columns=Columns(text="sentence", label="y"), on_bad_line="skip")
    assert [(e.text, e.label) for e in data.examples] == [("first", "1"), ("second", "b")]


def test_find_data_files_prefers_seed_names(tmp_path):
    write(tmp_path, "train_data.txt", "a\tb\n")
    write(tmp_path, "train.csv", "text,label\na,b\n")
    write(tmp_path, "dev.jsonl", "{}\n")
    files = find_data_files(tmp_path)
    assert files.train.name == "train_data.txt" and files.dev.name == "dev.jsonl" and files.test is None
    assert find_data_files(tmp_path, train=tmp_path / "train.csv").train.name == "train.csv"


def _rows(n, broken_at=None, later_quote_at=None):
    rows = ["text,label"]
    for i in range(1, n + 1):
        text = f"text number {i}"
        if i == broken_at:
            text = '"' + text  # a quote that never closes
        if i == later_quote_at:
            text = f'"quoted {i}"'
        rows.append(f"{text},label{i % 3}")
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("later_quote_at", [None, 20])
def test_an_unclosed_csv_quote_is_reported_where_it_opens(tmp_path, later_quote_at):
    path = tmp_path / "train.csv"
    path.write_text(_rows(300, broken_at=10, later_quote_at=later_quote_at))
    with pytest.raises(DataFormatError, match=r"train.csv, line 11: .*(closing quote|quoted field)"):
        read_dataset(path)
    skipped = read_dataset(path, on_bad_line="skip")
    assert len(skipped) + sum(1 for _ in skipped.skipped) < 300 and skipped.skipped[0].line == 11


def test_a_quoted_field_over_several_lines_is_counted_and_said(tmp_path, capsys):
    path = tmp_path / "train.csv"
    path.write_text('text,label\n"two\nlines",a\none line,b\n"a ""quoted"" word",a\n')
    data = read_dataset(path)
    assert [e.text for e in data.examples] == ["two\nlines", "one line", 'a "quoted" word']
    assert data.multiline == [2]
    assert "1 example holds a quoted field over several lines (line 2)" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["nan", "NaN", "null", "None", "#N/A", "N/A"])
@pytest.mark.parametrize("fmt", ["txt", "csv", "jsonl"])
def test_missing_value_labels_are_not_classes(tmp_path, missing, fmt):
    path = tmp_path / f"train.{fmt}"
    rows = [("one", "1"), ("two", missing), ("three", "2")]
    if fmt == "txt":
        path.write_text("".join(f"{t}\t{y}\n" for t, y in rows))
    elif fmt == "csv":
        path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows))
    else:
        path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    line = 3 if fmt == "csv" else 2  # the header is line 1
    with pytest.raises(DataFormatError, match=f"line {line}: has the label {missing!r}, which spreadsheets"):
        read_dataset(path)


def test_jsonl_labels_are_taken_by_their_json_value(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [
        {"text": "a", "label": 1}, {"text": "b", "label": 1.0}, {"text": "c", "label": True},
        {"text": "d", "label": 2.5}, {"text": "e", "label": "x"}]))
    assert [e.label for e in read_dataset(path).examples] == ["1", "1", "true", "2.5", "x"]
    path.write_text(json.dumps({"text": "a", "label": {"a": 1}}) + "\n")
    with pytest.raises(DataFormatError, match="line 1: has a JSON object as its label; expected a string or a number"):
        read_dataset(path)


def test_a_repeated_header_row_is_not_an_example(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,label\nhello,a\ntext,label\nbye,b\n")  # two CSV files joined
    with pytest.raises(DataFormatError, match="line 3: repeats the header row"):
        read_dataset(path)


def test_standard_input_lines_are_whole_texts():
    from weighted_bert.data import parse_lines

    data = parse_lines("a text\twith a tab\n\nsecond\n".encode(), "<stdin>")
    assert [(e.text, e.label, e.line) for e in data.examples] == [("a text\twith a tab", None, 1), ("second", None, 3)]


def test_paths_that_are_not_readable_files(tmp_path):
    import os

    loop = tmp_path / "loop.txt"
    os.symlink(loop, loop)
    with pytest.raises(DataFormatError, match="loop.txt: is a symbolic link that leads nowhere"):
        read_dataset(loop)
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(DataFormatError, match="pipe.txt: is not a regular file"):
        read_dataset(fifo)
    locked = tmp_path / "locked.txt"
    locked.write_text("a\tb\n")
    locked.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(DataFormatError, match="locked.txt: cannot be read"):
            read_dataset(locked)


def test_a_folder_with_two_training_files_says_which_it_reads(tmp_path, capsys):
    (tmp_path / "train_data.txt").write_text("a\tx\n")
    (tmp_path / "train.csv").write_text("text,label\na,x\n")
    assert find_data_files(tmp_path).train == tmp_path / "train_data.txt"
    assert f"reads {tmp_path / 'train_data.txt'}; {tmp_path / 'train.csv'} is not read" in capsys.readouterr().err


def test_a_quote_inside_an_unquoted_field_is_reported(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('text,label\n"a ""quoted"" word",a\na 5" screen,b\n')
    with pytest.raises(DataFormatError, match="line 3: has a quote inside a field that is not quoted"):
        read_dataset(path)
    assert [e.text for e in read_dataset(path, on_bad_line="skip").examples] == ['a "quoted" word']
