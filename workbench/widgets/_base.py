"""The base of the workbench's anywidgets: requests from the front-end, answered.

Traits are the state; custom messages are requests. A front-end asks with
``createRequester(model)`` from ``widgets_js/src/lib/rpc.ts``::

    const request = createRequester(model);
    const reply = await request("top_features", { token: 3, k: 10 });

and the widget answers with a method marked :func:`request`::

    class TokenView(WorkbenchWidget):
        _esm = STATIC / "token_view.js"

        @request
        def top_features(self, token: int, k: int = 10) -> dict:
            return {"ids": ids, "values": values}   # numpy arrays / tensors go as buffers

Arguments arrive as keyword arguments (binary payloads decoded to numpy arrays);
arrays anywhere in the returned value travel as binary buffers and reach the
front-end as ``{view, dtype, shape}`` payloads for ``decode``. An exception raised by
the method is sent back to the front-end, which rejects the request's promise with
an ``Error`` naming the exception type and message so that the widget shows it
(``showError`` in ``widgets_js/src/lib/dom.ts``) instead of losing it in the kernel log.

The wire format (both directions are custom messages)::

    front-end -> kernel  {"kind": "wb:request", "id": str, "method": str,
                          "args": {...}, "buffer_paths": [...]}   + buffers
    kernel -> front-end  {"kind": "wb:response", "id": str, "ok": true,
                          "result": ..., "buffer_paths": [...]}   + buffers
                         {"kind": "wb:response", "id": str, "ok": false,
                          "error": {"type": str, "message": str}}

``buffer_paths`` are relative to ``args`` and ``result`` (see :func:`._buffers.pack`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import anywidget
import traitlets

from ..errors import Cancelled
from ._buffers import pack, unpack
from ._runs import BackgroundRun, model_free, model_lock

__all__ = ["STATIC", "Panel", "WorkbenchWidget", "request", "utf16_index"]

#: Folder of the built front-end bundles (``workbench/static``).
STATIC = Path(__file__).resolve().parent.parent / "static"

_REQUEST_ATTR = "_workbench_request"
_log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def utf16_index(text: str, index: int) -> int:
    """A Python string index into ``text`` as a JavaScript (UTF-16) one, for spans sent to a front-end."""
    return len(text[:index].encode("utf-16-le")) // 2


def request(method: F) -> F:
    """Mark a :class:`WorkbenchWidget` method as answerable from the front-end.

    The front-end calls it by its name with ``request(name, args)``; see the module
    docstring for the wire format.
    """
    setattr(method, _REQUEST_ATTR, True)
    return method


class WorkbenchWidget(anywidget.AnyWidget):
    """An anywidget whose front-end can call the methods marked :func:`request`."""

    # the one stylesheet of every panel (widgets_js/src/workbench.css), each panel's
    # rules scoped under its root class
    _css = STATIC / "workbench.css"
    _requests: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Callable[..., Any]] = {}
        for base in reversed(cls.__mro__):
            for name, attr in vars(base).items():
                if callable(attr) and getattr(attr, _REQUEST_ATTR, False):
                    found[name] = attr
        cls._requests = found

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_custom_msg)

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        if not isinstance(content, dict) or content.get("kind") != "wb:request":
            return
        request_id = content.get("id")
        method = content.get("method")
        try:
            handler = self._requests.get(method)  # type: ignore[arg-type]
            if handler is None:
                raise ValueError(
                    f"{type(self).__name__} has no request {method!r}; "
                    f"valid requests: {sorted(self._requests)}"
                )
            args = unpack(content.get("args") or {}, content.get("buffer_paths"), buffers)
            result = handler(self, **args)
            result, paths, out_buffers = pack(result)
        except Exception as exc:  # shown in the widget, not lost in the kernel log
            _log.debug("request %r of %s failed", method, type(self).__name__, exc_info=True)
            self.send(
                {
                    "kind": "wb:response",
                    "id": request_id,
                    "ok": False,
                    "error": {"type": type(exc).__name__, "message": str(exc)},
                }
            )
            return
        self.send(
            {"kind": "wb:response", "id": request_id, "ok": True, "result": result,
             "buffer_paths": paths},
            buffers=out_buffers,
        )


class Panel(WorkbenchWidget):
    """The base of every panel: one session, the run-state traits, a worker thread, Cancel and the error path.

    Each panel adds only its own traits. The run state is synced to the front-end:
    ``running``, ``progress`` (``{"step", "total"}``), ``status`` (a line of text) and
    ``error`` (shown in the widget, never lost in the kernel log). Long work goes
    through :meth:`_launch`, which runs it in a worker thread holding the session's
    model lock, with a ``threading.Event`` that the Cancel button (the ``stop``
    request) sets and a ``progress(step, total)`` callable. The panel's
    :meth:`_on_done` shows the result and returns the status line; an exception shows
    as the error, except :class:`workbench.Cancelled`, which only says ``cancelled``.
    """

    running = traitlets.Bool(False).tag(sync=True)
    progress = traitlets.Dict({"step": 0, "total": 0}).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, bench: Any, **traits: Any) -> None:
        super().__init__(**traits)
        self.bench = bench
        self._runs = BackgroundRun(on_progress=self._on_progress, on_done=self._finish_with, on_error=self._on_error)
        self._done = threading.Event()
        self._done.set()

    # -- errors ---------------------------------------------------------------------

    def _show_error(self, error: BaseException) -> None:
        self.error = f"{type(error).__name__}: {error}"

    @contextlib.contextmanager
    def _shown(self) -> Iterator[None]:
        """Show any exception raised inside in the panel, then raise it on (bad input from Python or a button)."""
        try:
            yield
        except Exception as error:
            self._show_error(error)
            raise

    @contextlib.contextmanager
    def _model(self) -> Iterator[None]:
        """Hold the model for a quick request on the kernel's main thread (refused while a run holds it)."""
        with model_free(self.bench):
            yield

    # -- long work --------------------------------------------------------------------

    def _launch(self, work: Callable[[threading.Event, Callable[[int, int], None]], Any], *, status: str,
                replace: bool = False, total: int | None = None, wait: bool = False,
                timeout: float | None = None) -> None:
        """Show the run as started, then run ``work(cancel, progress)`` in the worker thread.

        With ``replace`` a run still going is cancelled first (its result dropped);
        without, starting while running raises. ``wait`` blocks until the result is shown.
        """
        with self.hold_sync():
            self.error = ""
            self.running = True
            self.status = status
            if total is not None:
                self.progress = {"step": 0, "total": total}
        self._done.clear()
        if getattr(self.bench, "remote", False):  # a remote job's state (sent, queued, running...) shows as it moves
            work = self._with_remote_status(work, status)
        try:
            self._runs.start(work, replace=replace, lock=model_lock(self.bench))
        except Exception:
            self.running = False
            self._done.set()
            raise
        if wait:
            self.wait(timeout)

    def _with_remote_status(self, work: Callable, status: str) -> Callable:
        def remote_work(cancel: threading.Event, progress: Callable[[int, int], None]) -> Any:
            bench = self.bench
            bench._status = lambda state: setattr(self, "status", f"{status} (remote job: {state})")
            try:
                return work(cancel, progress)
            finally:
                bench._status = None

        return remote_work

    def cancel(self) -> bool:
        """Stop the run after its current step; returns whether one was going."""
        return self._runs.cancel()

    @request
    def stop(self) -> dict:
        """The Cancel button."""
        return {"cancelled": self.cancel()}

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run to end (results shown); returns whether it has."""
        return self._done.wait(timeout)

    def _on_progress(self, step: int, total: int) -> None:
        self.progress = {"step": step, "total": total}

    def _on_done(self, result: Any) -> str | None:  # pragma: no cover - each panel has its own
        """Show ``result``; return the status line (``None``: the panel called :meth:`_finished` itself)."""
        raise NotImplementedError

    def _finish_with(self, result: Any) -> None:
        status = self._on_done(result)
        if status is not None:
            self._finished(status)

    def _finished(self, status: str, error: str | None = None) -> None:
        """Record how the run ended (``error`` replaces the shown error when given); release :meth:`wait`."""
        with self.hold_sync():
            if error is not None:
                self.error = error
            self.status = status
            self.running = False
        self._done.set()

    def _on_error(self, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            self._finished(f"cancelled: {error}", error="")
        else:
            self._finished("failed", f"{type(error).__name__}: {error}")
