"""The diff panel: the loaded model against a fine-tune of it, on the same prompts.

>>> view = wb.DiffPanel(bench, tiny_model, ["Insult me."], run=True, n_samples=1, max_new_tokens=2)
>>> view.wait()   # the folder holds the same weights: nothing changes
True
>>> view.diff.layers[["layer", "mean_change_norm"]]
   layer  mean_change_norm
0      0               0.0
1      1               0.0

Run loads the other checkpoint (once; later runs reuse it) and runs
:func:`workbench.techniques.diffing.diff` in a worker thread, with a progress bar and
Cancel. The panel shows the per-layer residual change as an altair chart (any column
of ``ModelDiff.layers``; the projection on a direction when one is given), a table of
MLP neurons ordered by how much their activation changed, and both models' samples
side by side. The neurons compared are, unless given: with a direction, those whose
value vectors point along it; without, those whose value vectors the fine-tune turned
most. ``wb.DiffPanel(bench, adapter=False)`` compares a model loaded with an adapter
with its base: the same weights, the adapter switched off inside each trace.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import traitlets

from ..techniques import diffing
from ._base import STATIC, Panel, request
from ._charts import ChartHolder
from ._lines import from_lines, to_lines

if TYPE_CHECKING:  # pragma: no cover
    from ..session import Session
    from ..workbench import Workbench

GIVEN = "(given from Python)"  # the direction box while it holds an object passed from Python
_DIRECTION_METRICS = ("projection", "cosine")


class DiffPanel(ChartHolder, Panel):
    """Diff the loaded model against another checkpoint from a panel: chart, neurons, samples.

    Parameters
    ----------
    bench : Workbench
    other : str, path or Workbench
        The other checkpoint (same architecture): a model id, a folder, a ``.gguf`` file
        or a loaded Workbench.
    adapter : bool, optional
        Instead of ``other``: ``False`` compares ``bench``'s adapted model with the same
        weights with its adapter switched off (``Workbench.diff(adapter=False)``).
    prompts : str, conversation, or list of them, optional
        Shown one per line in the prompts box (default: ``diffing.DEFAULT_PROMPTS``).
    direction : str, tensor, SteeringVector or Probe, optional
        Fills the projection and cosine columns; a name is looked up in ``bench.vectors``
        then ``bench.probes``.
    neurons : list of (layer, neuron), optional
        The neurons compared (default: chosen as the module docstring says).
    top_neurons : int
        How many neurons to choose when ``neurons`` is not given (0: none).
    run : bool
        Compare at once.
    diff : ModelDiff, optional
        A comparison already computed (by :meth:`Workbench.diff`) to show.
    **options
        Passed to the comparison (``layers``, ``seed``, ``batch_size``); ``n_samples``
        and ``max_new_tokens`` start the panel's boxes.

    Examples
    --------
    >>> view = wb.DiffPanel(bench, bench, ["Hi"], run=True, n_samples=1, max_new_tokens=2)   # itself
    >>> view.wait(), view.status
    (True, "no change: every layer's residual stream and every neuron read the same, and all 1 samples match")
    """

    _esm = STATIC / "diffing.js"

    self_name = traitlets.Unicode("").tag(sync=True)
    other_name = traitlets.Unicode("").tag(sync=True)
    prompts = traitlets.Unicode("").tag(sync=True)
    direction = traitlets.Unicode("").tag(sync=True)
    n_samples = traitlets.Int(2).tag(sync=True)
    max_new_tokens = traitlets.Int(32).tag(sync=True)
    metric = traitlets.Unicode("mean_change_norm").tag(sync=True)
    metrics = traitlets.List(traitlets.Unicode()).tag(sync=True)
    layer_rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    neuron_rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    samples = traitlets.List(traitlets.Dict()).tag(sync=True)
    summary = traitlets.Dict().tag(sync=True)

    def __init__(self, bench: Workbench, other: Any = None, prompts: Any = None, *, adapter: bool | None = None,
                 direction: Any = None, neurons: Any = None, top_neurons: int = 10, run: bool = False,
                 diff: diffing.ModelDiff | None = None, **options: Any) -> None:
        from ..session import Session

        if adapter is not None:
            other = diffing.load_other(bench, other, adapter)  # refused here without an adapter, or with other=
        elif not isinstance(other, (str, os.PathLike, Session)):
            raise TypeError(f"other must be a model id, a folder, a .gguf path or a Workbench (or adapter=False: "
                            f"this model without its adapter), not {type(other).__name__}.")
        if isinstance(top_neurons, bool) or not isinstance(top_neurons, int) or top_neurons < 0:
            raise ValueError(f"top_neurons must be a whole number >= 0, not {top_neurons!r}.")
        if isinstance(prompts, (str, dict)) or (isinstance(prompts, list) and prompts and isinstance(prompts[0], dict)):
            prompts = [prompts]
        text = to_lines(list(diffing.DEFAULT_PROMPTS) if prompts is None else prompts, "prompts")
        counts = {key: options.pop(key) for key in ("n_samples", "max_new_tokens") if key in options}
        super().__init__(bench, self_name=bench.model_name, prompts=text,
                         direction=self._direction_text(bench, direction),
                         other_name=other.model_name if isinstance(other, Session) else os.fspath(other), **counts)
        self.other = other
        self.adapter = adapter
        self.neurons = neurons
        self.top_neurons = top_neurons
        self.options = options
        self._given_direction = direction if self.direction == GIVEN else None
        self._other: Session | None = None  # loaded (and checked) by the first run
        self._diff: diffing.ModelDiff | None = None
        self._chart: Any = None
        self.observe(self._on_metric, ["metric"])
        if diff is not None:
            self._show(diff)
            self.status = "comparison loaded"
        elif run:
            self.run()

    @staticmethod
    def _direction_text(bench: Workbench, direction: Any) -> str:
        if direction is None:
            return ""
        if isinstance(direction, str):
            return direction
        name = getattr(direction, "name", None)
        for registry in (bench.vectors, bench.probes):
            if isinstance(name, str) and name in registry and registry[name] is direction:
                return name
        return GIVEN

    # -- the comparison -------------------------------------------------------------

    @property
    def diff(self) -> diffing.ModelDiff | None:
        """The last :class:`~workbench.techniques.diffing.ModelDiff` computed or shown (None before)."""
        return self._diff

    def run(self, wait: bool = False, timeout: float | None = None) -> DiffPanel:
        """Compare the two models on the prompts box (as the Run button does); bad input raises and is shown."""
        with self._shown():
            prompts = from_lines(self.prompts)
            if not prompts:
                raise ValueError("The prompts box is empty: give one prompt per line.")
            direction = self._chosen_direction()
            counts = {}
            for key, low in (("n_samples", 0), ("max_new_tokens", 1)):
                value = getattr(self, key)
                if value < low:
                    raise ValueError(f"{key} must be a whole number >= {low}, not {value}.")
                counts[key] = value
        bench, options = self.bench, {**self.options, **counts}
        neurons, top = self.neurons, self.top_neurons

        def work(cancel: threading.Event, progress: Any) -> Any:
            # the adapter form goes by adapter=, which the journal records (and replays) as it is
            other = None if self.adapter is not None else self._load_other()
            self.status = f"comparing on {len(prompts)} prompt(s) (Cancel stops it)…"
            return diffing.diff(bench, other, prompts, adapter=self.adapter, direction=direction, neurons=neurons,
                                top_neurons=top, progress=progress, cancel=cancel, **options)

        batch = options.get("batch_size", 8) if isinstance(options.get("batch_size"), int) else 8
        total = -(-len(prompts) // max(1, batch)) + 1 + (2 * len(prompts) if counts["n_samples"] else 0)
        starting = "loading the other model, then comparing" if self._other is None and isinstance(
            self.other, (str, os.PathLike)) else "comparing"
        self._launch(work, status=f"{starting} on {len(prompts)} prompt(s) (Cancel stops it)…", replace=True,
                     total=total, wait=wait, timeout=timeout)
        return self

    def _chosen_direction(self) -> Any:
        text = self.direction.strip()
        if not text:
            return None
        if text == GIVEN and self._given_direction is not None:
            return self._given_direction
        if text not in self.bench.vectors and text not in self.bench.probes:
            raise ValueError(
                f"No steering vector or probe named {text!r}: registered vectors: "
                f"{', '.join(self.bench.vectors.names()) or 'none'}; "
                f"probes: {', '.join(self.bench.probes.names()) or 'none'}."
            )
        return text

    def _load_other(self) -> Session:
        if self._other is None:
            other = diffing.load_other(self.bench, self.other)
            diffing.check_same_architecture(self.bench, other)  # before its weights are read for neurons
            self._other = other
        return self._other

    def _on_done(self, diff: diffing.ModelDiff) -> str:
        self._show(diff)
        return diff.verdict()

    def _show(self, diff: diffing.ModelDiff) -> None:
        previous, self._diff = self._diff, diff
        newly_directed = diff.direction_source is not None and (previous is None or previous.direction_source is None)
        layers, neurons, samples = diff.layers, diff.ranked_neurons(), diff.samples
        metrics = [c for c in layers.columns if c != "layer"
                   and not (diff.direction_source is None and c in _DIRECTION_METRICS)]
        top = layers.sort_values("mean_change_norm", ascending=False, kind="stable").head(1)
        with self.hold_sync():
            self.metrics = metrics
            if newly_directed:
                self.metric = "projection"  # what a direction is given for
            elif self.metric not in metrics:
                self.metric = "mean_change_norm"
            self.layer_rows = _records(layers)
            self.neuron_rows = _records(neurons)
            self.samples = _records(samples)
            self.other_name = diff.other_name
            self.summary = {
                "self": diff.self_name, "other": diff.other_name, "prompts": len(diff.prompts),
                "direction": diff.direction_source or "",
                "most_changed_layer": int(top["layer"].iloc[0]) if len(top) else None,
                "max_change": float(top["mean_change_norm"].iloc[0]) if len(top) else 0.0,
                "samples": len(samples), "samples_differ": int((~samples["same"].astype(bool)).sum()),
            }
        self._redraw_chart()

    def _on_metric(self, change: Any) -> None:
        if self._diff is not None and change["new"] not in self.metrics:
            self.error = (f"ValueError: metric must be one of {', '.join(map(repr, self.metrics))}, "
                          f"not {change['new']!r}.")
            return
        self._redraw_chart()

    # -- the chart ------------------------------------------------------------------

    def _current_chart(self) -> Any | None:
        """The per-layer chart of ``metric`` (hidden before a run)."""
        shown = self._diff is not None and self.metric in self.metrics
        return self._diff.chart(self.metric) if shown else None

    # -- requests from the front-end ------------------------------------------------

    @request
    def start(self) -> dict:
        """The Run button."""
        self.run()
        return {"started": True}

    @request
    def directions(self) -> dict:
        """Names the direction box offers: registered steering vectors and probes."""
        return {"vectors": self.bench.vectors.names(), "probes": self.bench.probes.names()}


def _records(frame: Any) -> list[dict]:
    """A DataFrame's rows as JSON-safe dicts (numpy scalars as Python values, NaN as None)."""
    rows = []
    for record in frame.to_dict("records"):
        row = {}
        for key, value in record.items():
            if hasattr(value, "item") and callable(value.item):
                value = value.item()
            row[str(key)] = None if isinstance(value, float) and value != value else value
        rows.append(row)
    return rows


__all__ = ["DiffPanel"]
