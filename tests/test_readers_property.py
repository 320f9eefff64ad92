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
