"""Steering vectors: build them, register them on the session, add them during generation.

A :class:`SteeringVector` is a unit direction in the residual stream after one
decoder layer, with its *natural scale* recorded: the mean residual-stream norm at
that layer over a few texts of the shipped corpus (median over tokens). Steering with coefficient ``c``
adds ``c * scale * direction`` to the residual stream, so ``c = 0.5`` means "half a
typical residual norm" for every vector, whatever it was built from.

Vectors come from an SAE latent's decoder direction (:func:`from_latent`), from
contrast pairs (:func:`from_contrast`: mean difference of activations between
behaviour-matching and behaviour-opposing answers) or from any direction or probe
(:func:`from_direction`). All of them land in ``bench.vectors`` by name.

Steering and activation fuzzing run through nnsight inside the one batched
``generate`` of :mod:`workbench.generation` (see :func:`intervention`); every
decoding step is edited, not only the prompt.

>>> vec = from_contrast(bench, "sycophancy", layer=12)                    # doctest: +SKIP
>>> bench.sample("Is the Earth flat?", n=4, steer={"sycophancy": 0.5})    # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import chat, corpora, residual
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..session import Workbench
    from .sampling import Samples

CONTRAST = corpora.DATA / "contrast"
POSITIONS = ("all", "generated")
LETTERS = ("A", "B")
SCALE_TEXTS = 16
SCALE_TOKENS = 64


@dataclass(eq=False)  # compared and hashed by identity: a key of ``steer``
class SteeringVector:
    """A unit direction in the residual stream after ``layer``, with its natural scale.

    Attributes
    ----------
    name : str
        Its name in ``bench.vectors``.
    direction : torch.Tensor
        Unit-norm float32 vector of the model's hidden size (on the CPU).
    layer : int
        The decoder layer whose output it is added to.
    scale : float
        The natural scale: median residual norm at ``layer`` (see :func:`natural_scale`).
        Coefficient ``c`` adds ``c * scale * direction``.
    source : str
        Where it came from (``"sae:default/123"``, ``"contrast:sycophancy"``, ``"tensor"``…).
    raw_norm : float
        The norm of the direction before it was normalised.
    metadata : dict
        Anything else worth keeping (the pairs used, the latent, …).
    """

    name: str
    direction: Any
    layer: int
    scale: float
    source: str
    raw_norm: float = 1.0
    metadata: dict = field(default_factory=dict)

    @property
    def d_model(self) -> int:
        return int(self.direction.shape[0])

    def delta(self, coefficient: float, scale: float | None = None) -> torch.Tensor:
        """``coefficient * scale * direction`` (``scale`` defaults to the vector's own)."""
        return float(coefficient) * float(self.scale if scale is None else scale) * self.direction

    def _journal_summary(self) -> dict:
        return {"name": self.name, "layer": self.layer, "scale": self.scale, "source": self.source,
                "raw_norm": self.raw_norm}

    def __repr__(self) -> str:
        return (
            f"SteeringVector({self.name!r}, layer={self.layer}, d={self.d_model}, "
            f"scale={self.scale:.3g}, source={self.source!r})"
        )


# -- contrast pairs ----------------------------------------------------------------


def contrast_sets() -> list[str]:
    """Names of the contrast-pair sets shipped under ``workbench/data/contrast``."""
    return sorted(p.stem for p in CONTRAST.glob("*.jsonl"))


def contrast_pairs(pairs: str | Path | Sequence[Mapping], split: str | None = None) -> list[dict]:
    """The items of a contrast-pair set: ``{"question", "matching", "opposing", ...}``.

    Parameters
    ----------
    pairs : str, path or list of dict
        A shipped set name (:func:`contrast_sets`), a JSONL file, or the items themselves.
    split : {"train", "test"}, optional
        Keep only that split (items without a ``split`` field belong to both).

    Examples
    --------
    >>> len(contrast_pairs("sycophancy", split="test")) > 0
    True
    """
    if isinstance(pairs, (str, Path)):
        path = Path(pairs)
        if not path.suffix:
            path = CONTRAST / f"{pairs}.jsonl"
            if not path.is_file():
                raise ValueError(f"No contrast set named {pairs!r}; shipped: {', '.join(contrast_sets())}.")
        items = corpora.read_jsonl(path)
    else:
        items = [dict(item) for item in pairs]
    for number, item in enumerate(items):
        missing = [key for key in ("question", "matching", "opposing") if not isinstance(item.get(key), str)]
        if missing:
            raise ValueError(f"Contrast item {number} lacks the text field(s) {missing}; "
                             "each needs question, matching, opposing.")
    if split is not None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train', 'test' or None, not {split!r}.")
        items = [item for item in items if item.get("split", split) == split]
    if not items:
        raise ValueError("The contrast set is empty (for that split).")
    return items


def ab_prompt(bench: Workbench, item: Mapping, matching_first: bool, answer: str | None = None) -> chat.RenderedPrompt:
    """An item as an A/B question, the assistant's reply prefilled with ``"("`` (+ ``answer`` letter).

    The behaviour-matching answer is option A when ``matching_first`` else option B.
    """
    a, b = (item["matching"], item["opposing"]) if matching_first else (item["opposing"], item["matching"])
    question = f"{item['question']}\n\nChoices:\n(A) {a}\n(B) {b}\n\nAnswer with A or B."
    return bench.render(question, prefill="(" + (answer or ""))


def letter_ids(bench: Workbench) -> tuple[int, int]:
    """Token ids of ``"A"`` and ``"B"`` right after the ``"("`` that opens the reply."""
    prompt = ab_prompt(bench, {"question": "?", "matching": "x", "opposing": "y"}, True)
    ids = []
    for letter in LETTERS:
        full = bench.tokenizer(prompt.text + letter, add_special_tokens=False)["input_ids"]
        if full[:-1] != prompt.input_ids:
            raise ValueError(
                f"The tokenizer of {bench.model_name} merges {letter!r} with the '(' before it, so "
                "A/B answers cannot be read from one next-token distribution."
            )
        ids.append(full[-1])
    return ids[0], ids[1]


# -- the natural scale -------------------------------------------------------------


def natural_scale(bench: Workbench, layer: int) -> float:
    """The typical residual-stream norm after ``layer``: the median over the tokens of a
    few texts of the shipped corpus.

    Computed once per layer (one forward pass stopped at that layer, 16 texts of at
    most 64 tokens) and cached on the session. The median, not the mean: a few
    tokens (the first of a text, some delimiters) carry massive activations whose
    norm is many times the rest, and would make every coefficient far too strong.

    Examples
    --------
    >>> natural_scale(bench, 12)     # doctest: +SKIP
    3.9
    """
    import torch

    layer = residual.check_layer(bench, layer)
    cache = bench.__dict__.setdefault("_steering_scales", {})
    if layer not in cache:
        records = corpora.read_jsonl(corpora.SAE_CORPUS)
        step = max(1, len(records) // SCALE_TEXTS)
        texts = corpora.render_records(records[::step][:SCALE_TEXTS], bench.tokenizer, bench.chat_template)
        rows = [bench.tokenizer(t, add_special_tokens=False)["input_ids"][:SCALE_TOKENS] for t in texts]
        rows = [row for row in rows if len(row) > 1]
        width = max(len(row) for row in rows)
        ids = torch.full((len(rows), width), bench.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        hidden = residual.layer_outputs(bench, ids, mask, layers=[layer])[layer].cpu()
        norms = hidden.norm(dim=-1)[mask.bool()]
        cache[layer] = float(norms.median())
    return cache[layer]


# -- building vectors --------------------------------------------------------------


def _unit(direction: Any, bench: Workbench, what: str) -> tuple[torch.Tensor, float]:
    import torch

    tensor = torch.as_tensor(direction).detach().to("cpu", torch.float32).flatten()
    if tensor.numel() != bench.hidden_size:
        raise ValueError(
            f"{what} has {tensor.numel()} values, but {bench.model_name} has hidden size "
            f"{bench.hidden_size}: pass a vector of that size."
        )
    norm = float(tensor.norm())
    if not math.isfinite(norm) or norm == 0:
        raise ValueError(f"{what} has norm {norm}; a steering direction needs a finite, non-zero norm.")
    return tensor / norm, norm


def add(bench: Workbench, direction: Any, layer: int, *, name: str, source: str = "tensor",
        metadata: dict | None = None) -> SteeringVector:
    """Normalise ``direction``, record the natural scale at ``layer``, register it as ``name``."""
    layer = residual.check_layer(bench, layer)
    if not isinstance(name, str) or not name:
        raise ValueError(f"A steering vector needs a non-empty string name, not {name!r}.")
    unit, norm = _unit(direction, bench, f"The direction for {name!r}")
    vector = SteeringVector(name, unit, layer, natural_scale(bench, layer), source, norm, dict(metadata or {}))
    bench.vectors.register(name, vector)
    return vector


@recorded("from_latent")
def from_latent(bench: Workbench, latent: int, *, sae: str | None = None, name: str | None = None) -> SteeringVector:
    """A steering vector along an SAE latent's decoder direction, at the SAE's layer.

    Parameters
    ----------
    latent : int
        The feature id.
    sae : str, optional
        A registered SAE (default: the first one).
    name : str, optional
        Default ``"<sae>:<latent>"``.

    Examples
    --------
    >>> from_latent(bench, 123)                                      # doctest: +SKIP
    SteeringVector('default:123', layer=12, ...)
    """
    from .. import saes

    entry = bench.saes.get(sae)
    latent = saes.check_latent(latent, entry.d_sae)
    direction = entry.sae.W_dec[latent].detach()
    return add(bench, direction, entry.layer, name=name or f"{entry.name}:{latent}",
               source=f"sae:{entry.name}/{latent}", metadata={"sae": entry.name, "latent": latent})


def contrast_activations(bench: Workbench, items: Sequence[Mapping], layer: int, *,
                         batch_size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Residuals after ``layer`` at the answer letter, for the matching and the opposing answer.

    Each item is asked both ways round (matching answer as A, then as B), so a
    letter's own direction cancels out of the difference. Returns two
    ``[2 * len(items), d]`` tensors.
    """
    import torch

    from ..generation import left_pad

    rows, kinds = [], []
    for item in items:
        for first in (True, False):
            match, oppose = ("A", "B") if first else ("B", "A")
            rows.append(ab_prompt(bench, item, first, match).input_ids)
            rows.append(ab_prompt(bench, item, first, oppose).input_ids)
            kinds += [True, False]
    outs = []
    for start in range(0, len(rows), batch_size):
        ids, mask = left_pad(rows[start : start + batch_size], bench.pad_token_id)
        hidden = residual.layer_outputs(bench, ids, mask, layers=[layer])[layer]
        outs.append(hidden[:, -1].cpu())  # left padding: the last position is each row's letter
    acts = torch.cat(outs)
    kinds_t = torch.tensor(kinds)
    return acts[kinds_t], acts[~kinds_t]


@recorded("from_contrast")
def from_contrast(bench: Workbench, pairs: str | Path | Sequence[Mapping], layer: int, *,
                  name: str | None = None, split: str | None = "train",
                  limit: int | None = None) -> SteeringVector:
    """Mean difference of activations between behaviour-matching and -opposing answers.

    Each item is rendered as an A/B question with the assistant's reply ``"(A"`` or
    ``"(B"``; the residual after ``layer`` at the letter is averaged over the
    matching answers and over the opposing ones, both orders of the options (the
    method of contrastive activation addition).

    Parameters
    ----------
    pairs : str, path or list of dict
        A shipped set (``"sycophancy"``, ``"refusal"``, ``"power_seeking"``), a JSONL
        file or items ``{"question", "matching", "opposing"}``.
    layer : int
    name : str, optional
        Default: the set's name (or ``"contrast"`` for items given directly).
    split : str, optional
        Which split to build from (default ``"train"``; the ``"test"`` items are kept
        for scoring, see :func:`workbench.techniques.sweep.alignment_score`).
    limit : int, optional
        Use only the first ``limit`` items (a quicker, noisier vector).

    Examples
    --------
    >>> vec = from_contrast(bench, "sycophancy", layer=12)          # doctest: +SKIP
    >>> bench.vectors["sycophancy"] is vec                          # doctest: +SKIP
    True
    """
    layer = residual.check_layer(bench, layer)
    items = contrast_pairs(pairs, split=split)[:limit]
    matching, opposing = contrast_activations(bench, items, layer)
    label = pairs if isinstance(pairs, str) and not Path(pairs).suffix else (
        Path(pairs).stem if isinstance(pairs, (str, Path)) else "contrast")
    return add(bench, matching.mean(0) - opposing.mean(0), layer, name=name or label,
               source=f"contrast:{label}", metadata={"n_items": len(items), "split": split})


@recorded("from_direction")
def from_direction(bench: Workbench, direction: Any, layer: int | None = None, *,
                   name: str) -> SteeringVector:
    """A steering vector from any tensor or array, or from a probe.

    Parameters
    ----------
    direction : tensor, array, str or object
        A vector of the model's hidden size; the name of a probe in
        ``bench.probes``; or an object with a ``direction`` (or ``weight``/``coef_``)
        and, optionally, a ``layer`` attribute.
    layer : int, optional
        Needed unless the probe records its layer.

    Examples
    --------
    >>> from_direction(bench, torch.randn(576), layer=10, name="random")   # doctest: +SKIP
    """
    source = "tensor"
    if isinstance(direction, str):
        source = f"probe:{direction}"
        direction = bench.probes[direction]
    for attribute in ("direction", "weight", "coef_"):
        if hasattr(direction, attribute) and not hasattr(direction, "__array__") and not _is_tensor(direction):
            if layer is None:
                layer = getattr(direction, "layer", None)
            source = source if source != "tensor" else type(direction).__name__
            direction = getattr(direction, attribute)
            break
    if layer is None:
        raise ValueError(f"Pass layer=... (0..{bench.n_layers - 1}): the direction does not say which layer it reads.")
    return add(bench, direction, layer, name=name, source=source)


def _is_tensor(value: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, torch.Tensor)


# -- applying vectors --------------------------------------------------------------


def check_coefficient(value: Any, what: str) -> float:
    """A finite real number, or an error naming the bad value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{what} must be a finite number, not {value!r}.")
    return float(value)


def resolve(bench: Workbench, steer: Mapping | None) -> list[tuple[SteeringVector, float]]:
    """Check a ``{name or SteeringVector: coefficient}`` mapping against ``bench.vectors``."""
    if steer is None:
        return []
    if not isinstance(steer, Mapping):
        raise TypeError(f"steer must be a dict {{vector name: coefficient}}, not {type(steer).__name__}.")
    out = []
    for key, coefficient in steer.items():
        vector = key if isinstance(key, SteeringVector) else bench.vectors[key]
        if vector.d_model != bench.hidden_size:
            raise ValueError(
                f"Vector {vector.name!r} has {vector.d_model} values, but {bench.model_name} has hidden "
                f"size {bench.hidden_size}: it was built for another model."
            )
        residual.check_layer(bench, vector.layer)
        out.append((vector, check_coefficient(coefficient, f"The coefficient of {vector.name!r}")))
    return out


@dataclass
class Plan:
    """What to add at which layer: ``deltas[layer]`` is a ``[d]`` tensor; ``noise[layer]`` a std."""

    deltas: dict
    noise: dict
    positions: str
    seed: int | None
    settings: dict

    def __bool__(self) -> bool:
        return bool(self.deltas or self.noise)


def plan(bench: Workbench, steer: Mapping | None = None, *, layer: int | None = None,
         positions: str = "all", fuzz: float = 0.0, seed: int | None = None) -> Plan:
    """Check steering and fuzzing settings and turn them into per-layer additions.

    Everything is checked before anything runs: an unknown vector, a layer out of
    range, a vector of the wrong size or a non-finite coefficient raises and
    nothing is applied.

    ``layer=None`` adds each vector at its own layer; a ``layer`` adds all of them
    there, scaled by that layer's natural scale. Fuzzing goes to ``layer``, else
    to the vectors' layer when they share one, else to the middle layer.
    """
    import torch

    pairs = resolve(bench, steer)
    if layer is not None:
        layer = residual.check_layer(bench, layer)
    if positions not in POSITIONS:
        raise ValueError(f"positions must be one of {', '.join(map(repr, POSITIONS))}, not {positions!r}.")
    fuzz = check_coefficient(fuzz, "fuzz")
    if fuzz < 0:
        raise ValueError(f"fuzz is the noise scale relative to the layer's norm, >= 0, not {fuzz!r}.")
    deltas: dict[int, Any] = {}
    for vector, coefficient in pairs:
        at = vector.layer if layer is None else layer
        scale = vector.scale if at == vector.layer else natural_scale(bench, at)
        deltas[at] = deltas.get(at, torch.zeros(bench.hidden_size)) + vector.delta(coefficient, scale)
    noise = {}
    fuzz_layer = None
    if fuzz > 0:
        layers = {vector.layer for vector, _ in pairs}
        fuzz_layer = layer if layer is not None else (layers.pop() if len(layers) == 1 else bench.n_layers // 2)
        noise[fuzz_layer] = fuzz * natural_scale(bench, fuzz_layer) / math.sqrt(bench.hidden_size)
    settings = {}
    if pairs:
        settings["steer"] = {vector.name: coefficient for vector, coefficient in pairs}
        settings["steer_layers"] = {vector.name: (vector.layer if layer is None else layer) for vector, _ in pairs}
        settings["positions"] = positions
    if fuzz > 0:
        settings.update(fuzz=fuzz, fuzz_layer=fuzz_layer, positions=positions)
    return Plan(deltas, noise, positions, seed, settings)


def _hidden(output: Any) -> Any:
    return output[0] if isinstance(output, tuple) else output


def _replace(output: Any, hidden: Any) -> Any:
    return (hidden, *output[1:]) if isinstance(output, tuple) else hidden


def intervention(bench: Workbench, steering: Plan, seed: int) -> Callable[[Any, Any], None] | None:
    """The ``intervene(model, tracer)`` hook of :func:`workbench.generation.generate` for a plan.

    On every decoding step (``tracer.all()``) it adds the plan's vectors (and fresh
    Gaussian noise, drawn from its own generator seeded by ``seed`` so that the
    sampling RNG is untouched) to the output of each planned layer. With
    ``positions="all"`` every position is edited, the prompt included; with
    ``"generated"`` only the positions that predict new tokens: the prompt's last
    position on the first step, then each new token.
    """
    import torch

    if not steering:
        return None
    layers = sorted(set(steering.deltas) | set(steering.noise))
    device = bench.device if bench.device != "remote" else "cpu"
    param = next(bench.model._module.parameters())
    deltas = {at: steering.deltas[at].to(device, param.dtype) for at in steering.deltas}
    generator = None
    if steering.noise:
        generator = torch.Generator(device=device)
        generator.manual_seed(int(seed) ^ 0x5EED)
    only_last = steering.positions == "generated"

    def intervene(model: Any, tracer: Any) -> None:
        blocks = residual.module_at(model, residual.layout(model._module).layers)
        for step in tracer.all():
            for at in layers:
                output = blocks[at].output
                hidden = _hidden(output)
                add = torch.zeros((), dtype=hidden.dtype, device=hidden.device)
                if at in deltas:
                    add = add + deltas[at]
                if at in steering.noise:
                    shape = (hidden.shape[0], 1 if only_last else hidden.shape[1], hidden.shape[2])
                    noise = torch.randn(shape, generator=generator, device=hidden.device, dtype=torch.float32)
                    add = add + (noise * steering.noise[at]).to(hidden.dtype)
                if only_last and step == 0:
                    edited = torch.cat([hidden[:, :-1], hidden[:, -1:] + add], dim=1)
                else:
                    edited = hidden + add
                blocks[at].output = _replace(output, edited)

    return intervene


# -- comparing steered and unsteered -----------------------------------------------


@dataclass
class SteeringComparison:
    """Unsteered and steered samples of one call, drawn with one seed.

    Attributes
    ----------
    unsteered, steered : Samples
    shift : list[list[float]]
        For each steered sample, each token's log-probability under steering minus
        its log-probability without steering (positive: steering made it likelier).
    """

    unsteered: Samples
    steered: Samples
    shift: list

    def to_pandas(self):
        """One row per sample: unsteered text, steered text, mean log-probability shift."""
        import pandas as pd

        rows = []
        for i, (a, b, s) in enumerate(zip(self.unsteered.texts, self.steered.texts, self.shift)):
            rows.append({"sample": i, "unsteered": a, "steered": b,
                         "mean_shift": sum(s) / len(s) if s else float("nan")})
        return pd.DataFrame(rows).set_index("sample")

    def _journal_summary(self) -> dict:
        means = [sum(s) / len(s) for s in self.shift if s]
        return {"n": len(self.steered), "seed": self.steered.seed, "steer": self.steered.settings.get("steer"),
                "mean_shift": sum(means) / len(means) if means else None,
                "unsteered": self.unsteered.texts[:3], "steered": self.steered.texts[:3]}

    def __repr__(self) -> str:
        lines = [f"SteeringComparison(n={len(self.steered)}, seed={self.steered.seed}, "
                 f"steer={self.steered.settings.get('steer')})"]
        for i, (a, b) in enumerate(list(zip(self.unsteered.texts, self.steered.texts))[:4]):
            lines.append(f"  [{i}] - {a[:80]!r}")
            lines.append(f"      + {b[:80]!r}")
        return "\n".join(lines)


def token_logprobs(bench: Workbench, prompt_ids: Sequence[int], continuations: Sequence[Sequence[int]],
                   steering: Plan | None = None, *, batch_size: int = 16) -> list[list[float]]:
    """Log-probability of each continuation token after ``prompt_ids``, in batched forward passes.

    With a ``steering`` plan (no fuzz) the same vectors are added at every position,
    as ``positions`` says, so this scores text under the steered model.

    Examples
    --------
    >>> out = bench.sample("Hi", n=2, seed=0)                                      # doctest: +SKIP
    >>> token_logprobs(bench, out.prompt_ids, out.token_ids)[0][:3]               # doctest: +SKIP
    """
    from .sweep import forward_logprobs

    start = len(prompt_ids)
    rows = [list(prompt_ids) + list(ids) for ids in continuations]
    queries = [[(start + j - 1, token) for j, token in enumerate(ids)] for ids in continuations]
    layer, deltas, edit_from = None, None, None
    if steering is not None and steering.noise:
        raise ValueError("Text is scored without fuzzing noise; drop fuzz to score under steering.")
    if steering is not None and steering.deltas:
        if len(steering.deltas) != 1:
            raise ValueError("Scoring supports vectors at one layer; pass layer=... to put them together.")
        ((layer, delta),) = steering.deltas.items()
        deltas = delta[None].expand(len(rows), -1)
        edit_from = [start - 1 if steering.positions == "generated" else 0] * len(rows)
    return forward_logprobs(bench, rows, queries, layer=layer, deltas=deltas, edit_from=edit_from,
                            batch_size=batch_size)


@recorded("steering.compare")
def compare(bench: Workbench, conversation: Any, n: int = 4, *, steer: Mapping, layer: int | None = None,
            positions: str = "all", fuzz: float = 0.0, seed: int | None = None, **kwargs: Any) -> SteeringComparison:
    """Sample the same call without and with steering, on one seed, and score the change per token.

    Both runs share the seed, so every difference between them is the steering's
    (with coefficient 0 they are identical). ``shift`` holds, for each token of each
    steered sample, its log-probability in the steered run minus its
    log-probability under the unsteered model (scored in one batched forward pass);
    the steering panel tints tokens with it.

    Parameters
    ----------
    conversation, n, **kwargs
        As :meth:`workbench.Workbench.sample` (``prefill``, ``persona``,
        ``max_new_tokens``, ``temperature``…).
    steer, layer, positions, fuzz
        As :meth:`workbench.Workbench.sample`.
    seed : int, optional
        Drawn once when not given, and used for both runs.

    Examples
    --------
    >>> cmp = compare(bench, "Is the Earth flat?", steer={"sycophancy": 0.8}, seed=0)   # doctest: +SKIP
    >>> cmp.to_pandas()                                                                 # doctest: +SKIP
    """
    import secrets

    from ..generation import MAX_SEED

    plan(bench, steer, layer=layer, positions=positions, fuzz=fuzz)  # refuse bad input before any run
    if seed is None:
        seed = secrets.randbelow(MAX_SEED)
    base = bench.sample(conversation, n, seed=seed, **kwargs)
    steered = bench.sample(conversation, n, seed=seed, steer=steer, layer=layer, positions=positions,
                           fuzz=fuzz, **kwargs)
    unsteered_scores = token_logprobs(bench, steered.prompt_ids, steered.token_ids)
    shift = [[s - u for s, u in zip(srow, urow)] for srow, urow in zip(steered.logprobs, unsteered_scores)]
    return SteeringComparison(base, steered, shift)
