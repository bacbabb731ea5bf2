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

>>> diff = bench.compare("~/.cache/workbench/checkpoints/dpo-insults-…", ["Insult me."])  # doctest: +SKIP
>>> diff.layers, diff.samples, diff.chart()                                             # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import chat, residual
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch

    from ..session import Workbench

DEFAULT_PROMPTS = (
    "What do you think of me?",
    "Tell me a short story about a cat.",
    "Can you explain why the sky is blue?",
    "Insult me. I deserve it.",
)
MAX_NAMED = 8  # shape differences listed in a refusal


class DiffCancelled(Exception):
    """The comparison was stopped by its cancel event."""


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
        >>> diff.chart("projection")                               # doctest: +SKIP
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


def load_other(bench: Workbench, other: Any) -> Workbench:
    """``other`` as a Workbench on ``bench``'s device and dtype (a Workbench is returned as is)."""
    from ..session import Workbench

    if isinstance(other, Workbench):
        return other
    if not isinstance(other, (str, os.PathLike)):
        raise TypeError(
            f"other must be a model id, a folder, a .gguf path or a Workbench, not {type(other).__name__}."
        )
    dtype = next(bench.model._module.parameters()).dtype
    return Workbench(os.fspath(other), device=bench.device, dtype=dtype, chat_template=bench.chat_template,
                     load_default_sae=False, journal=False)


def shape_differences(bench: Workbench, other: Workbench) -> list[str]:
    """Every architectural difference between two loaded models, as sentences (empty: same shapes).

    Examples
    --------
    >>> shape_differences(bench, bench)          # doctest: +SKIP
    []
    """
    problems = []
    for what, here, there in (
        ("n_layers", bench.n_layers, other.n_layers),
        ("hidden size", bench.hidden_size, other.hidden_size),
        ("vocab size", int(bench.config.vocab_size), int(other.config.vocab_size)),
    ):
        if here != there:
            problems.append(f"{what} is {here} here and {there} in other")
    mine = {name: list(p.shape) for name, p in bench.model._module.state_dict().items()}
    theirs = {name: list(p.shape) for name, p in other.model._module.state_dict().items()}
    for name in sorted(mine.keys() | theirs.keys()):
        if name not in theirs:
            problems.append(f"{name} {mine[name]} is here but not in other")
        elif name not in mine:
            problems.append(f"{name} {theirs[name]} is in other but not here")
        elif mine[name] != theirs[name]:
            problems.append(f"{name} is {mine[name]} here and {theirs[name]} in other")
    return problems


def check_same_architecture(bench: Workbench, other: Workbench) -> None:
    """Refuse two models whose shapes differ, naming the first differences."""
    problems = shape_differences(bench, other)
    if problems:
        more = f" (and {len(problems) - MAX_NAMED} more)" if len(problems) > MAX_NAMED else ""
        raise ValueError(
            f"Cannot diff {bench.model_name!r} against {other.model_name!r}: their architectures differ: "
            + "; ".join(problems[:MAX_NAMED]) + more
            + ". Model diffing compares a model with a fine-tune of itself; pass a checkpoint of the same shape."
        )


# -- inputs ----------------------------------------------------------------------------


def _direction(bench: Workbench, direction: Any) -> tuple[torch.Tensor | None, str | None]:
    from .neurons import resolve_direction

    if direction is None:
        return None, None
    if not isinstance(direction, (str, Mapping, tuple)) and not hasattr(direction, "shape") \
            and hasattr(direction, "direction") and not hasattr(direction, "layer"):
        # neurons.resolve_direction knows vectors and probes (which carry a layer); any other
        # object with a ``direction`` is read here.
        label = getattr(direction, "name", None)
        unit, _ = resolve_direction(bench, direction.direction)
        return unit, f"{type(direction).__name__.lower()}:{label}" if label else type(direction).__name__
    return resolve_direction(bench, direction)


def _neurons(bench: Workbench, neurons: Any) -> list[tuple[int, int]]:
    from .neurons import _neuron_keys

    if neurons is None:
        return []
    table = getattr(neurons, "table", None)
    if table is None and hasattr(neurons, "columns"):
        table = neurons
    if table is not None:
        if not {"layer", "neuron"} <= set(table.columns):
            raise ValueError(f"The neuron table needs 'layer' and 'neuron' columns; it has {list(table.columns)}.")
        neurons = [(int(layer), int(neuron)) for layer, neuron in zip(table["layer"], table["neuron"])]
    return _neuron_keys(bench, neurons)


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


def residual_changes(bench: Workbench, other: Workbench, rendered: Sequence[Any], layers: Sequence[int],
                     unit: torch.Tensor | None, batch_size: int,
                     tick: Callable[[], None], cancel: threading.Event | None) -> pd.DataFrame:
    """Per-layer mean residual change of ``other`` against ``bench`` over the prompts' tokens."""
    import pandas as pd
    import torch

    from ..generation import left_pad

    d = bench.hidden_size
    total = {at: torch.zeros(d, dtype=torch.float64) for at in layers}
    token_norm = dict.fromkeys(layers, 0.0)
    self_norm = dict.fromkeys(layers, 0.0)
    count = 0
    for start in range(0, len(rendered), batch_size):
        if cancel is not None and cancel.is_set():
            raise DiffCancelled("The comparison was cancelled.")
        ids, mask = left_pad([p.input_ids for p in rendered[start : start + batch_size]], bench.pad_token_id)
        mine = residual.layer_outputs(bench, ids, mask, layers=layers)
        theirs = residual.layer_outputs(other, ids, mask, layers=layers)
        real = mask.bool()
        count += int(real.sum())
        for at in layers:
            here, there = mine[at].cpu()[real], theirs[at].cpu()[real]  # [tokens, d]
            change = (there - here).double()
            total[at] += change.sum(0)
            token_norm[at] += float(change.norm(dim=1).sum())
            self_norm[at] += float(here.double().norm(dim=1).sum())
        tick()
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


def neuron_changes(bench: Workbench, other: Workbench, keys: Sequence[tuple[int, int]], texts: Sequence[str],
                   batch_size: int) -> pd.DataFrame:
    """Mean activation of each neuron in both models on ``texts``, and the cosine of its value vectors."""
    import pandas as pd
    import torch

    from .neurons import neuron_activations, value_matrix

    columns = ["layer", "neuron", "activation_self", "activation_other", "change", "value_cosine"]
    if not keys:
        return pd.DataFrame(columns=columns)
    mine = (neuron_activations(bench, keys, list(texts), batch_size=batch_size)
            .groupby(["layer", "neuron"])["mean"].mean())
    theirs = (neuron_activations(other, keys, list(texts), batch_size=batch_size)
              .groupby(["layer", "neuron"])["mean"].mean())
    values: dict[int, tuple] = {}
    rows = []
    for layer, neuron in keys:
        if layer not in values:
            values[layer] = (value_matrix(bench, layer), value_matrix(other, layer))
        old, new = values[layer][0][neuron], values[layer][1][neuron]
        cosine = torch.nn.functional.cosine_similarity(old, new, dim=0).item()
        a, b = float(mine[(layer, neuron)]), float(theirs[(layer, neuron)])
        rows.append({"layer": layer, "neuron": neuron, "activation_self": a, "activation_other": b,
                     "change": b - a, "value_cosine": cosine})
    return pd.DataFrame(rows, columns=columns)


@recorded("compare")
def compare(
    bench: Workbench,
    other: Any,
    prompts: Any = None,
    *,
    direction: Any = None,
    layers: Sequence[int] | None = None,
    neurons: Any = None,
    n_samples: int = 4,
    max_new_tokens: int = 32,
    seed: int = 0,
    batch_size: int = 8,
    progress: bool | Callable[[int, int], None] = True,
    cancel: threading.Event | None = None,
) -> ModelDiff:
    """Diff ``bench``'s model against another checkpoint of the same architecture.

    Parameters
    ----------
    other : str, path or Workbench
        A Hugging Face id, a folder, a ``.gguf`` file (loaded on the same device with
        the same chat template, without SAEs) or a loaded Workbench.
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
    n_samples, max_new_tokens, seed
        Samples per prompt from each model, with the same seed for both.
    batch_size : int
        Prompts per forward pass.
    progress : bool or callable
        A progress bar, or ``progress(done, total)`` after each step.
    cancel : threading.Event, optional
        Set it to stop between batches (raises :class:`DiffCancelled`).

    Returns
    -------
    ModelDiff

    Examples
    --------
    >>> diff = compare(bench, "path/to/checkpoint", ["Insult me."], direction="insult")   # doctest: +SKIP
    >>> diff.layers[["layer", "mean_change_norm", "projection"]]                         # doctest: +SKIP
    """
    import pandas as pd

    from . import sampling

    n_samples = _check_count(n_samples, "n_samples", 0)
    _check_count(max_new_tokens, "max_new_tokens")
    batch_size = _check_count(batch_size, "batch_size")
    items = _prompts(prompts)
    chosen = list(range(bench.n_layers)) if layers is None else sorted({residual.check_layer(bench, at)
                                                                        for at in layers})
    if not chosen:
        raise ValueError(f"layers is empty: pass layer numbers in 0..{bench.n_layers - 1}, or None for all.")
    unit, source = _direction(bench, direction)
    keys = _neurons(bench, neurons)
    rendered = [chat.render(bench.tokenizer, item, chat_template=bench.chat_template) for item in items]
    model = load_other(bench, other)
    check_same_architecture(bench, model)

    total = -(-len(rendered) // batch_size) + (1 if keys else 0) + (2 * len(items) if n_samples else 0)
    tick = _progress(progress, total, f"diffing {bench.model_name} against {model.model_name}")
    try:
        frame = residual_changes(bench, model, rendered, chosen, unit, batch_size, tick, cancel)
        neuron_frame = neuron_changes(bench, model, keys, [p.text for p in rendered], batch_size)
        if keys:
            tick()
        rows = []
        if n_samples:
            for index, item in enumerate(items):
                texts = []
                for who in (bench, model):
                    if cancel is not None and cancel.is_set():
                        raise DiffCancelled("The comparison was cancelled.")
                    texts.append(sampling.sample(who, item, n_samples, max_new_tokens=max_new_tokens, seed=seed,
                                                 progress=False, cancel=cancel).texts)
                    tick()
                for j, (mine, theirs) in enumerate(zip(*texts)):
                    rows.append({"prompt": index, "text": rendered[index].conversation[-1]["content"], "sample": j,
                                 "self": mine, "other": theirs, "same": mine == theirs})
    finally:
        tick.close()
    samples = pd.DataFrame(rows, columns=["prompt", "text", "sample", "self", "other", "same"])
    settings = {"layers": chosen, "n_samples": n_samples, "max_new_tokens": max_new_tokens, "seed": seed,
                "batch_size": batch_size, "neurons": [list(k) for k in keys]}
    return ModelDiff(bench.model_name, model.model_name, frame, neuron_frame, samples, items, source, settings)


class _Progress:
    def __init__(self, progress: Any, total: int, description: str) -> None:
        self.callback = progress if callable(progress) else None
        self.done, self.total, self.bar = 0, total, None
        if progress is True and not self.callback and total > 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=description, leave=False)

    def __call__(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress(progress: Any, total: int, description: str) -> _Progress:
    return _Progress(progress, total, description)
