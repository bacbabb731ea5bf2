"""A test-only widget that exercises the front-end plumbing end to end.

It receives a float32 array as a binary trait and a list of untrusted strings, shows
them as text, answers a ``scale`` request with a buffer and fails a ``fail`` request
on purpose. Its front-end is ``widget_src/probe.ts``, built by ``widgets_js`` into
``static/probe.js``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import traitlets

from workbench.widgets._base import WorkbenchWidget, request
from workbench.widgets._buffers import to_buffer

BUNDLE = Path(__file__).resolve().parent / "static" / "probe.js"


class Probe(WorkbenchWidget):
    _esm = BUNDLE
    _css = """
    .probe-root { display: flex; flex-direction: column; gap: 4px; }
    .probe-label, .probe-echo { border: 1px solid #bbb; border-radius: 3px; padding: 0 3px; margin-right: 4px; }
    .wb-error { color: #b00020; }
    """

    values = traitlets.Dict().tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    clicks = traitlets.Int(0).tag(sync=True)

    def __init__(self, values=None, labels=(), **kwargs):
        if values is None:
            values = np.zeros(0, dtype=np.float32)
        super().__init__(values=to_buffer(values), labels=list(labels), **kwargs)

    @request
    def scale(self, values: np.ndarray, shape: list[int], factor: float = 2.0) -> dict:
        scaled = (np.asarray(values, dtype=np.float32) * np.float32(factor)).reshape(shape)
        return {"scaled": scaled, "total": float(scaled.sum()), "labels": list(self.labels)}

    @request
    def fail(self) -> None:
        raise ValueError("probe failure on purpose; the widget shows this message")
