"""The workbench's own exceptions, shared by every layer."""

from __future__ import annotations

__all__ = ["Cancelled", "RemoteFailed"]


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


class RemoteFailed(RuntimeError):
    """A remote request failed: the server raised while running it, or the connection was lost.

    The message names the technique that sent it (``"activations: ..."``), what failed
    and what to do; the session stays usable, so the same call can simply be made again.

    Attributes
    ----------
    reason : str
        ``"server"`` (the server ran the request and raised) or ``"connection"`` (the
        request or its result did not get through).
    technique : str or None
        The technique whose request failed, once known.
    """

    def __init__(self, message: str, *, reason: str, technique: str | None = None) -> None:
        super().__init__(message)
        self.reason, self.technique = reason, technique

    def name_technique(self, technique: str) -> None:
        """Prefix the message with the technique that sent the request (once: the outermost one)."""
        if self.technique is None:
            self.technique = technique
            self.args = (f"{technique}: {self.args[0]}", *self.args[1:])
