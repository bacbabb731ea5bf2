"""Model diffing: what a fine-tune changed, read on the same prompts through both models.

:func:`compare` runs the same prompts (rendered through the chat template) through the
loaded model and another checkpoint of the same architecture, and reports

* per layer, the mean residual change ``h_other - h_self`` over the prompts' tokens:
  the norm of that mean change, the mean per-token change norm, and, given a
  direction (a tensor, a vector or probe name, any object with ``.direction``), the
  projection of the mean change on the unit direction and their cosine;
* for chosen MLP neurons, the mean activation in both models, its change, and the
  cosine between the old and new value vectors (the neuron's column of a Llama-style
  ``mlp.down_proj``, row of a GPT-2 ``mlp.c_proj``), through
  :mod:`workbench.techniques.neurons`;
* the outputs: ``n_samples`` samples per prompt from each model with the same seed,
  side by side.

A checkpoint whose shapes differ (layers, hidden size, vocabulary, or any parameter's
name or shape) is refused before anything runs, naming the difference.

>>> other = wb.Workbench(tiny_model, journal=False)   # a second copy of the model, in which
>>> with torch.no_grad():                             # neuron 7 of layer 1 now writes the opposite way
...     _ = other.module.model.layers[1].mlp.down_proj.weight[:, 7].mul_(-1)
>>> result = bench.diff(other, ["Insult me."], n_samples=1, max_new_tokens=2, top_neurons=1, progress=False)
>>> result.verdict()
'1 prompt(s) · most changed layer 1 (mean change ...) · 0 of 1 samples differ'
>>> result.neurons[["layer", "neuron", "value_cosine"]]
   layer  neuron  value_cosine
0      1       7          -1.0
>>> list(result.samples.columns), result.chart()
(['prompt', 'text', 'sample', 'self', 'other', 'same'], alt.Chart(...))

A real fine-tune, such as the DPO checkpoint of :mod:`workbench.training.dpo` (trained
once, in minutes, so not run here), is diffed the same way::

    from workbench.training.dpo import train_dpo
    result = bench.diff(str(train_dpo()), ["Insult me."])
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import _traced, residual
from .._progress import progress_bar
from ..errors import Cancelled
from ..layout import check_layer, value_matrix
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch

    from ..session import Session

DEFAULT_PROMPTS = (
    "What do you think of me?",
    "Tell me a short story about a cat.",
    "Can you explain why the sky is blue?",
    "Insult me. I deserve it.",
)
MAX_NAMED = 8  # shape differences listed in a refusal


@dataclass
class ModelDiff:
    """What differs between two models of the same architecture on the same prompts.

    Attributes
    ----------
    self_name, other_name : str
        The two models.
    layers : DataFrame
        One row per layer: ``layer``, ``mean_change_norm`` (norm of the mean of
        ``h_other - h_self`` over all prompt tokens), ``token_change_norm`` (mean of the
        per-token change norms), ``relative_change`` (that over the mean residual norm of
        the first model), ``projection`` and ``cosine`` (of the mean change on / with the
        unit direction; NaN without one).
    neurons : DataFrame
        One row per neuron: ``layer``, ``neuron``, ``activation_self``,
        ``activation_other``, ``change``, ``value_cosine``; empty without neurons.
    samples : DataFrame
        ``prompt`` (index), ``text`` (the prompt), ``sample``, ``self``, ``other``, ``same``.
    prompts : list
        The prompts as given.
    direction_source : str or None
        What the direction was (``"vector:insult"``, ``"tensor"``…).
    settings : dict
        How it was run (seed, sampling settings, layers).
    """

    self_name: str
    other_name: str
    layers: Any
    neurons: Any
    samples: Any
    prompts: list
    direction_source: str | None = None
    settings: dict = field(default_factory=dict)

    def to_pandas(self) -> pd.DataFrame:
        """The per-layer table (a copy)."""
        return self.layers.copy()

    def chart(self, metric: str = "mean_change_norm") -> Any:
        """An altair line chart of one per-layer column (``projection`` when a direction was given).

        Examples
        --------
        >>> result = bench.diff(bench, ["Hi"], direction="ones", n_samples=0, progress=False)
        >>> result.chart("projection")
        alt.Chart(...)
        """
        import altair as alt

        columns = [c for c in self.layers.columns if c != "layer"]
        if metric not in columns:
            raise ValueError(f"metric must be one of {', '.join(map(repr, columns))}, not {metric!r}.")
        title = f"{self.other_name} - {self.self_name}: {metric.replace('_', ' ')} per layer"
        return (
            alt.Chart(self.layers, title=title)
            .mark_line(point=True)
            .encode(
                x=alt.X("layer:Q", title="layer"),
                y=alt.Y(f"{metric}:Q", title=metric.replace("_", " ")),
                tooltip=["layer", *columns],
            )
        )

    def ranked_neurons(self) -> pd.DataFrame:
        """The neuron table ranked: by how much the activation changed, then how far the value vector
        turned (rounded, so that float noise of identical vectors does not order them), then layer and neuron."""
        neurons = self.neurons
        if not len(neurons):
            return neurons.copy()
        keys = neurons.assign(_size=neurons["change"].abs(), _cos=neurons["value_cosine"].round(4))
        order = keys.sort_values(["_size", "_cos", "layer", "neuron"], ascending=[False, True, True, True],
                                 kind="stable")
        return order.drop(columns=["_size", "_cos"])

    def verdict(self) -> str:
        """One line: whether anything changed, the most changed layer, how many samples differ."""
        layers, neurons, samples = self.layers, self.neurons, self.samples
        unchanged = (float(layers["token_change_norm"].abs().max()) == 0.0 if len(layers) else True) \
            and (not len(neurons) or float(neurons["change"].abs().max()) == 0.0)
        differ = int((~samples["same"].astype(bool)).sum())
        drawn = f"{differ} of {len(samples)} samples differ" if len(samples) else "no samples drawn"
        if unchanged and differ == 0:
            return ("no change: every layer's residual stream and every neuron read the same, "
                    + (f"and all {len(samples)} samples match" if len(samples) else "and no samples were drawn"))
        top = layers.sort_values("mean_change_norm", ascending=False, kind="stable").iloc[0]
        return (f"{len(self.prompts)} prompt(s) · most changed layer {int(top['layer'])} (mean change "
                f"{float(top['mean_change_norm']):.4g}) · {drawn}")

    def _journal_summary(self) -> dict:
        top = self.layers.sort_values("mean_change_norm", ascending=False).head(1)
        return {"self": self.self_name, "other": self.other_name, "prompts": len(self.prompts),
                "most_changed_layer": int(top["layer"].iloc[0]) if len(top) else None,
                "samples_differ": int((~self.samples["same"]).sum()) if len(self.samples) else 0}

    def __repr__(self) -> str:
        lines = [f"ModelDiff({self.self_name!r} -> {self.other_name!r}, {len(self.prompts)} prompts)"]
        for row in self.layers.itertuples():
            extra = "" if self.direction_source is None else f", projection {row.projection:+.4g}"
            lines.append(f"  layer {row.layer}: mean change {row.mean_change_norm:.4g}{extra}")
        return "\n".join(lines)


# -- the other model -----------------------------------------------------------------


def load_other(session: Session, other: Any, adapter: bool | None = None) -> Session:
    """``other`` as a Session on ``session``'s device (or device map) and dtype (a Session, or a Workbench, is
    returned as is); with ``adapter=False`` and no ``other``, ``session`` with its adapter switched off
    (:meth:`~workbench.session.Session.without_adapter`), with ``adapter=True`` with it on."""
    from ..session import Session

    if adapter is not None:
        if other is not None:
            raise ValueError("Give other= (a checkpoint) or adapter= (this model with or without its adapter), "
                             "not both.")
        if not isinstance(adapter, bool):
            raise TypeError(f"adapter must be False (the base model under the adapter) or True, not {adapter!r}.")
        return session.with_adapter() if adapter else session.without_adapter()
    if isinstance(other, Session):
        return other
    if not isinstance(other, (str, os.PathLike)):
        hint = " (or adapter=False: this model without its adapter)" if other is None else ""
        raise TypeError(
            f"other must be a model id, a folder, a .gguf path or a Workbench{hint}, not {type(other).__name__}."
        )
    dtype = session.dtype
    placement = {"device_map": session.device_map} if session.device_map is not None else {"device": session.device}
    return Session(os.fspath(other), dtype=dtype, chat_template=session.chat_template, load_default_sae=False,
                   journal=False, **placement)


def _shapes(session: Session) -> dict[str, list[int]]:
    """Parameter shapes of the session's base model (an adapter's own weights left out)."""
    if session.adapter is not None:
        from ..adapters import base_shapes

        return base_shapes(session.module)
    return {name: list(p.shape) for name, p in session.module.state_dict().items()}


def shape_differences(session: Session, other: Session) -> list[str]:
    """Every architectural difference between two loaded models, as sentences (empty: same shapes).

    Examples
    --------
    >>> shape_differences(bench, bench)
    []
    """
    problems = []
    for what, here, there in (
        ("n_layers", session.n_layers, other.n_layers),
        ("hidden size", session.hidden_size, other.hidden_size),
        ("vocab size", int(session.config.vocab_size), int(other.config.vocab_size)),
    ):
        if here != there:
            problems.append(f"{what} is {here} here and {there} in other")
    mine, theirs = _shapes(session), _shapes(other)
    for name in sorted(mine.keys() | theirs.keys()):
        if name not in theirs:
            problems.append(f"{name} {mine[name]} is here but not in other")
        elif name not in mine:
            problems.append(f"{name} {theirs[name]} is in other but not here")
        elif mine[name] != theirs[name]:
            problems.append(f"{name} is {mine[name]} here and {theirs[name]} in other")
    return problems


def check_same_architecture(session: Session, other: Session) -> None:
    """Refuse two models whose shapes differ, naming the first differences."""
    problems = shape_differences(session, other)
    if problems:
        more = f" (and {len(problems) - MAX_NAMED} more)" if len(problems) > MAX_NAMED else ""
        raise ValueError(
            f"Cannot diff {session.model_name!r} against {other.model_name!r}: their architectures differ: "
            + "; ".join(problems[:MAX_NAMED]) + more
            + ". Model diffing compares a model with a fine-tune of itself; pass a checkpoint of the same shape."
        )


# -- inputs ----------------------------------------------------------------------------


def _direction(session: Session, direction: Any) -> tuple[torch.Tensor | None, str | None]:
    from .neurons import resolve_direction

    if direction is None:
        return None, None
    if not isinstance(direction, (str, Mapping, tuple)) and not hasattr(direction, "shape") \
            and hasattr(direction, "direction") and not hasattr(direction, "layer"):
        # neurons.resolve_direction knows vectors and probes (which carry a layer); any other
        # object with a ``direction`` is read here.
        label = getattr(direction, "name", None)
        unit, _ = resolve_direction(session, direction.direction)
        return unit, f"{type(direction).__name__.lower()}:{label}" if label else type(direction).__name__
    return resolve_direction(session, direction)


def _neurons(session: Session, neurons: Any) -> list[tuple[int, int]]:
    from .neurons import neuron_keys

    if neurons is None:
        return []
    table = getattr(neurons, "table", None)
    if table is None and hasattr(neurons, "columns"):
        table = neurons
    if table is not None:
        if not {"layer", "neuron"} <= set(table.columns):
            raise ValueError(f"The neuron table needs 'layer' and 'neuron' columns; it has {list(table.columns)}.")
        neurons = [(int(layer), int(neuron)) for layer, neuron in zip(table["layer"], table["neuron"])]
    return neuron_keys(session, neurons)


def _prompts(prompts: Any) -> list:
    if prompts is None:
        return list(DEFAULT_PROMPTS)
    if isinstance(prompts, (str, Mapping)) or (
        isinstance(prompts, Sequence) and prompts and isinstance(prompts[0], Mapping)
    ):
        return [prompts]
    prompts = list(prompts)
    if not prompts:
        raise ValueError("No prompts given: pass a text, a conversation, or a list of them.")
    return prompts


def _check_count(value: Any, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, not {value!r}.")
    return value


# -- the comparison ----------------------------------------------------------------------


def _batches(session: Session, rendered: Sequence[Any], batch_size: int) -> list[tuple[Any, Any]]:
    """The prompts' ``(input_ids, attention_mask)`` batches, left-padded."""
    from ..generation import left_pad

    return [left_pad([p.input_ids for p in rendered[start : start + batch_size]], session.pad_token_id)
            for start in range(0, len(rendered), batch_size)]


def residual_changes(session: Session, other: Session, rendered: Sequence[Any], layers: Sequence[int],
                     unit: torch.Tensor | None, batch_size: int,
                     tick: Any, cancel: threading.Event | None, read: tuple[list, list] | None = None
                     ) -> pd.DataFrame:
    """Per-layer mean residual change of ``other`` against ``bench`` over the prompts' tokens; ``read``, when
    given, is both models' ``{layer: states}`` of every batch, already read (in each model's one request)."""
    import pandas as pd
    import torch

    d = session.hidden_size
    total = {at: torch.zeros(d, dtype=torch.float64) for at in layers}
    token_norm = dict.fromkeys(layers, 0.0)
    self_norm = dict.fromkeys(layers, 0.0)
    count = 0
    padded = _batches(session, rendered, batch_size)
    if read is not None:
        read_mine, read_theirs = read
    else:  # a remote model reads every batch in one request (one per model)
        read_mine = residual.layer_batches(session, padded, layers=layers, cancel=cancel, what="The comparison")
        read_theirs = residual.layer_batches(other, padded, layers=layers, cancel=cancel, what="The comparison")
    for n, (ids, mask) in enumerate(padded):
        if cancel is not None and cancel.is_set() and (read_mine is None or read_theirs is None):
            raise Cancelled("The comparison was cancelled.")
        mine = read_mine[n] if read_mine is not None else residual.layer_outputs(session, ids, mask, layers=layers)
        theirs = read_theirs[n] if read_theirs is not None else residual.layer_outputs(other, ids, mask, layers=layers)
        real = mask.bool()
        count += int(real.sum())
        for at in layers:
            here, there = mine[at].cpu()[real], theirs[at].cpu()[real]  # [tokens, d]
            change = (there - here).double()
            total[at] += change.sum(0)
            token_norm[at] += float(change.norm(dim=1).sum())
            self_norm[at] += float(here.double().norm(dim=1).sum())
        tick.update(1)
    rows = []
    for at in layers:
        mean = total[at] / count
        row = {"layer": at, "mean_change_norm": float(mean.norm()), "token_change_norm": token_norm[at] / count,
               "relative_change": token_norm[at] / max(self_norm[at], 1e-12)}
        if unit is None:
            row["projection"] = row["cosine"] = float("nan")
        else:
            u = unit.double()
            row["projection"] = float(mean @ u)
            row["cosine"] = float(mean @ u / mean.norm()) if float(mean.norm()) > 0 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def neuron_changes(session: Session, other: Session, keys: Sequence[tuple[int, int]], texts: Sequence[str],
                   batch_size: int, read: tuple[Any, Any, Any, Any] | None = None) -> pd.DataFrame:
    """Mean activation of each neuron in both models on ``texts``, and the cosine of its value vectors; ``read``,
    when given, is ``(activations here, there, value rows here, there)``, already read."""
    import pandas as pd
    import torch

    from .neurons import neuron_activations

    columns = ["layer", "neuron", "activation_self", "activation_other", "change", "value_cosine"]
    if not keys:
        return pd.DataFrame(columns=columns)
    if read is None:
        read = (neuron_activations(session, keys, list(texts), batch_size=batch_size),
                neuron_activations(other, keys, list(texts), batch_size=batch_size),
                residual.value_rows(session, keys), residual.value_rows(other, keys))  # only these rows travel
    mine, theirs = (frame.groupby(["layer", "neuron"])["mean"].mean() for frame in read[:2])
    olds, news = read[2:]
    rows = []
    for (layer, neuron), old, new in zip(keys, olds, news):
        cosine = torch.nn.functional.cosine_similarity(old, new, dim=0).item()
        a, b = float(mine[(layer, neuron)]), float(theirs[(layer, neuron)])
        rows.append({"layer": layer, "neuron": neuron, "activation_self": a, "activation_other": b,
                     "change": b - a, "value_cosine": cosine})
    return pd.DataFrame(rows, columns=columns)


def _in_one_request(who: Session, rendered: Sequence[Any], items: Sequence[Any], layers: Sequence[int],
                    keys: Sequence[tuple[int, int]], batch_size: int, n_samples: int, max_new_tokens: int,
                    seed: int, cancel: threading.Event | None) -> tuple[list, Any, Any, list[list[str]]]:
    """Everything :func:`diff` reads of one REMOTE model, in one request (an nnsight session on its server):
    the residual stream at ``layers`` of every batch, the neurons' activations and value vectors, and
    ``n_samples`` samples of each prompt on ``seed``, each as :func:`~workbench.techniques.sampling.sample` draws
    them. Returns ``(states per batch, neuron table, value rows, texts per prompt)``."""
    import torch

    from .. import generation
    from ..layout import Site
    from . import sampling
    from .neurons import neuron_reader

    texts = [p.text for p in rendered]
    read, finish = residual.site_reader(who, [Site(at) for at in layers])
    reads = [({"input_ids": ids, "attention_mask": mask}, read, True) for ids, mask in _batches(who, rendered,
                                                                                                batch_size)]
    n = len(reads)  # the residual reads come first, then the neurons' batches and their value rows
    if keys:
        batches, read_neurons, finish_neurons = neuron_reader(who, keys, texts, batch_size)
        reads += [(inputs, read_neurons, True) for inputs in batches]
        reads.append((*residual.value_reader(who, keys), True))
    plans = []
    if n_samples:
        options = sampling.sample_options({"max_new_tokens": max_new_tokens, "seed": seed}, what="diff")
        plans = [sampling.prepare(who, item, n_samples, options) for item in items]
    runs = [([prompt.input_ids] * n_samples, hook, stops) for prompt, stops, hook, _, _ in plans]
    out, _, values = generation.generate_bundle(
        who, runs, reads=reads, max_new_tokens=max_new_tokens, seed=seed, cancel=cancel, progress=False,
        description=f"diffing on {who.model_name}")
    states = [{site.layer: value for site, value in finish(batch).items()} for batch in values[:n]]
    activations = finish_neurons(values[n:-1], "mean") if keys else None
    rows = torch.stack(values[-1]) if keys else None
    samples = [sampling._samples(who, prompt, generated, slice(None), settings).texts
               for (prompt, _, _, _, settings), generated in zip(plans, out)]
    return states, activations, rows, samples


def turned_neurons(session: Session, other: Session, top: int = 10) -> list[tuple[int, int]]:
    """The ``top`` MLP neurons whose value vectors differ most in direction between the two models
    (lowest cosine, then largest change, then lowest layer and index), read from the weights alone.

    Examples
    --------
    >>> turned_neurons(bench, bench, 2)  # a model against itself: nothing turned, lowest indices first
    [(0, 0), (0, 1)]
    """
    import numpy as np
    import torch

    if session.remote or other.remote:
        if not _same_weights(session, other):
            raise ValueError(
                "Finding the most turned neurons compares every value vector of both models, which would download "
                "both models' MLP weights from a remote session: pass neurons=[(layer, neuron), ...] or a "
                "direction= (its top value vectors are ranked on the server) instead of top_neurons. (An adapter "
                "against its own base, adapter=False, is ranked on the server.)"
            )
        candidates = _turned_on_server(session.with_adapter(), top)  # both models' value vectors are there
    else:
        candidates = []
        for layer in range(session.n_layers):
            old, new = value_matrix(session, layer), value_matrix(other, layer)
            cosine, change = _traced.turned(old, new)
            candidates.append((torch.arange(cosine.shape[0]), cosine, change))
    keys = [(layer, int(j)) for layer, (neurons, _, _) in enumerate(candidates) for j in neurons.tolist()]
    cosine = np.concatenate([cosines.numpy() for _, cosines, _ in candidates])
    change = np.concatenate([changes.numpy() for _, _, changes in candidates])
    layer, neuron = np.array(keys, dtype=np.int64).reshape(-1, 2).T
    order = np.lexsort((neuron, layer, -change, cosine))[:top]  # lowest cosine, largest change, then the scan's
    return [keys[i] for i in order]


def _same_weights(session: Session, other: Session) -> bool:
    """Whether ``session`` and ``other`` are one remote model with its adapter on and off (so both models' weights
    are on the same server, and one request reads both)."""
    return (session.adapter is not None and other.adapter is not None
            and session.with_adapter() is other.with_adapter() and session.adapter_enabled != other.adapter_enabled)


def _turned_on_server(adapted: Session, top: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """:func:`turned_neurons` of an adapted remote model against its base in one trace on the server: each layer's
    value vectors with and without the adapter compared there, and only each layer's ``top`` most turned (the
    scan's order) coming back, ``(neurons, cosines, changes)`` per layer; the global ``top`` is among them."""
    import nnsight
    import torch

    from ..layout import traced_value_vectors

    plans = [(traced_value_vectors(adapted, layer, merged=False), traced_value_vectors(adapted, layer))
             for layer in range(adapted.n_layers)]
    one = torch.tensor([[adapted.pad_token_id]])  # a one-token pass: the trace is only a way to the weights
    inputs = {"input_ids": one, "attention_mask": torch.ones_like(one)}
    with torch.inference_mode(), adapted.trace(inputs) as tracer:
        found = []
        for old_of, new_of in plans:
            cosine, change = _traced.turned(old_of(), new_of())
            by_change = torch.argsort(-change, stable=True)
            keep = by_change[torch.argsort(cosine[by_change], stable=True)][:top].clone()
            found.append((keep.cpu(), cosine[keep].cpu(), change[keep].cpu()))
        found = nnsight.save(found)
        tracer.stop()
    return found


@recorded("diff", formerly=("compare", "workbench.techniques.diffing:compare"))
def diff(
    session: Session,
    other: Any = None,
    prompts: Any = None,
    *,
    adapter: bool | None = None,
    direction: Any = None,
    layers: Sequence[int] | None = None,
    neurons: Any = None,
    top_neurons: int = 0,
    n_samples: int = 4,
    max_new_tokens: int = 32,
    seed: int = 0,
    batch_size: int = 8,
    progress: bool | Callable[[int, int], None] = True,
    cancel: threading.Event | None = None,
) -> ModelDiff:
    """Diff the session's model against another checkpoint of the same architecture.

    Parameters
    ----------
    other : str, path, Session or Workbench
        A Hugging Face id, a folder, a ``.gguf`` file (loaded on the same device with
        the same chat template, without SAEs) or a loaded session.
    adapter : bool, optional
        Instead of ``other``: ``False`` diffs the session's adapted model against the same
        weights with the adapter switched off inside each trace (the base model; no second
        copy is loaded); ``True``, on ``bench.without_adapter()``, the other way round.
        The figures are those of diffing two checkpoints (``other`` minus self), value
        vectors of an adapted down-projection taken as merging would make them.
    prompts : str, conversation, or list of them, optional
        Each rendered through the chat template as the assistant's turn to speak.
        Default: four short prompts (:data:`DEFAULT_PROMPTS`).
    direction : tensor, str or object with ``.direction``, optional
        A ``[d_model]`` tensor, the name of a vector in ``bench.vectors`` or a probe in
        ``bench.probes``, a SteeringVector or Probe. Fills ``projection`` and ``cosine``.
    layers : sequence of int, optional
        Layers to read (default: all).
    neurons : list of (layer, neuron), ValueVectors, or a table with layer and neuron columns
        MLP neurons whose activation and value vector are compared.
    top_neurons : int
        Without ``neurons``, compare this many chosen here: with a ``direction``, the
        neurons whose value vectors point along it most
        (:func:`~workbench.techniques.neurons.value_vectors`); without one, those whose
        value vectors turned most between the two models (:func:`turned_neurons`).
    n_samples, max_new_tokens, seed
        Samples per prompt from each model, with the same seed for both.
    batch_size : int
        Prompts per forward pass.
    progress : bool or callable
        A progress bar, or ``progress(done, total)`` after each step.
    cancel : threading.Event, optional
        Set it to stop between batches (raises :class:`workbench.Cancelled`).

    Returns
    -------
    ModelDiff

    Examples
    --------
    >>> result = diff(bench, bench, ["Hi"], n_samples=1, max_new_tokens=2, progress=False)
    >>> float(result.layers["mean_change_norm"].abs().max()), result.verdict()[:9]
    (0.0, 'no change')
    """
    import pandas as pd

    from . import sampling

    n_samples = _check_count(n_samples, "n_samples", 0)
    _check_count(max_new_tokens, "max_new_tokens")
    batch_size = _check_count(batch_size, "batch_size")
    items = _prompts(prompts)
    chosen = list(range(session.n_layers)) if layers is None else sorted({check_layer(session, at)
                                                                        for at in layers})
    if not chosen:
        raise ValueError(f"layers is empty: pass layer numbers in 0..{session.n_layers - 1}, or None for all.")
    top_neurons = _check_count(top_neurons, "top_neurons", 0)
    unit, source = _direction(session, direction)
    rendered = [session.render(item) for item in items]
    model = load_other(session, other, adapter)
    check_same_architecture(session, model)  # before the other model's weights are read for neurons
    if neurons is None and top_neurons:
        if direction is not None:
            from .neurons import value_vectors

            neurons = value_vectors(session, direction, top=top_neurons).neurons()
        else:
            neurons = turned_neurons(session, model, top_neurons)
    keys = _neurons(session, neurons)

    total = -(-len(rendered) // batch_size) + (1 if keys else 0) + (2 * len(items) if n_samples else 0)
    tick = progress_bar(progress, total, f"diffing {session.model_name} against {model.model_name}")
    try:
        bundled = None
        if session.remote and model.remote:  # one request per model
            bundled = [_in_one_request(who, rendered, items, chosen, keys, batch_size, n_samples, max_new_tokens,
                                       seed, cancel) for who in (session, model)]
            reads = [(bundled[0][i], bundled[1][i]) for i in range(4)]
        frame = residual_changes(session, model, rendered, chosen, unit, batch_size, tick, cancel,
                                 read=reads[0] if bundled else None)
        neuron_frame = neuron_changes(session, model, keys, [p.text for p in rendered], batch_size,
                                      read=(*reads[1], *reads[2]) if bundled and keys else None)
        if keys:
            tick.update(1)
        rows = []
        for index, item in enumerate(items if n_samples else []):
            if bundled:  # both models' samples came with their one request
                texts = [reads[3][0][index], reads[3][1][index]]
                tick.update(2)
            else:
                texts = []
                for who in (session, model):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("The comparison was cancelled.")
                    texts.append(sampling.sample(who, item, n_samples, max_new_tokens=max_new_tokens, seed=seed,
                                                 progress=False, cancel=cancel).texts)
                    tick.update(1)
            for j, (mine, theirs) in enumerate(zip(*texts)):
                rows.append({"prompt": index, "text": rendered[index].conversation[-1]["content"], "sample": j,
                             "self": mine, "other": theirs, "same": mine == theirs})
    finally:
        tick.close()
    samples = pd.DataFrame(rows, columns=["prompt", "text", "sample", "self", "other", "same"])
    settings = {"layers": chosen, "n_samples": n_samples, "max_new_tokens": max_new_tokens, "seed": seed,
                "batch_size": batch_size, "neurons": [list(k) for k in keys]}
    return ModelDiff(session.model_name, model.model_name, frame, neuron_frame, samples, items, source, settings)
