"""Where an architecture keeps its parts: decoder layers, final norm, unembedding, MLP down-projections.

One place knows the module paths of each family (Llama-style ``model.layers`` /
``model.norm`` / ``lm_head``, GPT-2-style ``transformer.h`` / ``transformer.ln_f``,
GPT-NeoX ``gpt_neox.layers``, OPT-style ``model.decoder.layers``) and where an MLP's
neurons are. They are found from the loaded model's structure; an unknown
architecture gets one message listing what was looked for.

>>> layout(bench.module).layers
'model.layers'
>>> mlp_layout(bench).down
'mlp.down_proj'
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .session import Session

_LAYOUTS = (
    ("model.layers", "model.norm", "lm_head"),
    ("transformer.h", "transformer.ln_f", "lm_head"),
    ("gpt_neox.layers", "gpt_neox.final_layer_norm", "embed_out"),
    ("model.decoder.layers", "model.decoder.final_layer_norm", "lm_head"),
)

# decoder-layer path -> (down-projection path inside a layer, where its weight keeps neuron j's
# value vector: "column" of an nn.Linear [d_model, d_mlp] or "row" of a Conv1D [d_mlp, d_model])
_MLPS = {
    "model.layers": ("mlp.down_proj", "column"),
    "transformer.h": ("mlp.c_proj", "row"),
}


def module_at(root: Any, path: str) -> Any:
    """The attribute at a dotted ``path`` below ``root`` (a module or an nnsight envoy), or None."""
    for part in path.split("."):
        root = getattr(root, part, None)
        if root is None:
            return None
    return root


@dataclass(frozen=True)
class Layout:
    """Attribute paths of the decoder layers, final norm and unembedding."""

    layers: str
    norm: str
    unembed: str


def layout(module: Any) -> Layout:
    """Find the layout of a transformers causal LM module."""
    for layers, norm, unembed in _LAYOUTS:
        if module_at(module, layers) is not None and module_at(module, unembed) is not None:
            return Layout(layers, norm, unembed)
    raise ValueError(
        f"Cannot find the decoder layers of {type(module).__name__}: the workbench knows "
        f"{', '.join(path for path, _, _ in _LAYOUTS)}."
    )


def blocks(session: Session) -> Any:
    """The decoder layers of the session's model, as nnsight envoys (``blocks(session)[3].output``)."""
    return module_at(session.model, session.layout.layers)


def final_norm(session: Session) -> Any:
    """The final norm before the unembedding, as an nnsight envoy."""
    return module_at(session.model, session.layout.norm)


def unembedding(session: Session) -> Any:
    """The unembedding module itself (not an envoy): ``unembedding(session).weight`` is ``[vocab, d]``."""
    return module_at(session.module, session.layout.unembed)


def check_layer(session: Session, layer: Any) -> int:
    """Return ``layer`` as an int, or refuse it naming the valid range."""
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < session.n_layers:
        raise ValueError(
            f"layer must be a whole number in 0..{session.n_layers - 1} "
            f"({session.model_name} has {session.n_layers} layers), not {layer!r}."
        )
    return layer


def hook_name(session: Session, layer: int) -> str:
    """The module path whose output is the residual stream after ``layer``."""
    return f"{session.layout.layers}.{layer}"


def hidden(output: Any) -> Any:
    """The hidden states of a decoder layer's output (older transformers return ``(hidden, ...)``)."""
    return output[0] if isinstance(output, tuple) else output


def replace_hidden(output: Any, new: Any) -> Any:
    """A decoder layer's output with its hidden states replaced by ``new``."""
    return (new, *output[1:]) if isinstance(output, tuple) else new


# -- MLP neurons ---------------------------------------------------------------------


@dataclass(frozen=True)
class MLPLayout:
    """Where the decoder layers and their MLP down-projections are."""

    layers: str
    down: str
    value_axis: str

    def down_module(self, root: Any, layer: int) -> Any:
        """The down-projection of ``layer`` below ``root`` (a module or an nnsight envoy)."""
        return module_at(module_at(root, self.layers)[layer], self.down)


def mlp_layout(session: Session) -> MLPLayout:
    """The :class:`MLPLayout` of the loaded model, or a ValueError naming the known ones."""
    module = session.module
    layers = session.layout.layers
    known = _MLPS.get(layers)
    if known is None or module_at(module_at(module, layers)[0], known[0]) is None:
        names = ", ".join(f"{path}[i].{down}" for path, (down, _) in _MLPS.items())
        raise ValueError(
            f"The workbench does not know where {type(module).__name__} keeps its MLP neurons; it knows {names} "
            "(Llama-style gated MLPs and GPT-2)."
        )
    return MLPLayout(layers, *known)


def value_matrix(session: Session, layer: int) -> torch.Tensor:
    """Value vectors of ``layer``'s neurons as a float32 CPU ``[d_mlp, d_model]`` tensor.

    With an adapter on the down-projection (and on), the effective weights: the base
    weight plus the adapter's, as merging would make them, computed without merging.

    Examples
    --------
    >>> value_matrix(bench, 1).shape
    torch.Size([128, 64])
    """
    import torch

    mlp = mlp_layout(session)
    module = mlp.down_module(session.module, layer)
    if getattr(session, "adapter", None) is not None and session.adapter_enabled:
        from .adapters import effective_weight

        weight = effective_weight(module).detach()
    else:
        weight = module.weight.detach()  # an adapted layer's .weight is its base layer's (peft)
    weight = weight.T if mlp.value_axis == "column" else weight
    return weight.to("cpu", torch.float32)


def d_mlp(session: Session) -> int:
    """Neurons per MLP layer."""
    return int(value_matrix(session, 0).shape[0])


def check_neuron(session: Session, key: Any, width: int | None = None) -> tuple[int, int]:
    """A ``(layer, neuron)`` pair (or ``"layer/neuron"``, as ``settings`` records it) checked against the model."""
    if isinstance(key, str) and key.count("/") == 1 and all(part.isdigit() for part in key.split("/")):
        key = tuple(int(part) for part in key.split("/"))
    if not isinstance(key, (tuple, list)) or len(key) != 2:
        raise ValueError(f"A neuron is a (layer, neuron) pair such as (3, 117), not {key!r}.")
    layer = check_layer(session, key[0])
    width = d_mlp(session) if width is None else width
    neuron = key[1]
    if isinstance(neuron, bool) or not isinstance(neuron, numbers.Integral) or not 0 <= int(neuron) < width:
        raise ValueError(f"neuron must be a whole number in 0..{width - 1} (each MLP has {width}), not {neuron!r}.")
    return layer, int(neuron)
