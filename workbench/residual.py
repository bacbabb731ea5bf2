"""The residual stream of the loaded model, read through nnsight.

One place knows where a architecture keeps its decoder layers, final norm and
unembedding (Llama-style ``model.layers`` / ``model.norm`` / ``lm_head`` and
GPT-2-style ``transformer.h`` / ``transformer.ln_f`` / ``lm_head``), and one
function reads layer outputs for a batch of tokens, stopping the forward pass after
the last layer asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .session import Workbench

_LAYOUTS = (
    ("model.layers", "model.norm", "lm_head"),
    ("transformer.h", "transformer.ln_f", "lm_head"),
    ("gpt_neox.layers", "gpt_neox.final_layer_norm", "embed_out"),
    ("model.decoder.layers", "model.decoder.final_layer_norm", "lm_head"),
)


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
        f"{', '.join(name for name, _, _ in _LAYOUTS)}."
    )


def check_layer(bench: Workbench, layer: Any) -> int:
    """Return ``layer`` as an int, or refuse it naming the valid range."""
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < bench.n_layers:
        raise ValueError(
            f"layer must be a whole number in 0..{bench.n_layers - 1} "
            f"({bench.model_name} has {bench.n_layers} layers), not {layer!r}."
        )
    return layer


def hook_name(bench: Workbench, layer: int) -> str:
    """The module path whose output is the residual stream after ``layer``."""
    return f"{layout(bench.model._module).layers}.{layer}"


def layer_outputs(
    bench: Workbench,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *,
    layers: Sequence[int],
    stop: bool = True,
) -> dict[int, torch.Tensor]:
    """Residual stream after each of ``layers`` for one batch: ``{layer: [batch, seq, d]}``.

    One nnsight trace; with ``stop=True`` the forward pass ends after the last
    layer asked for (no compute is spent above it).
    """
    import torch

    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    blocks = module_at(bench.model, layout(bench.model._module).layers)
    wanted = sorted(set(layers))
    inputs = {"input_ids": input_ids.to(bench.device), "attention_mask": attention_mask.to(bench.device)}
    saved = {}
    with torch.inference_mode(), bench.model.trace(inputs, remote=bench.remote) as tracer:
        for layer in wanted:
            saved[layer] = _first(blocks[layer].output).save()
        if stop:
            tracer.stop()
    return {layer: _value(saved[layer]).float() for layer in wanted}


def _first(output: Any) -> Any:
    # Older transformers return (hidden, ...) from decoder layers; newer a tensor.
    return output[0] if isinstance(output, tuple) else output


def _value(saved: Any) -> Any:
    return getattr(saved, "value", saved)


def windows(token_streams: Iterable[Sequence[int]], context: int, separator: int | None) -> torch.Tensor:
    """Pack token streams (joined by ``separator``) into ``[n, context]`` windows."""
    import torch

    flat: list[int] = []
    for stream in token_streams:
        flat.extend(stream)
        if separator is not None:
            flat.append(separator)
    n = len(flat) // context
    if n == 0:
        raise ValueError(
            f"The corpus has {len(flat)} tokens, fewer than one window of {context}: "
            "pass more text or a smaller context."
        )
    return torch.tensor(flat[: n * context], dtype=torch.long).view(n, context)


def batches(rows: torch.Tensor, size: int) -> Iterator[torch.Tensor]:
    for start in range(0, rows.shape[0], size):
        yield rows[start : start + size]
