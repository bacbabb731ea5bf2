"""MLP neurons: their value vectors, their activations, and edits to them during sampling.

An MLP layer ends with a down-projection from ``d_mlp`` neurons back to the residual
stream. Neuron ``j``'s *value vector* is what it writes there per unit of
activation (a column of a Llama-style ``down_proj`` weight, a row of a GPT-2-style
``c_proj`` Conv1D weight), and its *activation* is the down-projection's input at
``j`` (``act_fn(gate_proj(x)) * up_proj(x)`` for gated MLPs, ``act(c_fc(x))`` for
GPT-2); :mod:`workbench.layout` knows where each architecture keeps them.

* :func:`value_vectors` ranks every neuron of every layer by the cosine similarity
  of its value vector to a direction (a probe, a steering vector, an SAE latent,
  a tensor) and reads each value vector through the unembedding.
* :func:`neuron_activations` reads chosen neurons' activations on prompts (nnsight).
* Scaling or clamping neurons on every decoding step of
  ``bench.sample(..., neurons=...)`` is planned in :mod:`workbench.techniques.interventions`.

>>> vv = value_vectors(bench, "ones", top=10)
>>> vv.neurons()[:3]
[(0, 4), (0, 93), (1, 42)]
>>> out = bench.sample("Hi", n=4, neurons={vv.neurons()[0]: ("scale", 4.0)}, max_new_tokens=4, progress=False)
>>> out.settings["neurons"]
{'0/4': ['scale', 4.0]}
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..layout import (
    check_layer,
    check_neuron,
    d_mlp,
    mlp_layout,
    traced_value_vectors,
    unembedding_envoy,
    value_matrix,
)
from ..recording import recorded
from ..residual import top_tokens, unit_direction

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch

    from ..session import Session

MODES = ("scale", "clamp")
REDUCE = ("mean", "max", "last")


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


def resolve_direction(session: Session, direction: Any) -> tuple[torch.Tensor, str]:
    """A unit ``[d_model]`` float32 tensor and a label from a probe, a vector, an SAE latent, a name or a tensor.

    Examples
    --------
    >>> resolve_direction(bench, ("tiny", 3))[1], resolve_direction(bench, "ones")[1]
    ('sae:tiny/3', 'vector:ones')
    >>> unit, label = resolve_direction(bench, "polite")
    >>> label, unit.shape, round(float(unit.norm()), 4)
    ('probe:polite', torch.Size([64]), 1.0)
    """

    from .vectors import SteeringVector

    source = "tensor"
    if isinstance(direction, str):
        if direction in session.vectors:
            direction, source = session.vectors[direction], f"vector:{direction}"
        elif direction in session.probes:
            direction, source = session.probes[direction], f"probe:{direction}"
        else:
            raise ValueError(
                f"No vector or probe named {direction!r}; vectors: {', '.join(session.vectors.names()) or 'none'}; "
                f"probes: {', '.join(session.probes.names()) or 'none'}."
            )
    if isinstance(direction, Mapping):
        if set(direction) != {"sae", "latent"}:
            raise ValueError(f"An SAE latent is given as {{'sae': name, 'latent': i}}, not {dict(direction)!r}.")
        direction = (direction["sae"], direction["latent"])
    if isinstance(direction, tuple) and len(direction) == 2 and isinstance(direction[0], str):
        from .. import saes

        entry = session.saes.get(direction[0])
        latent = saes.check_latent(direction[1], entry.d_sae)
        direction, source = entry.sae.W_dec[latent].detach(), f"sae:{entry.name}/{latent}"
    elif isinstance(direction, SteeringVector):
        direction, source = direction.direction, source if source != "tensor" else f"vector:{direction.name}"
    elif hasattr(direction, "direction") and hasattr(direction, "layer"):  # a Probe
        source = source if source != "tensor" else f"probe:{getattr(direction, 'name', '?')}"
        direction = direction.direction
    return unit_direction(session, direction)[0], source


@recorded("value_vectors")
def value_vectors(session: Session, direction: Any, *, top: int = 20, layers: Sequence[int] | None = None,
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
    >>> vv = value_vectors(bench, "ones", top=10)
    >>> vv.to_pandas()[["layer", "neuron", "cosine"]].head(3).round(3)
       layer  neuron  cosine
    0      0       4   0.372
    1      0      93   0.367
    2      1      42   0.331
    >>> len(value_vectors(bench, ("tiny", 3), top=5, vocab_k=3).frame.top_tokens[0])   # an SAE latent's direction
    3
    """
    import pandas as pd
    import torch

    unit, source = resolve_direction(session, direction)
    mlp_layout(session)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a whole number >= 1, not {top!r}.")
    if isinstance(vocab_k, bool) or not isinstance(vocab_k, int) or vocab_k < 1:
        raise ValueError(f"vocab_k must be a whole number >= 1, not {vocab_k!r}.")
    chosen = range(session.n_layers) if layers is None else [check_layer(session, at) for at in layers]
    if session.remote:
        frame = _ranked_on_server(session, unit, list(chosen), top, vocab_k)
        return ValueVectors(unit, source, frame, {"top": top, "layers": list(chosen), "vocab_k": vocab_k})
    cosines, norms, keys = [], [], []
    for at in chosen:
        values = value_matrix(session, at)
        norm = values.norm(dim=1)
        cosines.append((values @ unit) / norm.clamp_min(1e-12))
        norms.append(norm)
        keys += [(at, j) for j in range(values.shape[0])]
    cosine, norm = torch.cat(cosines), torch.cat(norms)
    best = cosine.topk(min(top, cosine.numel())).indices.tolist()
    picked = torch.stack([value_matrix(session, keys[i][0])[keys[i][1]] for i in best])
    tops, bottoms = _promoted_and_suppressed(session, picked, vocab_k)
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


def _ranked_on_server(session: Session, unit: torch.Tensor, chosen: list[int], top: int, vocab_k: int
                      ) -> pd.DataFrame:
    """:func:`value_vectors`' ranking in one trace, where the weights are: each layer's value vectors are
    ranked by cosine there, the best ``top`` of all layers read through the unembedding there, and only their
    keys, cosines, norms and token ids come back (never a weight matrix)."""
    import nnsight
    import pandas as pd
    import torch

    width = d_mlp(session)
    per_layer = min(top, width)
    readers = [traced_value_vectors(session, at) for at in chosen]  # an adapted layer's merged, on the server
    unembed = unembedding_envoy(session)
    k = min(vocab_k, session.vocab_size)
    one = torch.tensor([[session.pad_token_id]])  # a one-token pass: the trace is only a way to the weights
    inputs = {"input_ids": one, "attention_mask": torch.ones_like(one)}
    with torch.inference_mode(), session.trace(inputs) as tracer:
        cosines, norms, neurons, vectors = [], [], [], []
        for read in readers:
            values = read()  # [d_mlp, d_model]
            norm = values.norm(dim=1)
            cosine = (values @ unit.to(values.device)) / norm.clamp_min(1e-12)
            best = cosine.topk(per_layer)
            cosines.append(best.values)
            norms.append(norm[best.indices])
            neurons.append(best.indices)
            vectors.append(values[best.indices])
        every = torch.cat(cosines)
        order = every.topk(min(top, every.numel())).indices
        logits = torch.cat(vectors)[order] @ unembed.weight.float().T
        found = nnsight.save({
            "order": order.cpu(), "cosine": every[order].cpu(), "norm": torch.cat(norms)[order].cpu(),
            "neuron": torch.cat(neurons)[order].cpu(),
            "top": logits.topk(k, dim=-1).indices.cpu(), "bottom": (-logits).topk(k, dim=-1).indices.cpu(),
        })
        tracer.stop()
    decode = session.tokenizer.decode
    return pd.DataFrame({
        "rank": range(len(found["order"])),
        "layer": [chosen[i // per_layer] for i in found["order"].tolist()],
        "neuron": found["neuron"].tolist(),
        "cosine": found["cosine"].tolist(),
        "norm": found["norm"].tolist(),
        "top_tokens": [[decode([i]) for i in row] for row in found["top"].tolist()],
        "bottom_tokens": [[decode([i]) for i in row] for row in found["bottom"].tolist()],
    })


# -- activations ---------------------------------------------------------------------


def neuron_keys(session: Session, neurons: Any) -> list[tuple[int, int]]:
    """Checked ``(layer, neuron)`` pairs from a list of pairs, a ValueVectors or an edits dict."""
    if isinstance(neurons, ValueVectors):
        neurons = neurons.neurons()
    elif isinstance(neurons, Mapping):
        neurons = list(neurons)
    elif isinstance(neurons, tuple) and len(neurons) == 2 and all(isinstance(v, numbers.Integral) for v in neurons):
        neurons = [neurons]
    width = d_mlp(session)
    keys = [check_neuron(session, key, width) for key in neurons]
    if not keys:
        raise ValueError("No neurons given: pass (layer, neuron) pairs such as [(3, 117)].")
    return keys


@recorded("neuron_activations")
def neuron_activations(session: Session, neurons: Any, prompts: Any, *, batch_size: int = 8,
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
    >>> table = neuron_activations(bench, [(1, 7)], ["You idiot.", "Thank you."])
    >>> table[["text", "layer", "neuron", "activation"]].round(4)
             text  layer  neuron  activation
    0  You idiot.      1       7      0.0031
    1  Thank you.      1       7     -0.0029
    """
    import torch

    if reduce not in REDUCE:
        raise ValueError(f"reduce must be one of {', '.join(map(repr, REDUCE))}, not {reduce!r}.")
    batches, read, finish = neuron_reader(session, neurons, prompts, batch_size)
    with torch.inference_mode():
        values = session.trace_each(batches, read)  # on a remote session every batch in one request
    return finish(values, reduce)


def neuron_reader(session: Session, neurons: Any, prompts: Any, batch_size: int = 8
                  ) -> tuple[list[dict], Callable[[dict], list], Callable[[list, str], pd.DataFrame]]:
    """What :func:`neuron_activations` runs: the batches' inputs, ``read(inputs)`` (called inside each batch's trace,
    it returns only the asked-for neurons' columns: on a server, not the whole MLP width) and ``finish(values,
    reduce)``, which turns what every batch returned into the table."""
    import pandas as pd
    import torch

    from ..generation import left_pad
    from .activations import token_ids_for

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, not {batch_size!r}.")
    keys = neuron_keys(session, neurons)
    if isinstance(prompts, (str, Mapping)) or (isinstance(prompts, Sequence) and prompts
                                               and isinstance(prompts[0], Mapping)):
        prompts = [prompts]
    encoded = [token_ids_for(session, prompt) for prompt in prompts]
    if not encoded:
        raise ValueError("No prompts given: pass a text or a list of texts.")
    layout = mlp_layout(session)
    wanted = sorted({layer for layer, _ in keys})
    position = {at: {} for at in wanted}  # layer -> neuron -> its column among those read there
    for layer, neuron in keys:
        position[layer].setdefault(neuron, len(position[layer]))
    columns = {at: torch.tensor(list(position[at])) for at in wanted}
    plan = [(layout.down_module(session.model, at), columns[at]) for at in wanted]
    chunks, batches = [], []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        ids, mask = left_pad([tokens for _, tokens in chunk], session.pad_token_id)
        chunks.append((start, chunk, mask))
        batches.append({"input_ids": ids.to(session.device), "attention_mask": mask.to(session.device)})

    def read(inputs: dict) -> list:  # inside the trace
        return [down.input[:, :, index].float().cpu() for down, index in plan]

    def finish(values: list, reduce: str) -> pd.DataFrame:
        rows = []
        for (start, chunk, mask), batch in zip(chunks, values):
            real = mask.bool()
            for at, acts in zip(wanted, batch):  # [b, s, neurons asked for at this layer]
                for layer, neuron in keys:
                    if layer != at:
                        continue
                    column = acts[:, :, position[at][neuron]]
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

    return batches, read, finish


def _promoted_and_suppressed(session: Session, vectors: torch.Tensor, k: int) -> tuple[list, list]:
    """Top and bottom ``k`` decoded tokens of ``W_U @ v`` for each row ``v`` of ``vectors``."""
    return top_tokens(session, vectors, k), top_tokens(session, vectors, k, bottom=True)
