"""The machinery behind the settings schema (:mod:`weighted_bert.config`).

A settings class is a keyword-only dataclass whose fields are made with :func:`setting`:
the default, the help text, the allowed values and the check live in the field, once.
From it come the command-line flags (:func:`add_arguments`), the conversion of text
(flags, the seed's flags, YAML/JSON files) to the field's type, and the validation that
runs whenever an instance is made (:func:`validate`, from ``__post_init__``). A bad
value stops with one :class:`~weighted_bert.errors.SettingError` naming the setting, the
value and what is allowed.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import json
import math
import os
import re
import typing
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path

from .errors import SettingError, UnknownSettingError, UserError, one_of

TRUE, FALSE = {"true", "t", "1", "yes", "y", "on"}, {"false", "f", "0", "no", "n", "off"}
_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text", list: "a list"}


def setting(default=dataclasses.MISSING, help: str = "", *, choices=None, check=None, flag: str | None = None,
            aliases: tuple[str, ...] = (), seed: tuple[str, ...] = (), group: str = "run",
            default_text: str | None = None):
    """A field of a settings class.

    ``choices``: the allowed values (a tuple, or a function returning one); ``check``: a
    function of the converted value returning None, or the phrase that says what is wrong
    ("is not a number >= 0"); ``flag``: the command-line name when it is not the field's
    name with dashes; ``aliases``: other spellings accepted on the command line and in
    files (the Hugging Face scripts' names); ``seed``: the seed script's flag names for
    it; ``default_text``: what a None default means, for the help.
    """
    metadata = dict(help=help, choices=choices, check=check, flag=flag, aliases=tuple(aliases), seed=tuple(seed),
                    group=group, default_text=default_text)
    return dataclasses.field(default=default, metadata=metadata)


def at_least(low, *, strict: bool = False):
    def check(value):
        return None if (value > low if strict else value >= low) else f"is not {'>' if strict else '>='} {low}"
    return check


def between(low, high, *, high_open: bool = False):
    def check(value):
        ok = low <= value < high if high_open else low <= value <= high
        return None if ok else f"is not in [{low}, {high}{')' if high_open else ']'}"
    return check


@functools.cache
def field_types(cls) -> dict[str, tuple[type, bool, tuple]]:
    """``{name: (kind, optional, extra)}``: kind one of bool, int, float, str, list; extra the
    other types a union allows (``str | dict``: a mapping where a name or path is usual)."""
    hints = typing.get_type_hints(cls)
    kinds = {}
    for f in dataclasses.fields(cls):
        kind, args = hints[f.name], typing.get_args(hints[f.name])
        optional = type(None) in args
        if args:
            others = [typing.get_origin(a) or a for a in args if a is not type(None)]
            kind, extra = others[0], tuple(others[1:])
        else:
            kind, extra = typing.get_origin(kind) or kind, ()
        kinds[f.name] = (kind, optional, extra)
    return kinds


def flag_of(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or f.name.replace("_", "-")


def convert(f: dataclasses.Field, value, kind: type, optional: bool, extra: tuple = ()):
    """``value`` (text from a flag, or a value from a file) as the field's type."""

    def bad(problem=None):
        return SettingError(f.name, value, problem or f"is not {_KINDS[kind]}", flag=flag_of(f))

    if isinstance(value, str) and optional and kind is not str and value.strip().lower() in ("", "none", "null"):
        value = None
    if value is None:
        if optional:
            return None
        raise bad()
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
            return value.strip().lower() in TRUE
        raise bad()
    if kind in (int, float):
        number = value
        if isinstance(value, str):
            try:
                number = float(value.strip()) if kind is float else int(value.strip())
            except ValueError:
                try:
                    number = float(value.strip())
                except ValueError:
                    raise bad() from None
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise bad()
        if not math.isfinite(number):
            raise bad("is not a finite number")
        if kind is int:
            if not float(number).is_integer():
                raise bad()
            return int(number)
        return float(number)
    if kind is str:
        if isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
        if isinstance(value, Mapping) and dict in (kind, *extra):
            return dict(value)
        raise bad()
    if kind is list:
        if isinstance(value, str):
            return value.split(",")
        if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
            return [str(v) for v in value]
        raise bad("is not a comma-separated list")
    raise TypeError(f"setting {f.name}: no conversion for {kind}")  # a schema bug, not a user error


def _checked(f: dataclasses.Field, value, kind: type, optional: bool, extra: tuple = ()):
    value = convert(f, value, kind, optional, extra)
    if value is not None:
        choices = f.metadata.get("choices")
        choices = choices() if callable(choices) else choices
        if choices and value not in choices:
            raise SettingError(f.name, value, one_of(choices), flag=flag_of(f))
        check = f.metadata.get("check")
        problem = check(value) if check else None
        if problem:
            raise SettingError(f.name, value, problem, flag=flag_of(f))
    return value


def validate(obj) -> None:
    """Convert every field of ``obj`` to its type and check it; called by ``__post_init__``."""
    kinds = field_types(type(obj))
    for f in dataclasses.fields(obj):
        object.__setattr__(obj, f.name, _checked(f, getattr(obj, f.name), *kinds[f.name]))


def default_of(cls, name: str):
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


# The settings given to the instance being built by build() (None outside it): a recipe
# preset fills what was not given, even where a given value equals the default.
_GIVEN: ContextVar[frozenset | None] = ContextVar("given settings", default=None)


def remember_given(instance) -> None:
    """Keep on ``instance`` (from its ``__post_init__``) which settings it was given."""
    object.__setattr__(instance, "_given_settings", _GIVEN.get())


def resolved_copy(instance, **changes):
    """``dataclasses.replace`` that keeps what the instance was given: settings it was given
    (and ``changes``) count as given in the copy, so a recipe fills the same ones again."""
    given = getattr(instance, "_given_settings", None)
    if given is None:
        given = frozenset(f.name for f in dataclasses.fields(instance) if was_given(instance, f.name))
    token = _GIVEN.set(given | frozenset(changes))
    try:
        return dataclasses.replace(instance, **changes)
    finally:
        _GIVEN.reset(token)


def was_given(instance, name: str) -> bool:
    """Whether setting ``name`` was given: named in build()'s values, or (an instance made
    directly in Python) different from its default."""
    given = _GIVEN.get()
    return name in given if given is not None else getattr(instance, name) != default_of(type(instance), name)


def canonical_name(cls, key: str) -> str | None:
    """The field a flag or file key names: its own name (dashes or underscores) or an alias."""
    key = str(key).strip().lstrip("-").replace("-", "_")
    for f in dataclasses.fields(cls):
        if key == f.name or key in {a.replace("-", "_") for a in (flag_of(f), *f.metadata.get("aliases", ()))}:
            return f.name
    return None


def _unknown(cls, key, where: str | None) -> UnknownSettingError:
    """No setting of ``cls`` is called ``key``: say so, with the closest name."""
    names = [f.name for f in dataclasses.fields(cls)]
    close = difflib.get_close_matches(str(key).replace("-", "_"), names, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return UnknownSettingError(f"{where + ': ' if where else ''}unknown setting {key!r}{hint}")


def build(cls, values: dict, *, where: str | None = None):
    """An instance of ``cls`` from ``values`` keyed by setting names or aliases; unknown
    and missing settings, and bad values, are one :class:`UserError` naming ``where``."""
    prefix = f"{where}: " if where else ""
    known = {}
    for key, value in values.items():
        name = canonical_name(cls, key)
        if name is None:
            raise _unknown(cls, key, where)
        known[name] = value
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.name not in known:
            raise UserError(f"{prefix}the setting {f.name} (--{flag_of(f)}) is required")
    token = _GIVEN.set(frozenset(known))
    try:
        return cls(**known)
    except SettingError as err:
        raise (err.at(where) if where else err) from None
    finally:
        _GIVEN.reset(token)


def read_settings_file(path) -> dict:
    """A JSON or YAML file holding one mapping, as a dict; a clear error otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read it ({getattr(err, 'strerror', None) or err})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise UserError(f"{path}: reading YAML needs PyYAML (pip install pyyaml), or write it as JSON") from None
        try:
            data = yaml.load(text, Loader=_unique_keys_loader(yaml))
        except yaml.YAMLError as err:
            raise UserError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
        except _RepeatedKey as err:
            raise UserError(f"{path}: the key {err.key!r} is given twice (lines {err.first} and {err.second}); "
                            "expected each setting once") from None
    else:
        try:
            data = json.loads(text, object_pairs_hook=_unique_pairs)
        except ValueError as err:
            raise UserError(f"{path}: not valid JSON ({err})") from None
        except _RepeatedKey as err:
            lines = [str(text.count("\n", 0, m.start()) + 1)
                     for m in re.finditer(re.escape(json.dumps(err.key)) + r"\s*:", text)][:2]
            where = f" (lines {' and '.join(lines)})" if len(lines) == 2 else ""  # found as written, or not said
            raise UserError(f"{path}: the key {err.key!r} is given twice{where}; expected each setting once") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of setting names to values, found {type(data).__name__}")
    return data


class _RepeatedKey(Exception):
    """A mapping names a key twice: the later value would win silently."""

    def __init__(self, key, first: int = 0, second: int = 0):
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


def _unique_pairs(pairs: list) -> dict:
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise _RepeatedKey(key)
        seen.add(key)
    return dict(pairs)


def _unique_keys_loader(yaml):
    """PyYAML's safe loader, refusing a mapping that names a key twice (with both lines)."""

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            lines = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in lines:
                    raise _RepeatedKey(key, lines[key], key_node.start_mark.line + 1)
                lines[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def _help(f: dataclasses.Field) -> str:
    """The field's help with what it allows and its default: ``text (one of: a, b; default: a)``."""
    meta = f.metadata
    notes = []
    choices = meta.get("choices")
    choices = choices() if callable(choices) else choices
    if choices:
        notes.append(f"one of: {', '.join(map(str, choices))}")
    if meta.get("default_text"):
        notes.append(f"default: {meta['default_text']}")
    elif f.default is dataclasses.MISSING:
        notes.append("required")
    elif f.default is not None:
        shown = {True: "on", False: "off"}[f.default] if isinstance(f.default, bool) else f.default
        notes.append(f"default: {shown}")
    text = meta.get("help", "") + (f" ({'; '.join(notes)})" if notes else "")
    return text.replace("%", "%%")


def add_arguments(parser: argparse.ArgumentParser, cls, *, only=None, exclude=()) -> None:
    """One flag per field of ``cls`` (those in ``only``, less ``exclude``), in the field's
    group. Values stay text here; :func:`build` converts and checks them, so a bad value
    gets the schema's one-line message. Flags not given are absent from the namespace."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    kinds = field_types(cls)
    order = getattr(cls, "GROUP_ORDER", ())
    for f in sorted(dataclasses.fields(cls), key=lambda f: order.index(f.metadata["group"])
                    if f.metadata["group"] in order else len(order)):
        if (only is not None and f.name not in only) or f.name in exclude:
            continue
        group = groups.get(f.metadata["group"]) or groups.setdefault(
            f.metadata["group"], parser.add_argument_group(f.metadata["group"]))
        names = [f"--{flag_of(f)}"] + [f"--{a.replace('_', '-')}" for a in f.metadata.get("aliases", ())]
        if kinds[f.name][0] is bool:
            group.add_argument(*names, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=_help(f))
        else:
            group.add_argument(*names, dest=f.name, default=argparse.SUPPRESS, help=_help(f),
                               metavar=f.name.upper())


def given(namespace: argparse.Namespace, cls) -> dict:
    """The settings of ``cls`` that were given on the command line."""
    return {f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls) if hasattr(namespace, f.name)}


def underscores_to_dashes(argv: list[str]) -> list[str]:
    """``--max_seq_length=64`` -> ``--max-seq-length=64``: the Hugging Face scripts' spelling."""
    out = []
    for item in argv:
        if item.startswith("--") and len(item) > 2:
            name, eq, value = item[2:].partition("=")
            item = "--" + name.replace("_", "-") + eq + value
        out.append(item)
    return out


def check_value(cls, name: str, value):
    """One setting of ``cls`` converted and checked on its own (for code that takes a
    setting outside a settings object, such as a loss built by name)."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return _checked(f, value, *field_types(cls)[name])


def check_values(cls, values: dict, *, where: str | None = None) -> dict:
    """Some settings of ``cls`` (keyed by name or alias), converted and checked one by one;
    an unknown key or a bad value is one error naming ``where``."""
    checked = {}
    for key, value in values.items():
        name = canonical_name(cls, key)
        if name is None:
            raise _unknown(cls, key, where)
        try:
            checked[name] = check_value(cls, name, value)
        except SettingError as err:
            raise (err.at(where) if where else err) from None
    return checked


def read_settings(cls, path) -> dict:
    """The settings in a JSON/YAML file, keyed by field name, each converted and checked."""
    return check_values(cls, read_settings_file(path), where=str(path))
