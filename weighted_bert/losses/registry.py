"""Name -> loss factory. A new loss is one file that registers its factory here."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from torch import nn

_FACTORIES: dict[str, Callable[..., nn.Module]] = {}


def register_loss(name: str):
    """Register ``factory(class_counts, **options) -> nn.Module`` under ``name``."""

    def decorate(factory):
        if name in _FACTORIES:
            raise ValueError(f"loss {name!r} is registered twice")
        _FACTORIES[name] = factory
        return factory

    return decorate


def available_losses() -> list[str]:
    return sorted(_FACTORIES)


def loss_options(name: str) -> dict[str, object]:
    """The options a loss takes, with their defaults (the CLI flags in snake_case)."""
    factory = _factory(name)
    params = list(inspect.signature(factory).parameters.values())[1:]
    return {p.name: p.default for p in params}


def get_loss(name: str, class_counts: Sequence[int], **options) -> nn.Module:
    """Build loss ``name`` for a training set with per-class ``class_counts``.

    ``options`` are the loss's own options (see :func:`loss_options`); an option the loss
    does not take is an error rather than silently ignored.
    """
    factory = _factory(name)
    unknown = sorted(set(options) - set(loss_options(name)))
    if unknown:
        raise ValueError(f"loss {name!r} does not take option(s) {', '.join(unknown)}; "
                         f"it takes: {', '.join(loss_options(name)) or 'none'}")
    return factory(list(class_counts), **options)


def _factory(name: str):
    if name not in _FACTORIES:
        raise ValueError(f"unknown loss {name!r}; choose one of: {', '.join(available_losses())}")
    return _FACTORIES[name]
