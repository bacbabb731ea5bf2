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
        return states[:, -1]
    return states


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
