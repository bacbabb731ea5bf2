"""What runs inside a trace, on a server when the session is remote: pure tensor functions.

A remote server has torch, nnsight and transformers but not the workbench, so the
helpers a trace's block calls live here, import nothing but torch, and are shipped
by value with every request (:mod:`workbench.remote` registers this module with
cloudpickle). Keep them small: their source travels with each request.
"""

from __future__ import annotations

from typing import Any


def hidden(output: Any) -> Any:
    """The hidden states of a decoder layer's output (older transformers return ``(hidden, ...)``)."""
    return output[0] if isinstance(output, tuple) else output


def replace_hidden(output: Any, new: Any) -> Any:
    """A decoder layer's output with its hidden states replaced by ``new``."""
    return (new, *output[1:]) if isinstance(output, tuple) else new


def pool(states: Any, mask: Any) -> Any:
    """Mean over real tokens, leaving out position 0 (the attention sink) when there are others."""
    weights = mask.clone().float()
    longer = mask.sum(1) > 1
    weights[longer, 0] = 0.0
    return (states * weights[..., None]).sum(1) / weights.sum(1, keepdim=True).clamp(min=1.0)


def reduce_tokens(states: Any, mask: Any, how: str | None) -> Any:
    """``[batch, seq, d]`` states reduced over tokens: ``"pool"`` (:func:`pool`), ``"mean"`` (over the mask),
    ``"last"`` (the last position: rows left-padded) or ``None`` (kept)."""
    if how == "pool":
        return pool(states, mask)
    if how == "mean":
        weights = mask.float()[:, :, None]
        return (states * weights).sum(1) / weights.sum(1)
    if how == "last":
        return states[:, -1].clone()  # not a view: a server would send the whole batch's states with it
    return states


def value_vectors(weight: Any, parts: Any, column: bool, neurons: Any = None) -> Any:
    """A down-projection's value vectors, float32 ``[d_mlp, d_model]`` (only ``neurons``' rows, a list of indices,
    when given), from its stored ``weight`` (``column``: one neuron per column) as an adapter's merge would make it:
    plus ``(B @ A) * scale`` (transposed when the layer stores its weight fan-in first) for each ``(A, B, scale,
    fan_in_fan_out)`` of ``parts``, the product taken as peft's ``get_delta_weight`` takes it, or only its rows
    for ``neurons`` (see :func:`workbench.adapters.lora_parts`)."""
    import torch

    if neurons is None:
        out = weight.float()
        for a, b, scale, fan_in_fan_out in parts:
            delta = b @ a
            out = out + ((delta.T if fan_in_fan_out else delta) * scale).to(out.device).float()
        return out.T if column else out
    index = torch.tensor(list(neurons), dtype=torch.long, device=weight.device)
    out = (weight[:, index].T if column else weight[index]).float()
    for a, b, scale, fan_in_fan_out in parts:
        # the stored delta is D = B @ A, or its transpose: a neuron's column of D is then a row of B @ A
        rows = b[index.to(b.device)] @ a if fan_in_fan_out == column else (b @ a[:, index.to(a.device)]).T
        out = out + (rows * scale).to(out.device).float()
    return out


def turned(old: Any, new: Any) -> tuple[Any, Any]:
    """Each value vector's cosine between two models' ``[d_mlp, d_model]`` value vectors (1 where it did not
    change, not float noise below it) and the norm of its change."""
    import torch

    change = (new - old).norm(dim=1)
    cosine = torch.nn.functional.cosine_similarity(old, new, dim=1)
    return torch.where(change == 0, torch.ones_like(cosine), cosine), change


def target_logprob(logits: Any, positions: Any, tokens: Any, cap: float | None) -> Any:
    """Sum of the ``tokens``' log-probabilities read at ``positions`` (the logits predicting each), ``[rows]``,
    from ``[rows, seq, vocab]`` logits, soft-capped first as the model caps them (``cap``)."""
    import torch

    logits = logits[:, positions].float()
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.log_softmax(logits, -1)[:, torch.arange(len(tokens)), tokens].sum(-1)


def recorder_classes() -> tuple[type, type]:
    """``(StepRecorder, StopRecorder)``: what a generation hands transformers' ``generate`` to see each step.

    The second writes into a ``state`` dict (``{"logprobs": [...], "sequences": ..., "fired": ...}``)
    that the trace's block saves before decoding starts, so that it comes back from a
    server even when the block's last statement is a loop over every step. Built on
    call (transformers is imported only when generating); on a remote run they are
    pickled by value with the request, without the local-only ``bar`` and ``event``.
    """
    from transformers import LogitsProcessor, StoppingCriteria

    class StepRecorder(LogitsProcessor):
        """Sees the raw logits of each step (temperature 1, before top-p); reports progress."""

        def __init__(self, bar: Any = None) -> None:
            self.bar, self.previous = bar, None

        def __call__(self, input_ids, scores):
            import torch

            self.previous = torch.log_softmax(scores.float(), dim=-1)
            if self.bar is not None:
                self.bar.update(1)
            return scores

    class StopRecorder(StoppingCriteria):
        """After each step: keeps the ids so far and the sampled token's log-prob; stops when ``event`` is set."""

        def __init__(self, state: dict, recorder: Any, event: Any = None) -> None:
            self.state, self.recorder, self.event = state, recorder, event

        def __call__(self, input_ids, scores, **kwargs):
            import torch

            self.state["sequences"] = input_ids.cpu()
            if self.recorder.previous is not None:  # the log-prob of the token just sampled
                self.state["logprobs"].append(self.recorder.previous.gather(1, input_ids[:, -1:]).squeeze(1).cpu())
            fired = bool(self.event is not None and self.event.is_set())
            self.state["fired"] = fired
            return torch.full((input_ids.shape[0],), fired, dtype=torch.bool, device=input_ids.device)

    return StepRecorder, StopRecorder


def read_port(envoy: Any, port: str) -> Any:
    """What a site's envoy holds: its ``"output"`` or its ``"input"`` (see :func:`workbench.layout.site_envoy`)."""
    return envoy.output if port == "output" else envoy.input


def write_port(envoy: Any, port: str, original: Any, new: Any) -> None:
    """Replace what :func:`read_port` read (``original``) with ``new`` hidden states."""
    if port == "output":
        envoy.output = replace_hidden(original, new)
    else:
        envoy.input = new
