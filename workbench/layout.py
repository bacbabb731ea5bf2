"""Where an architecture keeps its parts: decoder layers, final norm, unembedding, MLP down-projections.

One place knows the module paths of each family (Llama-style ``model.layers`` /
``model.norm`` / ``lm_head``, GPT-2-style ``transformer.h`` / ``transformer.ln_f``,
GPT-NeoX ``gpt_neox.layers``, OPT-style ``model.decoder.layers``) and where an MLP's
neurons are. They are found from the loaded model's structure; an unknown
architecture gets one message listing what was looked for.

>>> layout(bench.module).layers, layout(bench.module).unembed
('model.layers', 'lm_head')
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

# where families keep their decoder layers, and the final norm's name beside them (transformers 5 names)
_LAYERS = ("model.layers", "transformer.h", "gpt_neox.layers", "model.decoder.layers", "model.language_model.layers")
_NORMS = ("norm", "ln_f", "final_layer_norm", "final_layernorm", "final_norm")

# inside a decoder layer: (down-projection path, where its weight keeps neuron j's value vector:
# "column" of an nn.Linear [d_model, d_mlp] or "row" of a Conv1D [d_mlp, d_model])
_MLPS = (
    ("mlp.down_proj", "column"),  # Llama, Mistral, Qwen2/3, Gemma 2/3, Phi-3, OLMo 2
    ("mlp.c_proj", "row"),  # GPT-2
    ("mlp.dense_4h_to_h", "column"),  # GPT-NeoX (Pythia)
    ("mlp.fc2", "column"),  # OPT-style
)
# a mixture-of-experts MLP: its neurons live in each expert's weights, fused into one tensor
_EXPERTS = ("mlp.experts", "block_sparse_moe.experts", "mlp.router", "mlp.gate")

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


def _path_of(root: Any, target: Any) -> str | None:
    for name, child in root.named_modules():
        if child is target:
            return name
    return None


def layout(module: Any) -> Layout:
    """Find where a transformers causal LM keeps its decoder layers, final norm and unembedding.

    The unembedding is the model's own output embedding (``get_output_embeddings``);
    the decoder layers are the first of the known paths that holds one module per
    layer; the final norm sits beside them.
    """
    unembed = module.get_output_embeddings() if hasattr(module, "get_output_embeddings") else None
    unembed_path = _path_of(module, unembed) if unembed is not None else None
    config = getattr(module, "config", None)
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    n_layers = getattr(text, "num_hidden_layers", None)
    for layers in _LAYERS:
        found = module_at(module, layers)
        if found is None or not hasattr(found, "__len__") or (n_layers is not None and len(found) != n_layers):
            continue
        parent = layers.rsplit(".", 1)[0]
        norm = next((f"{parent}.{name}" for name in _NORMS if module_at(module, f"{parent}.{name}") is not None), None)
        if norm is not None and unembed_path:
            return Layout(layers, norm, unembed_path)
    raise ValueError(
        f"Cannot find the decoder layers, final norm and unembedding of {type(module).__name__}: the workbench "
        f"looks for decoder layers at {', '.join(_LAYERS)}, a final norm named {', '.join(_NORMS)} beside them, "
        f"and the model's output embeddings (found: {unembed_path or 'none'})."
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
    """Where the loaded model's MLP neurons are, or a ValueError saying what this model lacks.

    A mixture-of-experts model (Mixtral, Qwen2-MoE, gpt-oss) is refused: its neurons sit
    in many experts' fused weights, with no one down-projection per layer whose columns
    are value vectors.
    """
    module = session.module
    layers = session.layout.layers
    first = module_at(module, layers)[0]
    experts = next((path for path in _EXPERTS if module_at(first, path) is not None), None)
    if experts is not None and module_at(first, "mlp.down_proj") is None:
        raise ValueError(
            f"{type(module).__name__} is a mixture-of-experts model: the MLP neurons of each layer live in the fused "
            f"weights of its experts ({layers}[i].{experts}), not in one down-projection, so value vectors, neuron "
            "activations and neuron edits are not available for it. Steering, SAEs, probes and diffs of the "
            "residual stream work as for any model."
        )
    for down, axis in _MLPS:
        if module_at(first, down) is not None:
            return MLPLayout(layers, down, axis)
    names = ", ".join(f"{layers}[i].{down}" for down, _ in _MLPS)
    raise ValueError(
        f"The workbench does not know where {type(module).__name__} keeps its MLP neurons; it looked for {names}."
    )


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
