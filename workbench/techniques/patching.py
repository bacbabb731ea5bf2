"""Activation patching: where, layer by layer and token by token, a clean prompt's answer lives.

:func:`patch` runs a clean and a corrupted prompt of the same length once, keeping what
the clean run computed at a site of every layer (the residual stream after the layer by
default, or an attention or MLP block's output). Then, for every ``(layer, position)``
cell, the corrupted run is repeated with that one activation replaced by the clean one,
and the target token's probability read at the last position. Cells go through the model
as rows of one batched nnsight trace (``batch_size`` rows at a time, progress after each
batch and Cancel between them). The effect is normalised,
``(p_patched - p_corrupted) / (p_clean - p_corrupted)``: 1 where the patch restores the
clean answer, 0 where it changes nothing.

>>> result = patch(bench, "The quick fox jumps to the", "The honest fox jumps to the", layers=[1])
>>> result.effect.shape == (1, len(result.tokens))
True
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import chat
from .._traced import read_port, write_port
from ..generation import generate
from ..layout import SITE_KINDS, Site, check_site, hidden, parse_site, site_envoy
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..session import Session

#: Patched runs per trace.
BATCH_SIZE = 16
#: The smallest |p_clean - p_corrupted| the effect is normalised by.
MIN_GAP = 1e-6


def prompt_ids(session: Session, source: Any, what: str) -> tuple[str, list[int]]:
    """A prompt's text and tokens: a string as is, a conversation through the chat template (for the assistant)."""
    if isinstance(source, str):
        if not source:
            raise ValueError(f"The {what} prompt is empty.")
        return source, list(session.tokenizer(source, add_special_tokens=True)["input_ids"])
    prompt = session.render(source, persona=chat.ASSISTANT)
    return prompt.text, list(prompt.input_ids)


def site_kind(session: Session, site: Any) -> str:
    """The kind of site patched: a kind (``"resid_post"``, ``"attn_out"``…) or a hook name or module path with the
    layer written ``N`` (``"blocks.N.hook_mlp_out"``, ``"model.layers.N.mlp"``), checked against the model."""
    if not isinstance(site, str):
        raise TypeError(f"site must be a site kind or a hook name, not {type(site).__name__}.")
    kind = site if site in SITE_KINDS else None
    if kind is None:
        parsed = parse_site(session, re.sub(r"\.(N|\{layer\})(?=\.|$)", ".0", site))
        if parsed is None or parsed.layer != 0:
            raise ValueError(f"site={site!r} is not a site the workbench patches: give a kind "
                             f"({', '.join(SITE_KINDS)}) or a hook name with the layer written N, e.g. "
                             "'blocks.N.hook_mlp_out' or 'model.layers.N.mlp'.")
        kind = parsed.kind
    check_site(session, Site(0, kind))
    return kind


def check_indices(values: Any, size: int, what: str) -> list[int]:
    if values is None:
        return list(range(size))
    items = [values] if isinstance(values, numbers.Integral) else list(values)
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not -size <= v < size:
            raise ValueError(f"{what} must be indices in 0..{size - 1}, not {values!r}.")
        out.append(int(v) % size)
    if not out:
        raise ValueError(f"Give at least one of the {what}.")
    return sorted(set(out))


@dataclass
class Patching:
    """What patching each ``(layer, position)`` from the clean run into the corrupted one does to a token.

    Attributes
    ----------
    clean, corrupted : str
        The two prompts as run.
    tokens, corrupted_tokens : list[str]
        Their tokens (the same number).
    target : str
        The token whose probability is read at the last position; ``target_id`` its id.
    p_clean, p_corrupted : float
        Its probability in the clean and the corrupted run.
    site : str
        The kind of site patched (``"resid_post"``…).
    layers, positions : list[int]
        The rows and columns of the matrices.
    probs : numpy.ndarray
        ``[layers, positions]``: the target's probability with that one activation patched.
    effect : numpy.ndarray
        ``(probs - p_corrupted) / (p_clean - p_corrupted)``: 1 restores the clean answer.
    top_ids : numpy.ndarray
        ``[layers, positions]``: the most likely next token of each patched run.
    """

    clean: str
    corrupted: str
    tokens: list[str]
    corrupted_tokens: list[str]
    target: str
    target_id: int
    p_clean: float
    p_corrupted: float
    site: str
    layers: list[int]
    positions: list[int]
    probs: np.ndarray
    effect: np.ndarray
    top_ids: np.ndarray
    _session: Any = field(repr=False, default=None)
    _clean_ids: list = field(repr=False, default_factory=list)
    _corrupted_ids: list = field(repr=False, default_factory=list)
    _top_tokens: list = field(repr=False, default_factory=list)

    @property
    def top_tokens(self) -> list[list[str]]:
        """The most likely next token of each patched run, decoded (``[layers][positions]``)."""
        if not self._top_tokens and self.top_ids.size:
            decode = self._session.tokenizer.decode
            self._top_tokens = [[decode([int(i)]) for i in row] for row in self.top_ids]
        return self._top_tokens

    def best(self) -> tuple[int, int]:
        """The ``(layer, position)`` whose patch restores the most."""
        i, j = np.unravel_index(int(np.nanargmax(self.effect)), self.effect.shape)
        return self.layers[i], self.positions[j]

    def to_pandas(self) -> pd.DataFrame:
        """One row per cell: layer, position, clean and corrupted token there, prob, effect, top token."""
        import pandas as pd

        rows = []
        for i, layer in enumerate(self.layers):
            for j, position in enumerate(self.positions):
                rows.append({"layer": layer, "position": position, "token": self.tokens[position],
                             "corrupted_token": self.corrupted_tokens[position], "prob": float(self.probs[i, j]),
                             "effect": float(self.effect[i, j]), "top_token": self.top_tokens[i][j]})
        return pd.DataFrame(rows)

    @property
    def frame(self) -> pd.DataFrame:
        return self.to_pandas()

    def chart(self) -> Any:
        """The layer × position heat map of the effect (altair): hover a cell for the tokens and probability."""
        import altair as alt

        frame = self.to_pandas()
        frame["column"] = [f"{p}: {t!r}" for p, t in zip(frame.position, frame.token)]
        order = [f"{p}: {self.tokens[p]!r}" for p in self.positions]
        return alt.Chart(frame).mark_rect().encode(
            x=alt.X("column:O", sort=order, title="position (clean token)"),
            y=alt.Y("layer:O", sort="descending", title="layer"),
            color=alt.Color("effect:Q", scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True),
                            title="restored"),
            tooltip=["layer", "position", "token", "corrupted_token", alt.Tooltip("prob:Q", format=".4f"),
                     alt.Tooltip("effect:Q", format=".3f"), "top_token"],
        ).properties(title=f"patching {self.site}: p({self.target!r}) clean {self.p_clean:.3f}, "
                           f"corrupted {self.p_corrupted:.3f}", width=max(200, 28 * len(self.positions)),
                     height=max(120, 18 * len(self.layers)))

    def text(self, layer: int, position: int, max_new_tokens: int = 12) -> str:
        """The corrupted prompt's greedy continuation with ``(layer, position)`` patched from the clean run."""
        if layer not in self.layers or position not in self.positions:
            raise ValueError(f"({layer}, {position}) is not a cell of this result: layers {self.layers}, "
                             f"positions {self.positions}.")
        ids = patched_tokens(self._session, self._clean_ids, self._corrupted_ids, self.site, layer, position,
                             max_new_tokens=max_new_tokens)
        return self._session.tokenizer.decode(ids)

    def _journal_summary(self) -> dict:
        layer, position = self.best()
        return {"clean": self.clean[:200], "corrupted": self.corrupted[:200], "target": self.target,
                "site": self.site, "p_clean": round(self.p_clean, 4), "p_corrupted": round(self.p_corrupted, 4),
                "best": {"layer": layer, "position": position,
                         "effect": round(float(np.nanmax(self.effect)), 4)},
                "layers": len(self.layers), "positions": len(self.positions)}

    def __repr__(self) -> str:
        layer, position = self.best()
        return (f"Patching({self.site}, {len(self.layers)} layers x {len(self.positions)} positions, "
                f"target={self.target!r}, p_clean={self.p_clean:.3f}, p_corrupted={self.p_corrupted:.3f}, "
                f"best=(layer {layer}, position {position}))")


def _target_id(session: Session, target: Any) -> int:
    """The id of the one token ``target`` names (a string of one token, or an id)."""
    if isinstance(target, str):
        ids = session.tokenizer(target, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            pieces = [session.tokenizer.decode([i]) for i in ids]
            raise ValueError(f"The target {target!r} is {len(ids)} tokens ({pieces}); patching reads one token's "
                             "probability: give one token, or its id.")
        return int(ids[0])
    if isinstance(target, numbers.Integral) and not isinstance(target, bool) and 0 <= target < session.vocab_size:
        return int(target)
    raise ValueError(f"target must be one token (a string or an id in 0..{session.vocab_size - 1}) or None "
                     f"(the clean run's most likely next token), not {target!r}.")


def _envoys(session: Session, kind: str, layers: Sequence[int]) -> list[tuple[int, Any, str]]:
    return [(layer, *site_envoy(session, Site(layer, kind))) for layer in layers]


@recorded("patch")
def patch(session: Session, clean: Any, corrupted: Any, target: Any = None, *, site: str = "resid_post",
          layers: Any = None, positions: Any = None, batch_size: int = BATCH_SIZE, cancel: Any = None,
          progress: Any = False) -> Patching:
    """Patch each ``(layer, position)`` of a site from a clean run into a corrupted one; read a token's probability.

    See :meth:`workbench.Workbench.patch`.
    """
    from ..errors import Cancelled

    clean_text, clean_ids = prompt_ids(session, clean, "clean")
    corrupted_text, corrupted_ids = prompt_ids(session, corrupted, "corrupted")
    if len(clean_ids) != len(corrupted_ids):
        raise ValueError(f"The clean prompt has {len(clean_ids)} tokens and the corrupted one {len(corrupted_ids)}: "
                         "patching puts each token's activation in the same place of the other run, so they must "
                         "tokenise to the same length (change a word for one of the same token count).")
    kind = site_kind(session, site)
    layers = check_indices(layers, session.n_layers, "layers")
    width = len(clean_ids)
    positions = check_indices(positions, width, "positions")
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, not {batch_size!r}.")
    plan = _envoys(session, kind, layers)
    cells = [(layer, position) for layer in layers for position in positions]
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"Patching was cancelled after 0 of {len(cells)} runs.")
    given = None if target is None else _target_id(session, target)
    runs = _patched_remotely if session.remote else _patched_here
    target_id, p_clean, p_corrupted, probs, tops = runs(session, plan, clean_ids, corrupted_ids, given, cells,
                                                        batch_size, cancel, progress)
    shape = (len(layers), len(positions))
    probs = probs.reshape(shape)
    decode = session.tokenizer.decode
    return Patching(
        clean=clean_text, corrupted=corrupted_text, tokens=[decode([i]) for i in clean_ids],
        corrupted_tokens=[decode([i]) for i in corrupted_ids], target=decode([target_id]), target_id=target_id,
        p_clean=p_clean, p_corrupted=p_corrupted, site=kind, layers=layers, positions=positions, probs=probs,
        effect=(probs - p_corrupted) / (p_clean - p_corrupted), top_ids=tops.reshape(shape), _session=session,
        _clean_ids=list(clean_ids), _corrupted_ids=list(corrupted_ids),
    )


def _edits(plan: Sequence[tuple[int, Any, str]], chunk: Sequence[tuple[int, int]], width: int, device: Any
           ) -> list[tuple[int, Any, str, Any]]:
    """``(layer, envoy, port, mask)`` of each layer a batch of cells patches: ``mask`` ``[rows, width, 1]`` is
    True at each row's one patched position."""
    import torch

    masks = {}
    for row, (layer, position) in enumerate(chunk):
        mask = masks.setdefault(layer, torch.zeros(len(chunk), width, 1, dtype=torch.bool))
        mask[row, position] = True
    return [(layer, envoy, port, masks[layer].to(device)) for layer, envoy, port in plan if layer in masks]


def _check_gap(session: Session, target_id: int, p_clean: float, p_corrupted: float) -> None:
    if abs(p_clean - p_corrupted) < MIN_GAP:
        raise ValueError(f"The target {session.tokenizer.decode([target_id])!r} has the same probability in both "
                         f"runs ({p_clean:.3g}): patching has nothing to restore. Choose a token whose probability "
                         "the corruption changes (target=None takes the clean run's most likely one).")


def _plan(session: Session, plan: Sequence[tuple[int, Any, str]], clean_ids: Sequence[int],
          corrupted_ids: Sequence[int], given: int | None, cells: Sequence[tuple[int, int]], batch_size: int
          ) -> tuple[list[dict], list]:
    """The passes of a patching, ``(batches, reads)`` for :meth:`~workbench.session.Session.trace_each`: first the
    clean and corrupted prompts, whose read keeps the clean run's site at every layer and the target (``given``,
    or the clean run's most likely token) where it runs and returns ``[target, p_clean, p_corrupted]``; then
    each batch of cells, the corrupted prompt with one cell of the clean run patched in per row, whose read returns
    ``[2, rows]``: the target's probability and the most likely token. On a remote session the kept activations
    stay on the server, read there by every patched batch (never a layer's activations back)."""
    import torch

    device = session.device
    width = len(clean_ids)
    model = session.model
    kept: dict = {}  # filled by the clean run's pass, where it runs; read there by every patched batch

    def clean_run(inputs: dict) -> Any:
        for layer, envoy, port in plan:
            kept[layer] = hidden(read_port(envoy, port))[0].detach()
        last = torch.softmax(model.output.logits[:, -1].float(), -1)
        kept["target"] = last[0].argmax() if given is None else torch.tensor(given, device=last.device)
        return torch.cat([kept["target"][None].float(), last[:, kept["target"]]]).cpu()

    def patched_run(edits: list) -> Any:
        def read(inputs: dict) -> Any:
            for layer, envoy, port, mask in edits:
                original = read_port(envoy, port)
                states = hidden(original)
                write_port(envoy, port, original, torch.where(mask, kept[layer].to(states.dtype)[None], states))
            dist = torch.softmax(model.output.logits[:, -1].float(), -1)
            return torch.stack([dist[:, kept["target"]], dist.argmax(-1).float()]).cpu()

        return read

    ids = torch.tensor([clean_ids, corrupted_ids], device=device)
    batches, reads = [{"input_ids": ids, "attention_mask": torch.ones_like(ids)}], [clean_run]
    for start in range(0, len(cells), batch_size):
        chunk = cells[start : start + batch_size]
        rows = torch.tensor([corrupted_ids] * len(chunk), device=device)
        batches.append({"input_ids": rows, "attention_mask": torch.ones_like(rows)})
        reads.append(patched_run(_edits(plan, chunk, width, device)))
    return batches, reads


def _patched_here(session: Session, plan: Sequence[tuple[int, Any, str]], clean_ids: Sequence[int],
                  corrupted_ids: Sequence[int], given: int | None, cells: Sequence[tuple[int, int]],
                  batch_size: int, cancel: Any, progress: Any) -> tuple[int, float, float, Any, Any]:
    """The passes of :func:`_plan` one trace at a time, with progress and Cancel between the patched batches:
    ``(target id, p_clean, p_corrupted, probs, top ids)`` (one per cell)."""
    import torch

    from .._progress import progress_bar
    from ..errors import Cancelled

    batches, reads = _plan(session, plan, clean_ids, corrupted_ids, given, cells, batch_size)
    with torch.inference_mode():
        first = session.trace_each(batches[:1], reads[:1], stop=False)[0]
    target_id, p_clean, p_corrupted = int(first[0]), float(first[1]), float(first[2])
    _check_gap(session, target_id, p_clean, p_corrupted)
    found = []
    with progress_bar(progress, len(cells), "patching", unit="run") as bar:
        for n, (batch, read) in enumerate(zip(batches[1:], reads[1:])):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"Patching was cancelled after {n * batch_size} of {len(cells)} runs.")
            with torch.inference_mode():
                found += session.trace_each([batch], [read], stop=False)
            bar.update(found[-1].shape[1])
    found = torch.cat(found, dim=1)  # [2, cells]
    return target_id, p_clean, p_corrupted, found[0].double().numpy(), found[1].numpy().astype(np.int64)


def _patched_remotely(session: Session, plan: Sequence[tuple[int, Any, str]], clean_ids: Sequence[int],
                      corrupted_ids: Sequence[int], given: int | None, cells: Sequence[tuple[int, int]],
                      batch_size: int, cancel: Any, progress: Any) -> tuple[int, float, float, Any, Any]:
    """The passes of :func:`_plan` in ONE request (an nnsight session): Cancel stops it before it is sent;
    progress comes when it is back."""
    import torch

    from .._progress import progress_bar

    batches, reads = _plan(session, plan, clean_ids, corrupted_ids, given, cells, batch_size)
    with progress_bar(progress, len(cells), "patching", unit="run") as bar, torch.inference_mode():
        got = session.trace_each(batches, reads, stop=False)
        bar.update(len(cells))
    target_id, p_clean, p_corrupted = int(got[0][0]), float(got[0][1]), float(got[0][2])
    _check_gap(session, target_id, p_clean, p_corrupted)
    found = torch.cat(list(got[1:]), dim=1)  # [2, cells]
    return target_id, p_clean, p_corrupted, found[0].double().numpy(), found[1].numpy().astype(np.int64)


def patched_tokens(session: Session, clean_ids: Sequence[int], corrupted_ids: Sequence[int], kind: str, layer: int,
                   position: int, *, max_new_tokens: int = 12) -> list[int]:
    """The tokens of the corrupted prompt's greedy continuation, the clean run's ``kind`` at ``(layer, position)``
    patched in (on the prompt's forward pass; the tokens it then generates run unpatched, over the patched cache)."""
    import nnsight
    import torch

    envoy, port = site_envoy(session, Site(layer, kind))
    ids = torch.tensor([list(clean_ids)], device=session.device)
    with torch.inference_mode(), session.trace({"input_ids": ids, "attention_mask": torch.ones_like(ids)}) as tracer:
        value = nnsight.save(hidden(read_port(envoy, port))[0, position].detach())
        tracer.stop()

    def intervene(model: Any, tracer: Any) -> None:  # no loop over steps: only the prompt's pass is edited
        original = read_port(envoy, port)
        states = hidden(original)
        edited = states.clone()
        edited[:, position] = value.to(states.dtype)
        write_port(envoy, port, original, edited)

    out = generate(session, [list(corrupted_ids)], max_new_tokens=max_new_tokens, temperature=0.0, progress=False,
                   stop_ids=[session.tokenizer.eos_token_id] if session.tokenizer.eos_token_id is not None else None,
                   description="patched run", intervene=intervene)
    return list(out.token_ids[0])
