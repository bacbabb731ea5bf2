"""The probe panel: train a linear probe on two sets of texts, read it per layer, use it.

>>> insults = ["You idiot.", "Shut up, fool.", "Go away, moron.", "You clueless fool.", "What a stupid idea."]
>>> polite = ["Thank you kindly.", "Please, go ahead.", "That is very kind.", "Thanks a lot!", "What a lovely idea."]
>>> view = wb.ProbePanel(bench, insults, polite, run=True, name="insults")   # shown by ending a cell with it
>>> view.wait(), view.probe
(True, Probe('insults', layer=..., position='mean', accuracy=..., auroc=..., n=10))

Two text boxes hold the positive and negative examples, one per line (a line that is a
JSON list of role/content messages is a conversation). Train fits the probe through
:func:`workbench.techniques.probes.probe` in a worker thread, with a progress bar and
Cancel; the panel shows the held-out accuracy and AUROC of the chosen layer, and under
it the per-layer altair chart (:meth:`Probe.chart`). "Register as vector" turns the
probe's direction into a steering vector on the session (``bench.vectors``); the score
box shows a text's per-token probe scores, and "activations" opens it in the
activation panel, coloured by the probe.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import traitlets

from ..techniques import probes
from ._base import STATIC, Panel, request
from ._charts import ChartHolder
from ._lines import from_lines, to_lines
from ._links import ActivationLink

if TYPE_CHECKING:  # pragma: no cover
    from ..techniques.vectors import SteeringVector
    from ..workbench import Workbench
    from .activations import ActivationPanel

_RESULT_FIELDS = ("name", "layer", "position", "accuracy", "auroc", "train_accuracy", "n")


class ProbePanel(ActivationLink, ChartHolder, Panel):
    """Train a probe from a panel, chart it per layer, register it as a steering vector, score text.

    Parameters
    ----------
    bench : Workbench
    positive, negative : list of str or conversations, optional
        The two sets (at least 4 each), shown one per line in the boxes; the auditor
        can also type them there.
    layer : "all", int or list of int
        Layers probed (``"all"``: every layer; the best held-out one is chosen).
    position : {"mean", "last"}
        How each text is pooled.
    run : bool
        Train at once.
    probe : Probe, optional
        A probe already trained (e.g. by :meth:`Workbench.probe`) to show.
    name : str, optional
        The probe's name in ``bench.probes`` (default ``probe<N>``).
    panel : ActivationPanel, optional
        Where "activations" opens text (default: the panel's own, shown under it).
    **options
        Passed to the probe (``test_size``, ``seed``, ``batch_size``).

    Examples
    --------
    >>> view = wb.ProbePanel(bench, ["You idiot."] * 8, ["Thank you."] * 8, run=True, name="rude-probe")
    >>> view.wait()
    True
    >>> view.register_vector("rude")
    SteeringVector('rude', layer=..., d=64, scale=..., source='probe:rude-probe')
    >>> view.score_text("You absolute fool.").tokens[:4]
    ['Y', 'ou', ' a', 'b']
    """

    _esm = STATIC / "probes.js"

    positive = traitlets.Unicode("").tag(sync=True)
    negative = traitlets.Unicode("").tag(sync=True)
    layer = traitlets.Unicode("all").tag(sync=True)
    position = traitlets.Unicode("mean").tag(sync=True)
    n_layers = traitlets.Int(0).tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)
    result = traitlets.Dict().tag(sync=True)
    per_layer = traitlets.List(traitlets.Dict()).tag(sync=True)
    vector_name = traitlets.Unicode("").tag(sync=True)
    registered = traitlets.Dict().tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)
    scores = traitlets.Dict().tag(sync=True)

    def __init__(self, bench: Workbench, positive: Any = None, negative: Any = None, *, layer: Any = "all",
                 position: str = "mean", run: bool = False, probe: probes.Probe | None = None,
                 name: str | None = None, panel: ActivationPanel | None = None, **options: Any) -> None:
        layer_text = _layer_text(layer, bench.n_layers)
        if position not in probes.POSITIONS:
            raise ValueError(f"position must be one of {', '.join(map(repr, probes.POSITIONS))}, not {position!r}.")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"name must be a non-empty string, not {name!r}.")
        super().__init__(bench, positive=to_lines(positive, "positive"), negative=to_lines(negative, "negative"),
                         layer=layer_text, position=position, n_layers=bench.n_layers, name=name or "")
        self.options = options
        self._panel = panel
        self._probe: probes.Probe | None = None
        self._chart: Any = None
        if probe is not None:
            self._show(probe)
            self.status = f"probe {probe.name!r} loaded"
        elif run:
            self.train()

    # -- training -------------------------------------------------------------------

    @property
    def probe(self) -> probes.Probe | None:
        """The last :class:`~workbench.techniques.probes.Probe` trained or shown (None before)."""
        return self._probe

    def train(self, wait: bool = False, timeout: float | None = None) -> ProbePanel:
        """Fit the probe on the boxes' examples (as the Train button does); bad input raises and is shown."""
        with self._shown():
            positive, negative = self._examples("positive"), self._examples("negative")
            layer = _parse_layer(self.layer, self.bench.n_layers)
            if self.position not in probes.POSITIONS:
                raise ValueError(f"position must be one of {', '.join(map(repr, probes.POSITIONS))}, "
                                 f"not {self.position!r}.")
        bench, options, position = self.bench, dict(self.options), self.position
        name = self.name.strip() or None

        def work(cancel: threading.Event, progress: Any) -> Any:
            return probes.probe(bench, positive, negative, layer=layer, position=position, name=name,
                                progress=progress, cancel=cancel, **options)

        layers = "every layer" if layer is None else f"layer{'s' if len(layer) > 1 else ''} {self.layer}"
        self._launch(work, status=f"reading {len(positive) + len(negative)} texts at {layers} (Cancel stops it)…",
                     replace=True, total=len(positive) + len(negative), wait=wait, timeout=timeout)
        return self

    def _examples(self, side: str) -> list:
        items = from_lines(getattr(self, side))
        if len(items) < probes.MIN_PER_CLASS:
            raise ValueError(
                f"The {side} box has {len(items)} example(s); a probe needs at least {probes.MIN_PER_CLASS} "
                "per set, one per line (a few dozen for a trustworthy accuracy)."
            )
        return items

    def _on_done(self, probe: probes.Probe) -> str:
        self._show(probe)
        return (f"probe {probe.name!r}: layer {probe.layer} separates the sets with held-out accuracy "
                f"{probe.accuracy:.2f} and AUROC {probe.auroc:.2f}")

    def _show(self, probe: probes.Probe) -> None:
        previous, self._probe = self._probe, probe
        with self.hold_sync():
            self.result = {**{key: _plain(getattr(probe, key)) for key in _RESULT_FIELDS},
                           "n_test": int(probe.per_layer.set_index("layer").loc[probe.layer, "n_test"]),
                           "registered": probe.name in self.bench.probes and self.bench.probes[probe.name] is probe}
            self.per_layer = [{k: _plain(v) for k, v in row.items()} for row in probe.per_layer.to_dict("records")]
            if not self.vector_name or (previous is not None and self.vector_name == previous.name):
                self.vector_name = probe.name  # a name the auditor typed stays
            self.registered = {}
            self.scores = {}
        self._redraw_chart()

    def _need_probe(self) -> probes.Probe:
        if self._probe is None:
            raise ValueError("Train a probe first: there is none yet.")
        return self._probe

    # -- using the probe ------------------------------------------------------------

    def register_vector(self, name: str | None = None) -> SteeringVector:
        """Register the probe's direction as a steering vector at its layer (the "Register as vector" button)."""
        probe = self._need_probe()
        name = (self.vector_name if name is None else name).strip()
        if not name:
            raise ValueError("Give the steering vector a name.")
        replaced = name in self.bench.vectors
        with self._model():  # the vector's natural scale is measured on the model
            vector = probe.to_vector(self.bench, name=name)
        with self.hold_sync():
            self.vector_name = vector.name
            self.registered = {"name": vector.name, "layer": vector.layer, "scale": round(float(vector.scale), 4),
                               "replaced": replaced}
            self.status = (f"registered {vector.name!r} in bench.vectors at layer {vector.layer}"
                           + (" (replacing the vector of that name)" if replaced else ""))
        return vector

    def score_text(self, text: Any = None) -> probes.ProbeScores:
        """The probe's score at every token of ``text`` (default: the score box), shown in the panel."""
        probe = self._need_probe()
        text = self.text if text is None else text
        if isinstance(text, str) and not text.strip():
            raise ValueError("Type a text to score.")
        with self._model():
            scores = probe.score(self.bench, text)
        with self.hold_sync():
            if isinstance(text, str):
                self.text = text
            self.scores = {"tokens": [str(t) for t in scores.tokens], "scores": [float(s) for s in scores.scores],
                           "probe": probe.name, "layer": probe.layer}
        return scores

    def show_text(self, text: Any = None) -> ActivationPanel:
        """Open ``text`` (default: the score box) in the activation panel, coloured by the probe
        when it is registered on the session."""
        text = self.text if text is None else text
        if isinstance(text, str) and not text.strip():
            raise ValueError("Type a text to open in the activation panel.")
        panel = self._show_in_panel(text)
        probe = self._probe
        if probe is not None and probe.name in self.bench.probes and self.bench.probes[probe.name] is probe:
            panel.show_probe(probe.name)
        return panel

    # -- the chart ------------------------------------------------------------------

    def _current_chart(self) -> Any | None:
        """The per-layer accuracy chart (hidden before training)."""
        return None if self._probe is None else self._probe.chart()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        import ipywidgets

        parts = [self, self.chart] + ([] if self._panel is not None else [self.panel])
        return ipywidgets.VBox(parts)._repr_mimebundle_(**kwargs)

    # -- requests from the front-end ------------------------------------------------

    @request
    def start(self) -> dict:
        """The Train button."""
        self.train()
        return {"started": True}

    @request
    def to_vector(self, name: str = "") -> dict:
        """The "Register as vector" button."""
        self.register_vector(name or None)
        return dict(self.registered)

    @request
    def score(self, text: str) -> dict:
        """The Score button."""
        self.score_text(text)
        return {"tokens": len(self.scores["tokens"])}

    @request
    def to_panel(self, text: str) -> dict:
        """The "activations" button."""
        panel = self.show_text(text)
        return {"tokens": len(panel.tokens), "own_panel": self._panel is None, "probe": panel.selected_probe}


def _layer_text(layer: Any, n_layers: int) -> str:
    """The layer box's text for a ``layer`` argument (checked)."""
    if layer is None or layer == "all":
        return "all"
    if isinstance(layer, str):
        _parse_layer(layer, n_layers)
        return layer.strip()
    values = [layer] if not isinstance(layer, (list, tuple, range)) else list(layer)
    text = ", ".join(str(v) for v in values)
    _parse_layer(text, n_layers, given=layer)
    return text


def _parse_layer(text: str, n_layers: int, given: Any = None) -> list[int] | None:
    """The layer box: ``"all"`` (None: every layer) or layer numbers separated by commas."""
    shown = repr(given if given is not None else text)
    if text.strip().lower() in ("all", ""):
        return None
    layers = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part.lstrip("-").isdigit() or not 0 <= int(part) < n_layers:
            raise ValueError(f"layer must be 'all' or layer numbers in 0..{n_layers - 1} separated by commas, "
                             f"not {shown}.")
        layers.append(int(part))
    return sorted(set(layers))


def _plain(value: Any) -> Any:
    """numpy scalars as JSON-safe Python values (NaN as None)."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


__all__ = ["ProbePanel"]
