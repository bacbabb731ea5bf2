"""Named objects of one kind registered on a session."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Iterator
from typing import Any


class Registry:
    """Named objects of one kind registered on a session (SAEs, vectors, probes)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Any] = {}
        self._observers: list[Any] = []

    def register(self, name: str, item: Any) -> Any:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A {self.kind} needs a non-empty string name, not {name!r}.")
        self._items[name] = item
        self._notify(name)
        return item

    def observe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` after each registration (e.g. a panel listing the names).

        A bound method is held weakly, so a panel that is gone is not kept alive.
        """
        ref = weakref.WeakMethod(callback) if inspect.ismethod(callback) else (lambda: callback)
        self._observers.append(ref)

    def _notify(self, name: str) -> None:
        alive = []
        for ref in self._observers:
            callback = ref()
            if callback is not None:
                alive.append(ref)
                callback(name)
        self._observers = alive

    def __getitem__(self, name: str) -> Any:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none yet"
            raise KeyError(f"No {self.kind} named {name!r}; registered: {known}.") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __repr__(self) -> str:
        return f"{self.kind}s[{', '.join(self.names())}]"
