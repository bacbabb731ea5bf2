"""MLP neurons: their value vectors, their activations, and edits to them during sampling.

An MLP layer ends with a down-projection from ``d_mlp`` neurons back to the residual
stream. Neuron ``j``'s *value vector* is what it writes there per unit of
activation (a column of a Llama-style ``down_proj`` weight, a row of a GPT-2-style
``c_proj`` Conv1D weight), and its *activation* is the down-projection's input at
``j`` (``act_fn(gate_proj(x)) * up_proj(x)`` for gated MLPs, ``act(c_fc(x))`` for
GPT-2). :data:`_MLPS` is the one table of where each architecture keeps them.

* :func:`value_vectors` ranks every neuron of every layer by the cosine similarity
  of its value vector to a direction (a probe, a steering vector, an SAE latent,
  a tensor) and reads each value vector through the unembedding.
* :func:`neuron_activations` reads chosen neurons' activations on prompts (nnsight).
* :func:`neuron_plan` and :func:`intervention` scale or clamp neurons on every
  decoding step of ``bench.sample(..., neurons=...)``, through nnsight.

>>> vv = value_vectors(bench, "sycophancy", top=10)                      # doctest: +SKIP
>>> bench.sample("Hi", n=4, neurons={vv.neurons()[0]: ("scale", 4.0)})   # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import residual
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch

    from ..session import Workbench

# residual layout's decoder-layer path -> (down-projection path inside a layer, where its
# weight keeps neuron j's value vector: "column" of an nn.Linear [d_model, d_mlp] or
# "row" of a Conv1D [d_mlp, d_model])
_MLPS = {
    "model.layers": ("mlp.down_proj", "column"),
    "transformer.h": ("mlp.c_proj", "row"),
}
MODES = ("scale", "clamp")
REDUCE = ("mean", "max", "last")


@dataclass(frozen=True)
class MLPLayout:
    """Where the decoder layers and their MLP down-projections are."""

    layers: str
    down: str
    value_axis: str

    def down_module(self, root: Any, layer: int) -> Any:
        """The down-projection of ``layer`` below ``root`` (a module or an nnsight envoy)."""
        return residual.module_at(residual.module_at(root, self.layers)[layer], self.down)


def mlp_layout(bench: Workbench) -> MLPLayout:
    """The :class:`MLPLayout` of the loaded model, or a ValueError naming the known ones.

    Examples
    --------
    >>> mlp_layout(bench).down                      # doctest: +SKIP
    'mlp.down_proj'
    """
    module = bench.model._module
    layers = residual.layout(module).layers
    known = _MLPS.get(layers)
    if known is None or residual.module_at(residual.module_at(module, layers)[0], known[0]) is None:
        names = ", ".join(f"{path}[i].{down}" for path, (down, _) in _MLPS.items())
        raise ValueError(
            f"The workbench does not know where {type(module).__name__} keeps its MLP neurons; it knows {names} "
            "(Llama-style gated MLPs and GPT-2)."
        )
    return MLPLayout(layers, *known)


def value_matrix(bench: Workbench, layer: int) -> torch.Tensor:
    """Value vectors of ``layer``'s neurons as a float32 CPU ``[d_mlp, d_model]`` tensor.

    Examples
    --------
    >>> value_matrix(bench, 3)[117]                 # doctest: +SKIP
    """
    import torch

    layout = mlp_layout(bench)
    weight = layout.down_module(bench.model._module, layer).weight.detach()
    weight = weight.T if layout.value_axis == "column" else weight
    return weight.to("cpu", torch.float32)


def _d_mlp(bench: Workbench) -> int:
    """Neurons per MLP layer."""
    return int(value_matrix(bench, 0).shape[0])


def _check_neuron(bench: Workbench, key: Any, width: int | None = None) -> tuple[int, int]:
    """A ``(layer, neuron)`` pair (or ``"layer/neuron"``, as ``settings`` records it) checked against the model."""
    if isinstance(key, str) and key.count("/") == 1 and all(part.isdigit() for part in key.split("/")):
        key = tuple(int(part) for part in key.split("/"))
    if not isinstance(key, (tuple, list)) or len(key) != 2:
        raise ValueError(f"A neuron is a (layer, neuron) pair such as (3, 117), not {key!r}.")
    layer = residual.check_layer(bench, key[0])
    width = _d_mlp(bench) if width is None else width
    neuron = key[1]
    if isinstance(neuron, bool) or not isinstance(neuron, numbers.Integral) or not 0 <= int(neuron) < width:
        raise ValueError(f"neuron must be a whole number in 0..{width - 1} (each MLP has {width}), not {neuron!r}.")
    return layer, int(neuron)


# -- value vectors -------------------------------------------------------------------


@dataclass
class ValueVectors:
    """Neurons whose value vectors point along a direction, best first.

    Attributes
    ----------
    direction : torch.Tensor
        The unit direction they were ranked against (float32, CPU).
    source : str
        What the direction was (``"probe:insult"``, ``"vector:sycophancy"``, ``"sae:default/12"``…).
    frame : DataFrame
        ``rank``, ``layer``, ``neuron``, ``cosine``, ``norm`` (of the value vector),
        ``top_tokens`` and ``bottom_tokens`` (the tokens the value vector promotes and
        suppresses most through the unembedding).
    """

    direction: Any
    source: str
    frame: Any
    settings: dict = field(default_factory=dict)

    def to_pandas(self) -> pd.DataFrame:
        """The ranking as a DataFrame (a copy)."""
        return self.frame.copy()

    def neurons(self, k: int | None = None) -> list[tuple[int, int]]:
        """The ``(layer, neuron)`` pairs of the first ``k`` rows (all by default)."""
        rows = self.frame if k is None else self.frame.head(k)
        return [(int(layer), int(neuron)) for layer, neuron in zip(rows["layer"], rows["neuron"])]

    def edits(self, mode: str = "scale", value: float = 2.0, k: int = 1) -> dict:
        """``{(layer, neuron): (mode, value)}`` for the first ``k`` neurons, ready for ``sample(neurons=...)``."""
        return dict.fromkeys(self.neurons(k), (mode, value))

    def __len__(self) -> int:
        return len(self.frame)

    def _journal_summary(self) -> dict:
        return {"source": self.source, "neurons": len(self.frame),
                "top": [{"layer": int(r.layer), "neuron": int(r.neuron), "cosine": float(r.cosine),
                         "top_tokens": list(r.top_tokens[:5])} for r in self.frame.head(5).itertuples()]}

    def __repr__(self) -> str:
        lines = [f"ValueVectors({self.source}, {len(self)} neurons)"]
        for row in self.frame.head(5).itertuples():
            lines.append(f"  L{row.layer} n{row.neuron}: cos {row.cosine:+.3f}  -> {' '.join(row.top_tokens[:5])}")
        return "\n".join(lines)


def resolve_direction(bench: Workbench, direction: Any) -> tuple[torch.Tensor, str]:
    """A unit ``[d_model]`` float32 tensor and a label from a probe, a vector, an SAE latent, a name or a tensor.

    Examples
    --------
    >>> resolve_direction(bench, ("default", 123))[1]     # doctest: +SKIP
    'sae:default/123'
    """
    import torch

    from .steering import SteeringVector

    source = "tensor"
    if isinstance(direction, str):
        if direction in bench.vectors:
            direction, source = bench.vectors[direction], f"vector:{direction}"
        elif direction in bench.probes:
            direction, source = bench.probes[direction], f"probe:{direction}"
        else:
            raise ValueError(
                f"No vector or probe named {direction!r}; vectors: {', '.join(bench.vectors.names()) or 'none'}; "
                f"probes: {', '.join(bench.probes.names()) or 'none'}."
            )
    if isinstance(direction, Mapping):
        if set(direction) != {"sae", "latent"}:
            raise ValueError(f"An SAE latent is given as {{'sae': name, 'latent': i}}, not {dict(direction)!r}.")
        direction = (direction["sae"], direction["latent"])
    if isinstance(direction, tuple) and len(direction) == 2 and isinstance(direction[0], str):
        from .. import saes

        entry = bench.saes.get(direction[0])
        latent = saes.check_latent(direction[1], entry.d_sae)
        direction, source = entry.sae.W_dec[latent].detach(), f"sae:{entry.name}/{latent}"
    elif isinstance(direction, SteeringVector):
        direction, source = direction.direction, source if source != "tensor" else f"vector:{direction.name}"
    elif hasattr(direction, "direction") and hasattr(direction, "layer"):  # a Probe
        source = source if source != "tensor" else f"probe:{getattr(direction, 'name', '?')}"
        direction = direction.direction
    tensor = torch.as_tensor(direction).detach().to("cpu", torch.float32).flatten()
    if tensor.numel() != bench.hidden_size:
        raise ValueError(
            f"The direction has {tensor.numel()} values, but {bench.model_name} has hidden size "
            f"{bench.hidden_size}: pass a vector of that size."
        )
    norm = float(tensor.norm())
    if not math.isfinite(norm) or norm == 0:
        raise ValueError(f"The direction has norm {norm}; it needs a finite, non-zero norm.")
    return tensor / norm, source


def _unembed_tokens(bench: Workbench, vectors: torch.Tensor, k: int) -> tuple[list, list]:
    """Top and bottom ``k`` decoded tokens of ``W_U @ v`` for each row ``v`` of ``vectors``."""
    module = residual.module_at(bench.model._module, residual.layout(bench.model._module).unembed)
    unembed = module.weight.detach().to("cpu").float()  # [vocab, d_model]
    logits = vectors @ unembed.T
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices.tolist()
    bottom = (-logits).topk(k, dim=1).indices.tolist()
    decode = bench.tokenizer.decode
    return ([[decode([i]) for i in row] for row in top], [[decode([i]) for i in row] for row in bottom])


@recorded("value_vectors")
def value_vectors(bench: Workbench, direction: Any, *, top: int = 20, layers: Sequence[int] | None = None,
                  vocab_k: int = 10) -> ValueVectors:
    """Rank all MLP neurons by the cosine similarity of their value vector to ``direction``.

    Parameters
    ----------
    direction : Probe, SteeringVector, str, tuple, dict or tensor
        A probe or steering vector (or the name of one in ``bench.vectors`` /
        ``bench.probes``), an SAE latent as ``("sae-name", latent)`` or
        ``{"sae": name, "latent": i}`` (its decoder row), or a ``[d_model]`` tensor.
    top : int
        Neurons kept (highest cosine first).
    layers : sequence of int, optional
        Only these layers (default: all).
    vocab_k : int
        Tokens listed per neuron in ``top_tokens`` / ``bottom_tokens``: the value
        vector read through the unembedding matrix (``W_U @ v``, its logit lens).

    Returns
    -------
    ValueVectors

    Examples
    --------
    >>> vv = value_vectors(bench, ("default", 123), top=10)    # doctest: +SKIP
    >>> vv.to_pandas()[["layer", "neuron", "cosine", "top_tokens"]]   # doctest: +SKIP
    """
    import pandas as pd
    import torch

    unit, source = resolve_direction(bench, direction)
    mlp_layout(bench)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a whole number >= 1, not {top!r}.")
    if isinstance(vocab_k, bool) or not isinstance(vocab_k, int) or vocab_k < 1:
        raise ValueError(f"vocab_k must be a whole number >= 1, not {vocab_k!r}.")
    chosen = range(bench.n_layers) if layers is None else [residual.check_layer(bench, at) for at in layers]
    cosines, norms, keys = [], [], []
    for at in chosen:
        values = value_matrix(bench, at)
        norm = values.norm(dim=1)
        cosines.append((values @ unit) / norm.clamp_min(1e-12))
        norms.append(norm)
        keys += [(at, j) for j in range(values.shape[0])]
    cosine, norm = torch.cat(cosines), torch.cat(norms)
    best = cosine.topk(min(top, cosine.numel())).indices.tolist()
    picked = torch.stack([value_matrix(bench, keys[i][0])[keys[i][1]] for i in best])
    tops, bottoms = _unembed_tokens(bench, picked, vocab_k)
    frame = pd.DataFrame({
        "rank": range(len(best)),
        "layer": [keys[i][0] for i in best],
        "neuron": [keys[i][1] for i in best],
        "cosine": [float(cosine[i]) for i in best],
        "norm": [float(norm[i]) for i in best],
        "top_tokens": tops,
        "bottom_tokens": bottoms,
    })
    return ValueVectors(unit, source, frame, {"top": top, "layers": list(chosen), "vocab_k": vocab_k})


# -- activations ---------------------------------------------------------------------


def _neuron_keys(bench: Workbench, neurons: Any) -> list[tuple[int, int]]:
    """Checked ``(layer, neuron)`` pairs from a list of pairs, a ValueVectors or an edits dict."""
    if isinstance(neurons, ValueVectors):
        neurons = neurons.neurons()
    elif isinstance(neurons, Mapping):
        neurons = list(neurons)
    elif isinstance(neurons, tuple) and len(neurons) == 2 and all(isinstance(v, numbers.Integral) for v in neurons):
        neurons = [neurons]
    width = _d_mlp(bench)
    keys = [_check_neuron(bench, key, width) for key in neurons]
    if not keys:
        raise ValueError("No neurons given: pass (layer, neuron) pairs such as [(3, 117)].")
    return keys


@recorded("neuron_activations")
def neuron_activations(bench: Workbench, neurons: Any, prompts: Any, *, batch_size: int = 8,
                       reduce: str = "mean") -> pd.DataFrame:
    """Activation of each ``(layer, neuron)`` on each prompt, read through nnsight.

    The activation is the input of the layer's MLP down-projection at that neuron,
    reduced over the prompt's tokens (padding excluded), or read at its last token:
    the position whose output chooses the next token.

    Parameters
    ----------
    neurons : list of (layer, neuron), ValueVectors or edits dict
    prompts : str, conversation, or a list of them
        Strings run as they are; conversations through the chat template.
    batch_size : int
        Prompts per forward pass (stopped after the last layer asked for).
    reduce : {"mean", "max", "last"}
        Which reduction fills the ``activation`` column (all three are in ``mean``,
        ``max`` and ``last``).

    Returns
    -------
    DataFrame
        One row per prompt and neuron: ``prompt``, ``text``, ``layer``, ``neuron``,
        ``activation``, ``mean``, ``max``, ``last``.

    Examples
    --------
    >>> neuron_activations(bench, [(3, 117)], ["You idiot.", "Thank you."])   # doctest: +SKIP
    """
    import pandas as pd
    import torch

    from ..generation import left_pad
    from .activations import token_ids_for

    if reduce not in REDUCE:
        raise ValueError(f"reduce must be one of {', '.join(map(repr, REDUCE))}, not {reduce!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, not {batch_size!r}.")
    keys = _neuron_keys(bench, neurons)
    if isinstance(prompts, (str, Mapping)) or (isinstance(prompts, Sequence) and prompts
                                               and isinstance(prompts[0], Mapping)):
        prompts = [prompts]
    encoded = [token_ids_for(bench, prompt) for prompt in prompts]
    if not encoded:
        raise ValueError("No prompts given: pass a text or a list of texts.")
    layout = mlp_layout(bench)
    wanted = sorted({layer for layer, _ in keys})
    rows = []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        ids, mask = left_pad([tokens for _, tokens in chunk], bench.pad_token_id)
        inputs = {"input_ids": ids.to(bench.device), "attention_mask": mask.to(bench.device)}
        saved = {}
        with torch.inference_mode(), bench.model.trace(inputs, remote=bench.remote) as tracer:
            for at in wanted:
                saved[at] = layout.down_module(bench.model, at).input.save()
            tracer.stop()
        real = mask.bool()
        for at in wanted:
            acts = residual._value(saved[at]).float().cpu()  # [b, s, d_mlp]
            for layer, neuron in keys:
                if layer != at:
                    continue
                column = acts[:, :, neuron]
                means = (column * real).sum(1) / real.sum(1).clamp_min(1)
                maxes = column.masked_fill(~real, float("-inf")).max(1).values
                lasts = column[:, -1]  # rows are left-padded: the last position is each prompt's last token
                for i, (text, _) in enumerate(chunk):
                    rows.append({"prompt": start + i, "text": text, "layer": layer, "neuron": neuron,
                                 "mean": float(means[i]), "max": float(maxes[i]), "last": float(lasts[i])})
    frame = pd.DataFrame(rows)
    frame.insert(4, "activation", frame[reduce])
    order = {key: i for i, key in enumerate(keys)}
    frame["_order"] = [order[(layer, n)] for layer, n in zip(frame["layer"], frame["neuron"])]
    return frame.sort_values(["prompt", "_order"]).drop(columns="_order").reset_index(drop=True)


# -- edits during sampling -----------------------------------------------------------


@dataclass
class NeuronPlan:
    """Per-layer edits of MLP neuron activations: ``x * scale[layer] + offset[layer]``."""

    scale: dict
    offset: dict
    settings: dict

    @property
    def layers(self) -> list[int]:
        return sorted(self.scale)

    def __bool__(self) -> bool:
        return bool(self.scale)


def neuron_plan(bench: Workbench, edits: Mapping | None) -> NeuronPlan:
    """Check ``{(layer, neuron): ("scale", factor) | ("clamp", value)}`` and turn it into per-layer edits.

    ``("scale", f)`` multiplies the neuron's activation by ``f`` (1.0 changes nothing);
    ``("clamp", v)`` sets it to ``v`` at every position. Everything is checked before
    anything runs.

    Examples
    --------
    >>> neuron_plan(bench, {(3, 117): ("scale", 4.0), (5, 2): ("clamp", 0.0)})   # doctest: +SKIP
    """
    import torch

    from .steering import check_coefficient

    if edits is None:
        return NeuronPlan({}, {}, {})
    if not isinstance(edits, Mapping):
        raise TypeError(f"neurons must be a dict {{(layer, neuron): ('scale', f) or ('clamp', v)}}, "
                        f"not {type(edits).__name__}.")
    width = _d_mlp(bench)  # refuses an architecture whose neurons are unknown
    scale: dict[int, Any] = {}
    offset: dict[int, Any] = {}
    recorded = {}
    for key, edit in edits.items():
        layer, neuron = _check_neuron(bench, key, width)
        if not isinstance(edit, (tuple, list)) or len(edit) != 2 or edit[0] not in MODES:
            raise ValueError(
                f"The edit of neuron {(layer, neuron)} must be ('scale', factor) or ('clamp', value), not {edit!r}."
            )
        mode, value = edit[0], check_coefficient(edit[1], f"The {edit[0]} value of neuron {(layer, neuron)}")
        if layer not in scale:
            scale[layer], offset[layer] = torch.ones(width), torch.zeros(width)
        scale[layer][neuron] = value if mode == "scale" else 0.0
        offset[layer][neuron] = 0.0 if mode == "scale" else value
        recorded[f"{layer}/{neuron}"] = [mode, value]
    return NeuronPlan(scale, offset, {"neurons": recorded} if recorded else {})


class _Steps:
    """A tracer whose ``all()`` runs extra edits before and after another hook's body on each step."""

    def __init__(self, tracer: Any, before: Callable[[], None], after: Callable[[], None]) -> None:
        self._tracer, self._before, self._after = tracer, before, after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracer, name)

    def all(self):
        for step in self._tracer.all():
            self._before()
            yield step
            self._after()


def intervention(bench: Workbench, plan: NeuronPlan, around: Callable[[Any, Any], None] | None = None,
                 around_layers: Sequence[int] = ()) -> Callable[[Any, Any], None] | None:
    """The ``intervene(model, tracer)`` hook of :func:`workbench.generation.generate` for a plan.

    On every decoding step (``tracer.all()``) the input of each planned layer's
    down-projection becomes ``x * scale + offset``, assigned through nnsight. With
    ``around`` (another hook, e.g. :func:`workbench.techniques.steering.intervention`
    editing the outputs of ``around_layers``) both run in ONE loop over the steps,
    in the model's order: neuron edits at or below the lowest of ``around_layers``
    before its edits, those above the highest after them.

    Examples
    --------
    >>> hook = intervention(bench, neuron_plan(bench, {(3, 117): ("clamp", 0.0)}))   # doctest: +SKIP
    """
    if not plan:
        return around
    layout = mlp_layout(bench)
    device = bench.device if bench.device != "remote" else "cpu"
    param = next(bench.model._module.parameters())
    scale = {at: plan.scale[at].to(device, param.dtype) for at in plan.layers}
    offset = {at: plan.offset[at].to(device, param.dtype) for at in plan.layers}

    def apply(model: Any, layers: Sequence[int]) -> None:
        for at in layers:
            down = layout.down_module(model, at)
            down.input = down.input * scale[at] + offset[at]

    if around is None:
        def intervene(model: Any, tracer: Any) -> None:
            for _ in tracer.all():
                apply(model, plan.layers)
        return intervene
    if not around_layers:
        raise ValueError("Combining neuron edits with another edit needs the layers that edit touches.")
    low, high = min(around_layers), max(around_layers)
    before = [at for at in plan.layers if at <= low]
    after = [at for at in plan.layers if at > high]
    between = [at for at in plan.layers if low < at <= high]
    if between:
        raise ValueError(
            f"Neuron edits at layer(s) {between} fall between the steering layers {low} and {high}; "
            "steer at one layer (layer=...) or edit neurons at or below the lowest / above the highest one."
        )

    def combined(model: Any, tracer: Any) -> None:
        around(model, _Steps(tracer, lambda: apply(model, before), lambda: apply(model, after)))

    return combined
