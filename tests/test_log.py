"""The package logs through logging.getLogger("weighted_bert"): to standard error, with
--quiet and --verbose, and without touching the root logger or transformers' settings."""

import logging

from weighted_bert.log import get_logger, set_verbosity


def test_notes_and_warnings_go_to_stderr_in_our_shape(capsys):
    log = get_logger("weighted_bert.example")
    log.info("a note")
    log.warning("a warning")
    assert capsys.readouterr().err == "[weighted-bert] a note\nwarning: a warning\n"


def test_quiet_and_verbose(capsys):
    log = get_logger("example")
    try:
        set_verbosity(quiet=True)
        log.info("hidden")
        log.warning("shown")
        set_verbosity(verbose=True)
        log.debug("detail")
    finally:
        set_verbosity()
    assert capsys.readouterr().err == "warning: shown\n[weighted-bert] detail\n"


def test_the_root_logger_and_transformers_are_left_alone(tiny_bert):
    from transformers.utils import logging as hf_logging

    from weighted_bert.model import load_tokenizer

    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    hf_logging.disable_progress_bar()
    verbosity = hf_logging.get_verbosity()
    try:
        load_tokenizer(tiny_bert)
        assert not hf_logging.is_progress_bar_enabled()  # as we found it
        assert hf_logging.get_verbosity() == verbosity
    finally:
        hf_logging.enable_progress_bar()
    assert (root.level, list(root.handlers)) == before
    assert logging.getLogger("weighted_bert").propagate is False
