"""One error type for what a user gave wrong, and one message shape for a bad setting.

:class:`UserError` is something the user can fix (a file, a setting, a model folder): the
command line prints its message as one ``error:`` line and exits with status 2. Any other
exception is a bug and shows its traceback. Modules subclass it where they need their own
type (``DataFormatError``, ``ModelSourceError``, ...).

A bad setting always reads the same way (scikit-learn's ``InvalidParameterError`` habit)::

    focal gamma -1.0 is not a number >= 0 (setting focal_gamma, --focal-gamma)
"""

from __future__ import annotations

from collections.abc import Iterable


class UserError(Exception):
    """Something the user gave that cannot be used; the message says what and what would work."""


class DataFormatError(UserError, ValueError):
    """A data file that cannot be read as expected, with where and why."""

    def __init__(self, path, line: int | None, problem: str):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class RunError(UserError, RuntimeError):
    """A run that cannot go ahead; the message says why and what to change."""


class UnknownSettingError(UserError, ValueError):
    """A name that is no setting (a typo in a flag, a settings file or a sweep file)."""


class SettingError(UserError, ValueError):
    """A setting whose value is not allowed: names the setting, the value and what is allowed."""

    def __init__(self, name: str, value, problem: str, *, where: str | None = None, flag: str | None = None,
                 human: str | None = None):
        self.name, self.value, self.problem, self.where, self.human = name, value, problem, where, human
        self.flag = flag or name.replace("_", "-")
        prefix = f"{where}: " if where else ""
        human = human or name.replace("_", " ")
        super().__init__(f"{prefix}{human} {value!r} {problem} (setting {name}, --{self.flag})")

    def at(self, where: str) -> SettingError:
        """The same error, said of ``where`` (a file, a recipe)."""
        return SettingError(self.name, self.value, self.problem, where=where, flag=self.flag, human=self.human)


def one_of(choices: Iterable) -> str:
    """The phrase for a value outside ``choices``."""
    return "is not one of " + ", ".join(str(c) for c in choices)


def check_choice(name: str, value, choices: Iterable, *, where: str | None = None):
    """``value`` when it is one of ``choices``, else a :class:`SettingError`."""
    choices = tuple(choices)
    if value not in choices:
        raise SettingError(name, value, one_of(choices), where=where)
    return value
