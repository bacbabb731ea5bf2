"""Callbacks told about changes, held weakly: how an open panel follows an object that grows.

>>> class Log(Observed):
...     def add(self, line):
...         self._notify(line)
>>> seen = []
>>> log = Log()
>>> log.observe(seen.append)
>>> log.add("first")
>>> seen
['first']
"""

from __future__ import annotations

import inspect
import warnings
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["Observed"]


class Observed:
    """Mixin: :meth:`observe` registers a callback that :meth:`_notify` calls.

    A bound method (of a Python class) is held weakly, so a panel that is gone is not kept alive by what it
    watches. A callback that raises is reported as a warning and never breaks the
    change it was told about.
    """

    def observe(self, callback: Callable[..., Any]) -> None:
        """Call ``callback(...)`` after each change (e.g. an open panel that lists it)."""
        ref = weakref.WeakMethod(callback) if inspect.ismethod(callback) else (lambda: callback)
        self.__dict__.setdefault("_observers", []).append(ref)

    def unobserve(self, callback: Callable[..., Any]) -> None:
        """Stop calling ``callback``."""
        self.__dict__["_observers"] = [ref for ref in self.__dict__.get("_observers", []) if ref() != callback]

    def _notify(self, *args: Any) -> None:
        refs = self.__dict__.get("_observers", [])
        alive = [ref for ref in refs if ref() is not None]
        if len(alive) != len(refs):
            self.__dict__["_observers"] = alive
        for ref in alive:
            callback = ref()
            if callback is None:
                continue
            try:
                callback(*args)
            except Exception as error:  # an observer must never break the change itself
                warnings.warn(f"{getattr(callback, '__qualname__', callback)!s} failed when told about a change "
                              f"of {type(self).__name__} ({type(error).__name__}: {error}).", RuntimeWarning,
                              stacklevel=2)
