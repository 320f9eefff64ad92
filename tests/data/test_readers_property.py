"""Every line of a seed-format file is either used or reported: never silently dropped."""

from hypothesis import given, settings
from hypothesis import strategies as st

from weighted_bert.data import read_dataset

FIELD = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n\r\x00"),
                max_size=12)
LINE = st.lists(FIELD, min_size=1, max_size=4).map("\t".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=30))
def test_every_line_is_used_or_reported(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("p") / "train_data.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    blank = sum(1 for line in lines if not line.strip())
    try:
        data = read_dataset(path, on_bad_line="skip")
    except ValueError as err:  # nothing usable: the error says how many lines were bad
        assert "no usable example" in str(err) or "is empty" in str(err)
        return
    used = {e.line for e in data.examples}
    reported = {e.line for e in data.skipped}
    assert not used & reported
    assert len(used) + len(reported) + blank == len(lines)
    for example in data.examples:
        assert example.label.strip() and example.text.strip()


CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"\r\x00'),
               min_size=1, max_size=10).filter(lambda s: s.strip() and s.strip() not in ("nan", "None", "text"))
ROW = st.tuples(CELL, CELL.filter(lambda s: "\n" not in s and "," not in s),
                st.sampled_from(["ok"] * 6 + ["unclosed", "header", "missing"]))


def _csv_file(rows):
    """The file's text and, per row, the line it starts on."""
    import csv
    import io

    out, starts, line = ["text,label\n"], [], 2
    for text, label, kind in rows:
        if kind == "ok":
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow([text, label])
            chunk = buffer.getvalue()
        elif kind == "unclosed":
            chunk = '"' + text.replace("\n", " ").replace(",", " ") + "," + label + "\n"
        elif kind == "header":
            chunk = "text,label\n"
        else:
            chunk = text.replace("\n", " ").replace(",", " ") + ",nan\n"
        starts.append(line)
        line += chunk.count("\n")
        out.append(chunk)
    return "".join(out), starts


@settings(max_examples=400, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=15))
def test_csv_rows_are_read_as_meant_or_reported(tmp_path_factory, rows):
    """An unclosed quote, a repeated header or a missing-value label: the row is reported (or
    the example it ran into is), never merged or dropped without a word."""
    text, starts = _csv_file(rows)
    path = tmp_path_factory.mktemp("p") / "train.csv"
    path.write_text(text, encoding="utf-8")
    try:
        data = read_dataset(path, on_bad_line="skip")
    except ValueError as err:
        assert "no usable example" in str(err) or "no examples" in str(err)
        return
    meant = {line: (t, y) for line, (t, y, kind) in zip(starts, rows) if kind == "ok"}
    exact = {e.line for e in data.examples if meant.get(e.line) == (e.text, e.label)}
    reports = sorted({e.line for e in data.skipped} | set(data.multiline))
    for example in data.examples:  # anything not read as meant was said
        assert example.line in exact or example.line in data.multiline, (example, reports)
    for line, (_, _, kind) in zip(starts, rows):
        if kind != "ok":
            assert line not in exact and any(r <= line for r in reports), (line, kind, reports)
        elif line not in exact:  # an ok row swallowed by the quote before it: a report precedes it
            earlier = [r for r in reports if r <= line]
            assert earlier and not any(earlier[-1] < x < line for x in exact), (line, reports)
