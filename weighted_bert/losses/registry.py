"""Name -> loss factory. A new loss is one file that registers its factory here; the
settings it reads are its factory's parameters, listed for the package's own losses in
:data:`weighted_bert.loss_settings.LOSS_SETTINGS`.

Factories keep no defaults of their own: :func:`get_loss` fills what a caller leaves out
from the settings schema, and checks every value with the schema's own check.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from torch import nn

from ..errors import SettingError, one_of
from ..loss_settings import LOSS_SETTINGS, check_loss_value, loss_defaults, loss_setting_names

_FACTORIES: dict[str, Callable[..., nn.Module]] = {}
NUM_EXAMPLES = "num_examples"


def register_loss(name: str):
    """Register ``factory(class_counts, **settings) -> nn.Module`` under ``name``. Its
    parameters after ``class_counts`` are settings of :class:`~weighted_bert.loss_settings.LossSettings`
    (no defaults: those live in the schema); for the package's losses they must be the
    loss's entry in ``LOSS_SETTINGS``, and a new loss adds its entry. A multi-label loss
    may also take ``num_examples`` (the training rows: a label's negatives are the rest)."""

    def decorate(factory):
        if name in _FACTORIES:
            raise TypeError(f"loss {name!r} is registered twice")
        params = tuple(p for p in tuple(inspect.signature(factory).parameters)[1:] if p != NUM_EXAMPLES)
        unknown = set(params) - loss_setting_names()
        if unknown or set(params) != set(LOSS_SETTINGS.setdefault(name, params)):
            raise TypeError(f"loss {name!r}: the factory takes {params}, loss_settings.LOSS_SETTINGS names "
                            f"{LOSS_SETTINGS[name]}; every parameter must be a LossSettings setting")
        _FACTORIES[name] = factory
        return factory

    return decorate


def available_losses() -> list[str]:
    return sorted(_FACTORIES)


def loss_options(name: str) -> dict[str, object]:
    """The settings a loss reads, with their defaults."""
    _factory(name)
    return loss_defaults(name)


def get_loss(name: str, class_counts: Sequence[int], num_examples: int | None = None, **options) -> nn.Module:
    """Build loss ``name`` for a training set with per-class ``class_counts`` (multi-label:
    rows carrying each label, of ``num_examples`` rows; None: the sum of the counts).

    ``options`` are settings the loss reads (see :func:`loss_options`); those left out take
    their defaults. An option the loss does not read is an error, not silently ignored.
    """
    factory = _factory(name)
    unknown = sorted(set(options) - set(LOSS_SETTINGS[name]))
    if unknown:
        raise SettingError("loss", name, f"does not take option(s) {', '.join(unknown)}; it takes: "
                           f"{', '.join(LOSS_SETTINGS[name]) or 'none'}")
    values = {k: check_loss_value(k, v) for k, v in {**loss_defaults(name), **options}.items()}
    if NUM_EXAMPLES in inspect.signature(factory).parameters:
        values[NUM_EXAMPLES] = int(sum(class_counts) if num_examples is None else num_examples)
    return factory(list(class_counts), **values)


def _factory(name: str):
    if name not in _FACTORIES:
        raise SettingError("loss", name, one_of(available_losses()), human="unknown loss")
    return _FACTORIES[name]
