"""The package's log: ``logging.getLogger("weighted_bert")`` and its children.

Progress and notes go to standard error as ``[weighted-bert] message``, warnings as
``warning: message``. Like transformers' own library logger, ours has a handler of its
own and does not propagate, so it prints without any logging set-up and never touches
the root logger; ``--quiet`` / ``--verbose`` (or :func:`set_verbosity`) change its level.
"""

from __future__ import annotations

import logging
import sys

NAME = "weighted_bert"


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the moment (a redirected or captured stream too)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never stop a run
            self.handleError(record)


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        return f"warning: {message}" if record.levelno >= logging.WARNING else f"[weighted-bert] {message}"


def _root() -> logging.Logger:
    logger = logging.getLogger(NAME)
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(_Format())
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    return logger


def get_logger(module: str) -> logging.Logger:
    """The logger of a module of this package (``get_logger(__name__)``)."""
    _root()
    return logging.getLogger(module if module.startswith(NAME) else f"{NAME}.{module}")


def set_verbosity(*, quiet: bool = False, verbose: bool = False) -> None:
    """``quiet``: warnings only; ``verbose``: debug messages too; else progress notes."""
    _root().setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
