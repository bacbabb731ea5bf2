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

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anywidget

from ._buffers import pack, unpack

__all__ = ["STATIC", "WorkbenchWidget", "request", "utf16_index"]

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
    _requests: dict[str, Callable[..., Any]] = {}

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
