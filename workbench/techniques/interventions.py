"""Edits applied on every decoding step of a generation: steering vectors, activation fuzzing, neuron edits.

A sampling call with ``steer=``, ``fuzz=`` or ``neurons=`` is checked in full here
before anything runs (:func:`plan`, :func:`neuron_plan`), then turned into ONE
``intervene(model, tracer)`` hook (:func:`intervention`) that
:func:`workbench.generation.generate` runs inside its nnsight trace: on every
decoding step it adds the planned vectors (and fresh noise) to the output of each
planned decoder layer and scales or clamps the planned MLP neurons, in the model's
order.

>>> edits = plan(bench, {"ones": 0.5})
>>> sorted(edits.deltas), edits.settings["steer"]
([1], {'ones': 0.5})
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..layout import blocks, check_layer, check_neuron, d_mlp, hidden, mlp_layout, replace_hidden
from ..residual import natural_scale
from .vectors import SteeringVector

if TYPE_CHECKING:  # pragma: no cover
    from ..session import Session

POSITIONS = ("all", "generated")
MODES = ("scale", "clamp")
#: The largest steering coefficient or fuzz accepted, in units of the layer's natural scale.
MAX_STRENGTH = 100.0


def check_coefficient(value: Any, what: str) -> float:
    """A finite real number, or an error naming the bad value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{what} must be a finite number, not {value!r}.")
    return float(value)


def check_strength(value: Any, what: str) -> float:
    """A steering coefficient (or fuzz) within ±:data:`MAX_STRENGTH` natural scales, or an error saying why not."""
    value = check_coefficient(value, what)
    if abs(value) > MAX_STRENGTH:
        raise ValueError(
            f"{what} is {value:g}: that many times the layer's typical residual norm would leave nothing of the "
            f"model's own activations, and the output would be noise. Use a value within ±{MAX_STRENGTH:g} "
            "(in units of the layer's natural scale; the steering sliders run to ±4)."
        )
    return value


def resolve(session: Session, steer: Mapping | None) -> list[tuple[SteeringVector, float]]:
    """Check a ``{name or SteeringVector: coefficient}`` mapping against ``session.vectors``."""
    if steer is None:
        return []
    if not isinstance(steer, Mapping):
        raise TypeError(f"steer must be a dict {{vector name: coefficient}}, not {type(steer).__name__}.")
    out = []
    for key, coefficient in steer.items():
        vector = key if isinstance(key, SteeringVector) else session.vectors[key]
        if vector.d_model != session.hidden_size:
            raise ValueError(
                f"Vector {vector.name!r} has {vector.d_model} values, but {session.model_name} has hidden "
                f"size {session.hidden_size}: it was built for another model."
            )
        check_layer(session, vector.layer)
        out.append((vector, check_strength(coefficient, f"The coefficient of {vector.name!r}")))
    return out


@dataclass
class Plan:
    """What to add at which layer: ``deltas[layer]`` is a ``[d]`` tensor; ``noise[layer]`` a std."""

    deltas: dict
    noise: dict
    positions: str
    seed: int | None
    settings: dict

    @property
    def layers(self) -> list[int]:
        return sorted(set(self.deltas) | set(self.noise))

    def __bool__(self) -> bool:
        return bool(self.deltas or self.noise)


def plan(session: Session, steer: Mapping | None = None, *, layer: int | None = None,
         positions: str = "all", fuzz: float = 0.0, seed: int | None = None) -> Plan:
    """Check steering and fuzzing settings and turn them into per-layer additions.

    Everything is checked before anything runs: an unknown vector, a layer out of
    range, a vector of the wrong size, or a coefficient that is not finite or beyond
    ±:data:`MAX_STRENGTH` raises and nothing is applied.

    ``layer=None`` adds each vector at its own layer; a ``layer`` adds all of them
    there, scaled by that layer's natural scale. Fuzzing goes to ``layer``, else
    to the vectors' layer when they share one, else to the middle layer.
    """
    import torch

    pairs = resolve(session, steer)
    if layer is not None:
        layer = check_layer(session, layer)
    if positions not in POSITIONS:
        raise ValueError(f"positions must be one of {', '.join(map(repr, POSITIONS))}, not {positions!r}.")
    fuzz = check_strength(fuzz, "fuzz")
    if fuzz < 0:
        raise ValueError(f"fuzz is the noise scale relative to the layer's norm, >= 0, not {fuzz!r}.")
    deltas: dict[int, Any] = {}
    for vector, coefficient in pairs:
        at = vector.layer if layer is None else layer
        scale = vector.scale if at == vector.layer else natural_scale(session, at)
        deltas[at] = deltas.get(at, torch.zeros(session.hidden_size)) + vector.delta(coefficient, scale)
    noise = {}
    fuzz_layer = None
    if fuzz > 0:
        layers = {vector.layer for vector, _ in pairs}
        fuzz_layer = layer if layer is not None else (layers.pop() if len(layers) == 1 else session.n_layers // 2)
        noise[fuzz_layer] = fuzz * natural_scale(session, fuzz_layer) / math.sqrt(session.hidden_size)
    settings = {}
    if pairs:
        settings["steer"] = {vector.name: coefficient for vector, coefficient in pairs}
        settings["steer_layers"] = {vector.name: (vector.layer if layer is None else layer) for vector, _ in pairs}
        settings["positions"] = positions
    if fuzz > 0:
        settings.update(fuzz=fuzz, fuzz_layer=fuzz_layer, positions=positions)
    return Plan(deltas, noise, positions, seed, settings)


# -- neuron edits --------------------------------------------------------------------


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


def neuron_plan(session: Session, edits: Mapping | None) -> NeuronPlan:
    """Check ``{(layer, neuron): ("scale", factor) | ("clamp", value)}`` and turn it into per-layer edits.

    ``("scale", f)`` multiplies the neuron's activation by ``f`` (1.0 changes nothing);
    ``("clamp", v)`` sets it to ``v`` at every position. Everything is checked before
    anything runs.

    Examples
    --------
    >>> neuron_plan(bench, {(1, 7): ("scale", 4.0), (0, 2): ("clamp", 0.0)}).layers
    [0, 1]
    """
    import torch

    if edits is None:
        return NeuronPlan({}, {}, {})
    if not isinstance(edits, Mapping):
        raise TypeError(f"neurons must be a dict {{(layer, neuron): ('scale', f) or ('clamp', v)}}, "
                        f"not {type(edits).__name__}.")
    width = d_mlp(session)  # refuses an architecture whose neurons are unknown
    scale: dict[int, Any] = {}
    offset: dict[int, Any] = {}
    recorded = {}
    for key, edit in edits.items():
        layer, neuron = check_neuron(session, key, width)
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


# -- the hook --------------------------------------------------------------------------


def intervention(session: Session, steering: Plan | None, neurons: NeuronPlan | None = None,
                 seed: int | None = None) -> Callable[[Any, Any], None] | None:
    """The ``intervene(model, tracer)`` hook of :func:`workbench.generation.generate` for both kinds of edit.

    On every decoding step (``tracer.all()``) it adds the steering plan's vectors (and
    fresh Gaussian noise, drawn from its own generator seeded by ``seed`` so that the
    sampling RNG is untouched) to the output of each planned layer: with
    ``positions="all"`` every position, the prompt included; with ``"generated"`` only
    the positions that predict new tokens (the prompt's last on the first step, then
    each new token). Each planned MLP's down-projection input becomes
    ``x * scale + offset``. Both kinds of edit run in ONE loop over the steps, in the
    model's order: neuron edits at or below the lowest steered layer first, those
    above the highest after; neuron edits between two steered layers are refused.
    ``None`` when there is nothing to edit.
    """
    import torch

    steering = steering if steering else None
    neurons = neurons if neurons else None
    if steering is None and neurons is None:
        return None
    device, dtype = session.device, session.dtype
    steered = steering.layers if steering is not None else []
    before, after = list(neurons.layers) if neurons is not None else [], []
    if steered and neurons is not None:
        low, high = min(steered), max(steered)
        between = [at for at in neurons.layers if low < at <= high]
        if between:
            raise ValueError(
                f"Neuron edits at layer(s) {between} fall between the steering layers {low} and {high}; "
                "steer at one layer (layer=...) or edit neurons at or below the lowest / above the highest one."
            )
        before = [at for at in neurons.layers if at <= low]
        after = [at for at in neurons.layers if at > high]
    deltas = {at: v.to(device, dtype) for at, v in steering.deltas.items()} if steering is not None else {}
    noise = steering.noise if steering is not None else {}
    noise_seed = int(seed or 0) ^ 0x5EED
    only_last = steering is not None and steering.positions == "generated"
    # what the hook touches is decided here: envoys, tensors and numbers, so that it runs on a server too
    layer_modules = blocks(session)
    steer_at = [(at, layer_modules[at]) for at in steered]
    mlp = mlp_layout(session) if neurons is not None else None
    downs = {at: mlp.down_module(session.model, at) for at in neurons.layers} if neurons is not None else {}
    scale = {at: neurons.scale[at].to(device, dtype) for at in neurons.layers} if neurons is not None else {}
    offset = {at: neurons.offset[at].to(device, dtype) for at in neurons.layers} if neurons is not None else {}

    def intervene(model: Any, tracer: Any) -> None:
        generator = None
        for step in tracer.all():
            for at in before:
                downs[at].input = downs[at].input * scale[at] + offset[at]
            for at, module in steer_at:
                output = module.output
                states = hidden(output)
                add = torch.zeros((), dtype=states.dtype, device=states.device)
                if at in deltas:
                    add = add + deltas[at].to(states.device)
                if at in noise:
                    if generator is None:  # its own generator, made where the states are: sampling's RNG is untouched
                        generator = torch.Generator(device=states.device)
                        generator.manual_seed(noise_seed)
                    shape = (states.shape[0], 1 if only_last else states.shape[1], states.shape[2])
                    fresh = torch.randn(shape, generator=generator, device=states.device, dtype=torch.float32)
                    add = add + (fresh * noise[at]).to(states.dtype)
                if only_last and step == 0:
                    edited = torch.cat([states[:, :-1], states[:, -1:] + add], dim=1)
                else:
                    edited = states + add
                module.output = replace_hidden(output, edited)
            for at in after:
                downs[at].input = downs[at].input * scale[at] + offset[at]

    return intervene
