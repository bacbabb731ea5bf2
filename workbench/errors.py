"""The workbench's own exceptions, shared by every layer."""

from __future__ import annotations

__all__ = ["Cancelled"]


class Cancelled(Exception):
    """Long work stopped because its ``cancel`` event was set (the Cancel button, or your own event).

    Every cancellable technique that cannot return a partial result raises this one
    exception (sampling instead returns what was decoded, with ``cancelled=True``).
    Nothing half-done is kept: no file is written, nothing is registered.

    Examples
    --------
    >>> import threading, workbench as wb
    >>> stop = threading.Event(); stop.set()
    >>> try:
    ...     bench.probe(["a b"] * 4, ["c d"] * 4, layer=0, cancel=stop, progress=False)
    ... except wb.Cancelled as error:
    ...     print("stopped:", error)
    stopped: Probing was cancelled after 0 of 8 texts.
    """
