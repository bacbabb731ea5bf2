"""Where an architecture keeps its parts: decoder layers, final norm, unembedding, MLP down-projections, sites.

One place knows the module paths of each family (Llama-style ``model.layers`` /
``model.norm`` / ``lm_head``, GPT-2-style ``transformer.h`` / ``transformer.ln_f``,
GPT-NeoX ``gpt_neox.layers``, OPT-style ``model.decoder.layers``), where an MLP's
neurons are, and where each :class:`Site` an SAE can read is inside a decoder layer.
They are found from the loaded model's structure; an unknown architecture gets one
message listing what was looked for.

>>> layout(bench.module).layers, layout(bench.module).unembed
('model.layers', 'lm_head')
>>> mlp_layout(bench).down
'mlp.down_proj'
>>> site = parse_site(bench, "blocks.1.hook_mlp_out")   # a TransformerLens hook name
>>> site, hook_name(bench, site)
(Site(layer=1, kind='mlp_out'), 'model.layers.1.mlp.output')
>>> parse_site(bench, "model.layers.0.post_attention_layernorm.output")   # a module path of the loaded model
Site(layer=0, kind='mlp_in')
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._traced import hidden, replace_hidden  # noqa: F401  (re-exported: run inside traces, shipped by value)

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


def unembedding_envoy(session: Session) -> Any:
    """The unembedding as an nnsight envoy: calling it inside a trace projects there (on the server when remote)."""
    return module_at(session.model, session.layout.unembed)


def check_layer(session: Session, layer: Any) -> int:
    """Return ``layer`` as an int, or refuse it naming the valid range."""
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < session.n_layers:
        raise ValueError(
            f"layer must be a whole number in 0..{session.n_layers - 1} "
            f"({session.model_name} has {session.n_layers} layers), not {layer!r}."
        )
    return layer


def hook_name(session: Session, where: int | Site) -> str:
    """The module path of a site in the loaded model: ``"model.layers.3"`` for the residual stream
    after layer 3 (an int or a ``resid_post`` site), ``"model.layers.3.mlp.output"`` for another site."""
    site = where if isinstance(where, Site) else Site(int(where))
    if site.kind == "resid_post":
        return f"{session.layout.layers}.{site.layer}"
    module, port = site_taps(session)[site.kind]
    return f"{session.layout.layers}.{site.layer}.{module}.{port}"


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


def traced_value_vectors(session: Session, layer: int, *, merged: bool | None = None) -> Any:
    """What reads ``layer``'s value vectors inside a trace (so on a remote session's server, where the weights
    are): ``read(neurons=None)``, called in the trace's block, returns them as :func:`value_matrix` does here,
    float32 ``[d_mlp, d_model]`` (only ``neurons``' rows, a list of indices, when given), with an adapter on the
    down-projection (and on) merged as peft would (see :func:`workbench.adapters.lora_parts`); ``merged=False``
    reads an adapted layer's base weight on the adapted session (both sides of an adapter's diff in one trace)."""
    from . import _traced

    mlp = mlp_layout(session)
    down = mlp.down_module(session.model, layer)
    column = mlp.value_axis == "column"
    parts = []
    merged = getattr(session, "adapter", None) is not None and session.adapter_enabled if merged is None else merged
    if merged:
        from .adapters import lora_parts

        parts = [(getattr(down.lora_A, name), getattr(down.lora_B, name), scale, fan)
                 for name, scale, fan in lora_parts(mlp.down_module(session.module, layer))]

    def read(neurons: Any = None) -> Any:  # inside the trace: the envoys' weights are the server's tensors
        return _traced.value_vectors(down.weight, [(a.weight, b.weight, scale, fan) for a, b, scale, fan in parts],
                                     column, neurons)

    return read


def d_mlp(session: Session) -> int:
    """Neurons per MLP layer (read off the weight's shape: no weight is copied, and a remote model's are not here)."""
    mlp = mlp_layout(session)
    weight = mlp.down_module(session.module, 0).weight
    return int(weight.shape[1] if mlp.value_axis == "column" else weight.shape[0])


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


# -- sites: where in a decoder layer an SAE reads ----------------------------------------

# the kinds of site, in the order a decoder layer computes them
SITE_KINDS = ("attn_out", "resid_mid", "mlp_in", "mlp_out", "resid_post")
SITE_MEANINGS = {
    "attn_out": "the attention block's output, as it is added to the residual stream",
    "resid_mid": "the residual stream between the attention and the MLP block",
    "mlp_in": "what the MLP reads: the residual stream after the pre-MLP norm",
    "mlp_out": "the MLP block's output, as it is added to the residual stream",
    "resid_post": "the residual stream after the decoder layer",
}


@dataclass(frozen=True)
class Site:
    """A place in decoder layer ``layer``: one of :data:`SITE_KINDS` (default the residual stream after it).

    Examples
    --------
    >>> Site(3, "mlp_out").describe()
    "layer 3's mlp_out (the MLP block's output, as it is added to the residual stream)"
    """

    layer: int
    kind: str = "resid_post"

    def __post_init__(self) -> None:
        if self.kind not in SITE_KINDS:
            raise ValueError(f"A site kind is one of {', '.join(SITE_KINDS)}, not {self.kind!r}.")

    @property
    def order(self) -> tuple[int, int]:
        """Where the site comes in a forward pass (earlier sites sort first)."""
        return self.layer, SITE_KINDS.index(self.kind)

    def describe(self) -> str:
        return f"layer {self.layer}'s {self.kind} ({SITE_MEANINGS[self.kind]})"


# family -> site kind -> (module inside a decoder layer, "output" or "input"). Gemma 2/3 norm each
# block's output before adding it (their post_attention_layernorm is the attention's output norm),
# where Llama-style layers use post_attention_layernorm as the pre-MLP norm.
_SITE_TAPS = {
    "llama": {"attn_out": ("self_attn", "output"), "resid_mid": ("post_attention_layernorm", "input"),
              "mlp_in": ("post_attention_layernorm", "output"), "mlp_out": ("mlp", "output")},
    "gemma": {"attn_out": ("post_attention_layernorm", "output"), "resid_mid": ("pre_feedforward_layernorm", "input"),
              "mlp_in": ("pre_feedforward_layernorm", "output"), "mlp_out": ("post_feedforward_layernorm", "output")},
    "gpt2": {"attn_out": ("attn", "output"), "resid_mid": ("ln_2", "input"), "mlp_in": ("ln_2", "output"),
             "mlp_out": ("mlp", "output")},
    # OLMo 2 normalises each block's output, not its input: the MLP reads the residual stream itself
    "olmo2": {"attn_out": ("post_attention_layernorm", "output"), "resid_mid": ("mlp", "input"),
              "mlp_in": ("mlp", "input"), "mlp_out": ("post_feedforward_layernorm", "output")},
    # GPT-NeoX (Pythia) with its parallel residual: attention and MLP both read the layer's input, so there is
    # no residual stream between them (no resid_mid); sequential GPT-NeoX has one
    "neox_parallel": {"attn_out": ("attention", "output"), "mlp_in": ("post_attention_layernorm", "output"),
                      "mlp_out": ("mlp", "output")},
    "neox": {"attn_out": ("attention", "output"), "resid_mid": ("post_attention_layernorm", "input"),
             "mlp_in": ("post_attention_layernorm", "output"), "mlp_out": ("mlp", "output")},
}
SITE_FAMILIES = "Llama-style (Llama, Mistral, Mixtral, Qwen 2/3, Qwen2-MoE, Phi-3, gpt-oss), Gemma 2/3, GPT-2, " \
    "GPT-NeoX and OLMo 2"

# TransformerLens hook names: (pattern, layer offset, kind)
_TL_HOOKS = (
    (re.compile(r"^blocks\.(\d+)\.hook_resid_post$"), 0, "resid_post"),
    (re.compile(r"^blocks\.(\d+)\.hook_resid_pre$"), -1, "resid_post"),  # the same tensor as resid_post of N - 1
    (re.compile(r"^blocks\.(\d+)\.hook_resid_mid$"), 0, "resid_mid"),
    (re.compile(r"^blocks\.(\d+)\.hook_mlp_in$"), 0, "resid_mid"),  # TransformerLens: the MLP block's input
    (re.compile(r"^blocks\.(\d+)\.ln2\.hook_normalized$"), 0, "mlp_in"),
    (re.compile(r"^blocks\.(\d+)\.hook_mlp_out$"), 0, "mlp_out"),
    (re.compile(r"^blocks\.(\d+)\.hook_attn_out$"), 0, "attn_out"),
)
_MODULE_PATH = re.compile(
    r"^(?:model\.layers|model\.language_model\.layers|transformer\.h|gpt_neox\.layers|model\.decoder\.layers)"
    r"\.(\d+)(?:\.(.+))?$"
)
TL_HOOK_NAMES = ("blocks.N.hook_resid_post", "blocks.N.hook_resid_pre", "blocks.N.hook_resid_mid",
                 "blocks.N.hook_mlp_in", "blocks.N.ln2.hook_normalized", "blocks.N.hook_mlp_out",
                 "blocks.N.hook_attn_out")


def site_family(session: Session) -> str | None:
    """``"llama"``, ``"gemma"``, ``"gpt2"``, ``"olmo2"``, ``"neox"`` or ``"neox_parallel"``: how the loaded model's
    decoder layers are built (None: unknown)."""
    layer = module_at(session.module, session.layout.layers)[0]
    has = {name for name, _ in layer.named_children()}
    if session.layout.layers == "transformer.h" and {"attn", "ln_2", "mlp"} <= has:
        return "gpt2"
    if session.layout.layers == "gpt_neox.layers" and {"attention", "post_attention_layernorm", "mlp"} <= has:
        return "neox_parallel" if getattr(session.module.config, "use_parallel_residual", True) else "neox"
    if {"self_attn", "mlp", "post_attention_layernorm", "post_feedforward_layernorm"} <= has and not has & {
            "input_layernorm", "pre_feedforward_layernorm"}:
        return "olmo2"
    if {"pre_feedforward_layernorm", "post_feedforward_layernorm", "post_attention_layernorm", "mlp"} <= has:
        return "gemma"
    if {"self_attn", "post_attention_layernorm", "mlp"} <= has and not has & {"pre_feedforward_layernorm",
                                                                           "post_feedforward_layernorm"}:
        return "llama"
    return None


def site_taps(session: Session) -> dict[str, tuple[str, str]]:
    """Site kind -> (module inside a decoder layer, ``"output"``/``"input"``) for the loaded model, ``resid_post``
    left out (it is the decoder layer's own output); empty for an architecture whose layers are not known."""
    return dict(_SITE_TAPS.get(site_family(session) or "", {}))


def parse_site(session: Session | None, name: str | None) -> Site | None:
    """The site a hook name reads: a TransformerLens name (``blocks.3.hook_mlp_out``) or a module path
    (``model.layers.3``, ``model.layers.3.mlp.output``, ``transformer.h.3.ln_2.output``); None if not understood.

    ``blocks.N.hook_resid_pre`` is the residual stream after layer N - 1 (layer -1: the embeddings).
    A module path below a decoder layer is read with the loaded model's own layout, so it needs ``session``.
    """
    if not name:
        return None
    for pattern, offset, kind in _TL_HOOKS:
        match = pattern.match(name)
        if match:
            return Site(int(match.group(1)) + offset, kind)
    port = "output"
    for suffix in ("output", "input"):
        if name.endswith("." + suffix):
            name, port = name[: -len(suffix) - 1], suffix
    match = _MODULE_PATH.match(name)
    if not match:
        return None
    layer, module = int(match.group(1)), match.group(2)
    if module is None:
        return Site(layer - 1 if port == "input" else layer)
    if session is None:
        return None
    for kind, tap in site_taps(session).items():
        if tap == (module, port):
            return Site(layer, kind)
    return None


def check_site(session: Session, site: Site) -> Site:
    """Return ``site`` if the loaded model has it, or refuse it naming what it has."""
    if not isinstance(site, Site):
        raise TypeError(f"Expected a Site, got {type(site).__name__}.")
    check_layer(session, site.layer)
    if site.kind != "resid_post" and site.kind not in site_taps(session):
        known = site_taps(session)
        if known:
            raise ValueError(
                f"{type(session.module).__name__} has no {site.kind} site: "
                + ("its attention and MLP run in parallel on the layer's input, so no residual stream lies between "
                   "them. " if site.kind == "resid_mid" and site_family(session) == "neox_parallel" else "")
                + f"its sites are {', '.join(['resid_post', *known])}."
            )
        raise ValueError(
            f"The workbench does not know where {type(session.module).__name__} computes {site.kind}: it reads "
            f"only the residual stream after a layer (resid_post) of this architecture. Sites are known for "
            f"{SITE_FAMILIES} decoder layers."
        )
    return site


def site_envoy(session: Session, site: Site) -> tuple[Any, str]:
    """The nnsight envoy to read ``site`` from and whether its ``"output"`` or ``"input"`` is the site."""
    layer = blocks(session)[site.layer]
    if site.kind == "resid_post":
        return layer, "output"
    module, port = site_taps(session)[site.kind]
    return module_at(layer, module), port
