"""Attribution to SAE latents: which latents at the SAE's site push a chosen continuation up, and by how much.

:func:`attribute` runs ONE nnsight trace over the prompt followed by the target: at the
SAE's site the activation ``x`` is replaced by ``decode(f) + error`` with ``f = encode(x)``
taken as a leaf that carries a gradient and ``error = x - decode(f)`` held fixed, so the
model computes exactly what it computed before (the error term keeps what the SAE misses),
while the target's log-probability now depends on every latent. One backward pass
(nnsight's ``with logprob.backward():``) reads ``f.grad``; a latent's attribution at a
token is ``activation x gradient``: the first-order estimate of how much the target's
log-probability would drop if the latent were zeroed there.

:func:`ablate` measures that drop for real: each ``(position, latent)`` zeroed in its own
row of one batched trace (the error term kept), and :func:`agreement` compares the two over
the strongest latents of several prompts, reporting their Pearson correlation.

>>> result = attribute(bench, "The cat sat on the", " mat", sae="tiny", k=3)
>>> result.frame.columns.tolist()
['position', 'token', 'latent', 'activation', 'gradient', 'attribution']
>>> abs(result.logprob - result.clean_logprob) < 1e-4   # the error term leaves the output as it was
True
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import chat, residual, saes
from .._traced import read_port, target_logprob, write_port
from ..layout import hidden, site_envoy
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..saes import SAEEntry
    from ..session import Session

#: The most rows one ablation trace runs (each row is the prompt with one latent zeroed).
ABLATE_BATCH = 32
#: The most latent values (rows x tokens x d_sae) one ablation trace holds: 256 MB of float32, whatever the SAE's width.
ABLATE_ELEMENTS = 1 << 26


# -- what is attributed: the prompt and the target ---------------------------------------


@dataclass
class Target:
    """A prompt and the continuation whose log-probability is attributed."""

    text: str
    prompt_ids: list[int]
    target_ids: list[int]

    @property
    def input_ids(self) -> list[int]:
        """What the model reads: the prompt, then every target token but the last."""
        return self.prompt_ids + self.target_ids[:-1]

    @property
    def start(self) -> int:
        """The position whose distribution predicts the first target token."""
        return len(self.prompt_ids) - 1


def prompt_ids(session: Session, source: Any, *, prefill: str | None = None) -> tuple[str, list[int]]:
    """The text and tokens of a prompt: a string as is (with the tokenizer's special tokens), a conversation
    through the chat template, ready for the assistant's reply (after ``prefill`` when given)."""
    if isinstance(source, str):
        if not source:
            raise ValueError("The prompt is empty.")
        if prefill is not None:
            raise ValueError("prefill= is for conversations; append it to a plain-text prompt instead.")
        return source, list(session.tokenizer(source, add_special_tokens=True)["input_ids"])
    prompt = session.render(source, persona=chat.ASSISTANT, prefill=prefill)
    return prompt.text, list(prompt.input_ids)


def target_ids(session: Session, target: Any) -> list[int]:
    """A target as token ids: a string (its tokens, no special tokens), a token id, or a list of ids."""
    vocab = session.vocab_size
    if isinstance(target, str):
        if not target:
            raise ValueError("The target is empty: give the token or continuation whose log-probability to explain, "
                             "e.g. target=' Paris'.")
        ids = list(session.tokenizer(target, add_special_tokens=False)["input_ids"])
        if not ids:
            raise ValueError(f"The target {target!r} has no tokens.")
        return ids
    items = [target] if isinstance(target, numbers.Integral) and not isinstance(target, bool) else target
    if not isinstance(items, Sequence) or not items or not all(
            isinstance(i, numbers.Integral) and not isinstance(i, bool) and 0 <= int(i) < vocab for i in items):
        raise ValueError(f"target must be a string, a token id in 0..{vocab - 1} or a list of them, not {target!r}.")
    return [int(i) for i in items]


def make_target(session: Session, source: Any, target: Any, *, prefill: str | None = None) -> Target:
    text, ids = prompt_ids(session, source, prefill=prefill)
    wanted = target_ids(session, target)
    context = session.context_length
    if context is not None and len(ids) + len(wanted) - 1 > context:
        raise ValueError(f"The prompt and target have {len(ids) + len(wanted) - 1} tokens, more than the model's "
                         f"context of {context}.")
    return Target(text, ids, wanted)


def check_k(k: Any, what: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"{what} must be a whole number >= 1, not {k!r}.")
    return int(k)


# -- inside the trace ---------------------------------------------------------------------


@contextlib.contextmanager
def _frozen(*modules: Any) -> Iterator[None]:
    """No weight of ``modules`` collects a gradient while inside (the backward pass reaches only the latents)."""
    params = [p for module in modules for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _target_logprob(logits: Any, target: Target, cap: float | None) -> Any:
    """Sum of the target tokens' log-probabilities, ``[rows]``, from ``[rows, seq, vocab]`` logits."""
    import torch

    return target_logprob(logits, torch.arange(len(target.target_ids)) + target.start,
                          torch.tensor(target.target_ids), cap)


def _entry(session: Session, sae: str | None) -> SAEEntry:
    return session.saes.get(sae)


def _sae_input(entry: SAEEntry, x: Any) -> Any:
    """What the SAE encodes: the site's activation in float32 (centred when the SAE was trained so)."""
    x = x.float()
    return x - x.mean(-1, keepdim=True) if entry.center else x


# -- attribution -----------------------------------------------------------------------------


@dataclass
class Attribution:
    """The latents at an SAE's site ranked by their attribution to a target's log-probability, token by token.

    Attributes
    ----------
    text : str
        The prompt as run (a conversation rendered through the chat template).
    tokens : list[str]
        Every token the model read: the prompt's, then the target's but the last.
    target : str
        The continuation attributed (its tokens decoded).
    target_ids : list[int]
    logprob : float
        The target's log-probability in the attributed run (SAE spliced in with its error term).
    clean_logprob : float
        Its log-probability in a plain run of the model: equal to ``logprob`` up to rounding.
    sae, site : str
        The SAE and the kind of site it reads (``"resid_post"``…); ``layer`` its layer.
    frame : pandas.DataFrame
        The ``k`` latents of largest absolute attribution at each token: ``position``, ``token``,
        ``latent``, ``activation``, ``gradient`` (of the log-probability by the latent) and
        ``attribution`` (``activation * gradient``), strongest first within each token.
    """

    text: str
    tokens: list[str]
    target: str
    target_ids: list[int]
    logprob: float
    clean_logprob: float
    sae: str
    site: str
    layer: int
    frame: pd.DataFrame
    _target: Target = field(repr=False, default=None)
    _session: Any = field(repr=False, default=None)
    _states: Any = field(repr=False, default=None)  # a remote run's site states: its ablations need no second read

    def top(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` (token, latent) pairs of largest absolute attribution over the whole prompt."""
        order = self.frame.attribution.abs().sort_values(ascending=False).index[: check_k(n, "n")]
        return self.frame.loc[order].reset_index(drop=True)

    def by_token(self, position: int) -> pd.DataFrame:
        """The attributed latents at one token, strongest first."""
        if not -len(self.tokens) <= position < len(self.tokens):
            raise IndexError(f"position must be in 0..{len(self.tokens) - 1}, not {position}.")
        position %= len(self.tokens)
        return self.frame[self.frame.position == position].reset_index(drop=True)

    def by_latent(self) -> pd.DataFrame:
        """Each latent's attribution summed over the tokens it was kept at, largest absolute first."""
        total = self.frame.groupby("latent").attribution.sum()
        return total.reindex(total.abs().sort_values(ascending=False).index).reset_index()

    def ablate(self, pairs: Any) -> pd.DataFrame:
        """Zero each ``(position, latent)`` pair (the error term kept) and measure the target's log-probability:
        see :func:`ablate`."""
        return ablate_target(self._session, self._target, pairs, sae=self.sae, states=self._states)

    def to_pandas(self) -> pd.DataFrame:
        return self.frame.copy()

    def _journal_summary(self) -> dict:
        top = self.top(10)
        return {"text": self.text[:200], "target": self.target, "logprob": round(self.logprob, 4),
                "sae": self.sae, "layer": self.layer, "site": self.site,
                "top": [{"position": int(r.position), "token": r.token, "latent": int(r.latent),
                         "attribution": round(float(r.attribution), 4)} for r in top.itertuples()]}

    def __repr__(self) -> str:
        lines = [f"Attribution({len(self.tokens)} tokens, target={self.target!r}, logprob={self.logprob:.3f}, "
                 f"sae={self.sae!r}, layer={self.layer}, site={self.site!r})"]
        for r in self.top(5).itertuples():
            lines.append(f"  [{r.position}] {r.token!r:>12} latent {r.latent:>6}: {r.attribution:+.4f}")
        return "\n".join(lines)


def _attribute_target(session: Session, target: Target, entry: SAEEntry, k: int) -> Attribution:
    import pandas as pd

    if session.remote:
        acts, grad, value, clean, states = _attributed_remotely(session, target, entry)
    else:
        acts, grad, value, clean = _attributed_here(session, target, entry)
        states = None
    scores = acts * grad  # [T, d_sae]
    keep = min(k, entry.d_sae)
    order = scores.abs().topk(keep, dim=-1).indices  # [T, keep]
    tokens = [session.tokenizer.decode([i]) for i in target.input_ids]
    positions = np.repeat(np.arange(len(tokens)), keep)
    picked = order.reshape(-1).numpy()
    frame = pd.DataFrame({
        "position": positions.astype(np.int64),
        "token": [tokens[p] for p in positions],
        "latent": picked.astype(np.int64),
        "activation": acts.gather(1, order).reshape(-1).numpy().astype(np.float64),
        "gradient": grad.gather(1, order).reshape(-1).numpy().astype(np.float64),
        "attribution": scores.gather(1, order).reshape(-1).numpy().astype(np.float64),
    })
    frame = frame[frame.activation != 0].reset_index(drop=True)  # a latent that is off cannot be ablated
    return Attribution(
        text=target.text, tokens=tokens, target=session.tokenizer.decode(target.target_ids),
        target_ids=list(target.target_ids), logprob=float(value), clean_logprob=clean,
        sae=entry.name, site=entry.site.kind, layer=entry.layer, frame=frame, _target=target, _session=session,
        _states=states,
    )


def _attributed_here(session: Session, target: Target, entry: SAEEntry) -> tuple[Any, Any, Any, float]:
    """``(activations, gradients, log-probability, clean log-probability)``: the SAE spliced in at its site
    inside the trace (its error term held fixed) and one backward pass to its latents."""
    import nnsight
    import torch

    sae = entry.sae
    reads, in_port = site_envoy(session, entry.site)
    writes, out_port = site_envoy(session, entry.site_out)
    cap = getattr(session.config, "final_logit_softcapping", None)
    ids = torch.tensor([target.input_ids], device=session.device)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    clean = residual.forward_logprobs(session, [target.input_ids], [[
        (target.start + j, token) for j, token in enumerate(target.target_ids)]])[0]
    with _frozen(session.module, sae), session.trace(inputs):
        original = read_port(reads, in_port)
        x = hidden(original)
        latents = sae.encode(_sae_input(entry, x)).detach()
        latents.requires_grad_(True)
        if entry.transcoder:  # it reads one site and writes another: the error is taken where it writes
            written = read_port(writes, out_port)
            out = hidden(written)
        else:
            written, out = original, x
        recon = sae.decode(latents)
        error = (out.float() - recon).detach()
        write_port(writes, out_port, written, (recon + error).to(out.dtype))
        logprob = _target_logprob(session.model.output.logits, target, cap)[0]
        with logprob.backward():
            grad = nnsight.save(latents.grad[0].detach().cpu())
        acts = nnsight.save(latents[0].detach().cpu())
        value = nnsight.save(logprob.detach().cpu())
    return acts, grad, value, float(sum(clean))


def _attributed_remotely(session: Session, target: Target, entry: SAEEntry
                         ) -> tuple[Any, Any, Any, float, Any]:
    """:func:`_attributed_here` for a remote session in ONE request, the SAE staying here: the server runs the
    prompt with the SAE's site (where it writes) replaced by a copy of itself that takes a gradient, and sends
    back the site's states and the target's gradient by them. Here the latents are encoded from those states and
    the gradient is carried back through the decoder (``decode(latents) + error`` is the site's value, the error
    held fixed, so the chain rule gives what the spliced trace's backward pass gives). The log-probability is
    the plain run's (what the spliced run gives up to rounding); the states are kept for ablations."""
    import nnsight
    import torch

    sae = entry.sae
    reads, in_port = site_envoy(session, entry.site)
    writes, out_port = site_envoy(session, entry.site_out)
    cap = getattr(session.config, "final_logit_softcapping", None)
    positions = torch.arange(len(target.target_ids)) + target.start
    tokens = torch.tensor(target.target_ids)
    transcoder = entry.transcoder
    ids = torch.tensor([target.input_ids], device=session.device)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    model = session.model
    with _frozen(session.module), session.trace(inputs):
        original = read_port(reads, in_port)
        seen = nnsight.save(hidden(original)[0].detach().cpu())
        written = read_port(writes, out_port) if transcoder else original
        out = hidden(written)
        leaf = out.detach().clone().requires_grad_(True)
        write_port(writes, out_port, written, leaf)
        logprob = target_logprob(model.output.logits, positions, tokens, cap)[0]
        with logprob.backward():
            by_site = nnsight.save(leaf.grad[0].detach().float().cpu())
        value = nnsight.save(logprob.detach().cpu())
    with torch.enable_grad():
        latents = sae.encode(_sae_input(entry, seen[None].to(_sae_device(sae)))).detach().requires_grad_(True)
        recon = sae.decode(latents)
        grad, = torch.autograd.grad(recon, latents, grad_outputs=by_site[None].to(recon.device, recon.dtype))
    return latents[0].detach().cpu(), grad[0].detach().cpu(), value, float(value), seen


def _sae_device(sae: Any) -> Any:
    return next(sae.parameters()).device


@recorded("attribute")
def attribute(session: Session, source: Any, target: Any, *, sae: str | None = None, k: int = 10,
              prefill: str | None = None) -> Attribution:
    """Rank the latents of an SAE, token by token, by their attribution to a target's log-probability.

    See :meth:`workbench.Workbench.attribute`.
    """
    k = check_k(k)
    entry = _entry(session, sae)
    return _attribute_target(session, make_target(session, source, target, prefill=prefill), entry, k)


# -- ablation ------------------------------------------------------------------------------


def _pairs(pairs: Any, n_tokens: int, d_sae: int) -> list[tuple[int | None, int]]:
    """``(position, latent)`` pairs (``position`` None: every token); a bare latent id means every token."""
    if isinstance(pairs, numbers.Integral) or (isinstance(pairs, tuple) and len(pairs) == 2
                                               and all(isinstance(v, numbers.Integral) for v in pairs)):
        pairs = [pairs]
    if hasattr(pairs, "itertuples"):  # a frame with position and latent columns (Attribution.top())
        pairs = list(zip(pairs["position"].tolist(), pairs["latent"].tolist()))
    out = []
    for item in pairs:
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            position, latent = None, item
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            position, latent = item
        else:
            raise ValueError(f"Each ablation is a latent id or a (position, latent) pair, not {item!r}.")
        latent = saes.check_latent(latent, d_sae)
        if position is not None:
            if isinstance(position, bool) or not isinstance(position, numbers.Integral) \
                    or not -n_tokens <= position < n_tokens:
                raise ValueError(f"position must be a token index in 0..{n_tokens - 1} (or None: every token), "
                                 f"not {position!r}.")
            position = int(position) % n_tokens
        out.append((position, latent))
    if not out:
        raise ValueError("Name at least one latent to ablate.")
    return out


def ablate_target(session: Session, target: Target, pairs: Any, *, sae: str | None = None,
                  cancel: Any = None, progress: Any = False, states: Any = None) -> pd.DataFrame:
    """:func:`ablate` for a prepared :class:`Target` (``states``: a remote attribution's site states, which
    spare an ablation the request that reads them)."""
    import nnsight
    import torch

    from .._progress import progress_bar
    from ..errors import Cancelled

    entry = _entry(session, sae)
    n_tokens = len(target.input_ids)
    wanted = _pairs(pairs, n_tokens, entry.d_sae)
    if session.remote:
        if cancel is not None and cancel.is_set():
            raise Cancelled("Ablation was cancelled before its request was sent.")
        with progress_bar(progress, len(wanted), "ablating latents") as bar:
            values, clean = _ablated_remotely(session, target, entry, wanted, states)
            bar.update(len(wanted))
        return _ablation_frame(wanted, values, clean)
    sae_module = entry.sae
    reads, in_port = site_envoy(session, entry.site)
    writes, out_port = site_envoy(session, entry.site_out)
    cap = getattr(session.config, "final_logit_softcapping", None)
    clean = sum(residual.forward_logprobs(session, [target.input_ids], [[
        (target.start + j, token) for j, token in enumerate(target.target_ids)]])[0])
    values: list[float] = []
    rows_per_trace = max(1, min(ABLATE_BATCH, ABLATE_ELEMENTS // (n_tokens * entry.d_sae)))
    with progress_bar(progress, len(wanted), "ablating latents") as bar:
        for start in range(0, len(wanted), rows_per_trace):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"Ablation was cancelled after {start} of {len(wanted)} latents.")
            chunk = wanted[start : start + rows_per_trace]
            index = _ablation_rows(chunk, n_tokens)
            ids = torch.tensor([target.input_ids] * len(chunk), device=session.device)
            inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
            with torch.no_grad(), session.trace(inputs):
                original = read_port(reads, in_port)
                x = hidden(original)
                latents = sae_module.encode(_sae_input(entry, x))
                if entry.transcoder:
                    written = read_port(writes, out_port)
                    out = hidden(written)
                else:
                    written, out = original, x
                zeroed = latents.clone()
                zeroed[index[0].to(zeroed.device), index[1].to(zeroed.device), index[2].to(zeroed.device)] = 0.0
                change = sae_module.decode(zeroed) - sae_module.decode(latents)  # decode(zeroed) + error, less out
                write_port(writes, out_port, written, (out.float() + change).to(out.dtype))
                got = nnsight.save(_target_logprob(session.model.output.logits, target, cap).cpu())
            values += got.tolist()
            bar.update(len(chunk))
    return _ablation_frame(wanted, values, clean)


def _ablation_frame(wanted: list[tuple[int | None, int]], values: list[float], clean: float) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({
        "position": [p if p is not None else -1 for p, _ in wanted],
        "latent": [latent for _, latent in wanted],
        "logprob": values,
        "change": [v - clean for v in values],
    })


def _ablation_rows(chunk: Sequence[tuple[int | None, int]], n_tokens: int) -> tuple[Any, Any, Any]:
    """``(rows, positions, latents)`` index tensors of a chunk of ablations, one row of the batch each."""
    import torch

    rows_i, pos_i, lat_i = [], [], []
    for row, (position, latent) in enumerate(chunk):
        for p in (range(n_tokens) if position is None else [position]):
            rows_i.append(row)
            pos_i.append(p)
            lat_i.append(latent)
    return torch.tensor(rows_i), torch.tensor(pos_i), torch.tensor(lat_i)


def _site_states(session: Session, target: Target, entry: SAEEntry) -> Any:
    """What the SAE encodes for the target's prompt: the states at its site, ``[T, d]``."""
    import torch

    ids = torch.tensor([target.input_ids], device=session.device)
    return residual.site_outputs(session, ids, torch.ones_like(ids), sites=[entry.site])[entry.site][0]


def _ablated_remotely(session: Session, target: Target, entry: SAEEntry, wanted: list[tuple[int | None, int]],
                      states: Any) -> tuple[list[float], float]:
    """:func:`ablate_target` on a remote session, the SAE staying here: from the site's states (read in one
    request unless an attribution brought them) the change each ablation makes there (``decode(zeroed) -
    decode(latents)``, nonzero only at the zeroed tokens) is computed here, and one request runs every row with
    its change added at those tokens, plus a plain row: ``(log-probabilities, the plain one)``."""
    import torch

    seen = states if states is not None else _site_states(session, target, entry)
    sae = entry.sae
    n_tokens = len(target.input_ids)
    writes, out_port = site_envoy(session, entry.site_out)
    cap = getattr(session.config, "final_logit_softcapping", None)
    positions = torch.arange(len(target.target_ids)) + target.start
    tokens = torch.tensor(target.target_ids)
    model = session.model
    with torch.no_grad():
        latents = sae.encode(_sae_input(entry, seen[None].to(_sae_device(sae))))
    batches, reads = [], []
    for start in range(0, len(wanted), ABLATE_BATCH):
        chunk = wanted[start : start + ABLATE_BATCH]
        rows, pos, lat = _ablation_rows(chunk, n_tokens)
        zeroed = latents.expand(len(chunk), -1, -1).clone()
        with torch.no_grad():
            zeroed[rows, pos, lat] = 0.0
            change = (sae.decode(zeroed) - sae.decode(latents))[rows, pos].float().cpu()  # [changed tokens, d]
        rows = rows + 1  # row 0 of each batch is the plain prompt

        def read(inputs: dict, rows: Any = rows, pos: Any = pos, change: Any = change) -> Any:
            written = read_port(writes, out_port)
            out = hidden(written)
            new = out.float().index_put((rows.to(out.device), pos.to(out.device)), change.to(out.device),
                                        accumulate=True)
            write_port(writes, out_port, written, new.to(out.dtype))
            return target_logprob(model.output.logits, positions, tokens, cap).detach().cpu()

        ids = torch.tensor([target.input_ids] * (len(chunk) + 1), device=session.device)
        batches.append({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
        reads.append(read)
    got = session.trace_each(batches, reads, stop=False)
    clean = float(got[0][0])
    return [float(v) for part in got for v in part[1:].tolist()], clean


@recorded("ablate")
def ablate(session: Session, source: Any, target: Any, latents: Any, *, sae: str | None = None,
           prefill: str | None = None, cancel: Any = None, progress: Any = False) -> pd.DataFrame:
    """Zero SAE latents (the error term kept) and measure the change in a target's log-probability.

    See :meth:`workbench.Workbench.ablate`.
    """
    return ablate_target(session, make_target(session, source, target, prefill=prefill), latents, sae=sae,
                         cancel=cancel, progress=progress)


# -- attribution against ablation -------------------------------------------------------------


@dataclass
class Agreement:
    """Attribution against ablation over a test set.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per ablated ``(prompt, position, latent)``: its ``attribution`` and ``drop``
        (the target's log-probability in the clean run minus with the latent zeroed).
    pearson, spearman : float
        Their correlation (NaN when fewer than 3 rows or no variation).
    """

    frame: pd.DataFrame
    pearson: float
    spearman: float

    def chart(self) -> Any:
        """A scatter of attribution against the measured drop (altair)."""
        import altair as alt

        return alt.Chart(self.frame).mark_circle(size=40, opacity=0.7).encode(
            x=alt.X("attribution:Q", title="attribution (activation × gradient)"),
            y=alt.Y("drop:Q", title="log-prob drop when zeroed"),
            tooltip=["prompt", "position", "token", "latent", "attribution", "drop"],
        ).properties(title=f"attribution vs ablation: Pearson r = {self.pearson:.3f}", width=320, height=240)

    def _journal_summary(self) -> dict:
        return {"n": len(self.frame), "pearson": _finite(self.pearson), "spearman": _finite(self.spearman)}

    def __repr__(self) -> str:
        return f"Agreement(n={len(self.frame)}, pearson={self.pearson:.3f}, spearman={self.spearman:.3f})"


def _finite(value: float) -> float | None:
    return None if not math.isfinite(value) else round(float(value), 4)


def _pairs_of(cases: Any) -> list[tuple[Any, Any]]:
    if isinstance(cases, Mapping):
        cases = list(cases.items())
    out = []
    for case in cases:
        if not isinstance(case, (tuple, list)) or len(case) != 2:
            raise ValueError(f"Each test case is a (prompt, target) pair, not {case!r}.")
        out.append((case[0], case[1]))
    if not out:
        raise ValueError("Give at least one (prompt, target) pair.")
    return out


@recorded("attribution_agreement")
def agreement(session: Session, cases: Any, *, sae: str | None = None, top: int = 8, cancel: Any = None,
              progress: Any = False) -> Agreement:
    """Check attribution against ablation: for each ``(prompt, target)``, zero its ``top`` latents of largest
    absolute attribution one at a time, and correlate attribution with the measured drop.

    See :meth:`workbench.Workbench.attribution_agreement`.
    """
    import pandas as pd
    from scipy import stats

    from .._progress import progress_bar
    from ..errors import Cancelled

    top = check_k(top, "top")
    entry = _entry(session, sae)
    pairs = _pairs_of(cases)
    frames = []
    with progress_bar(progress, len(pairs), "attribution vs ablation") as bar:
        for i, (source, wanted) in enumerate(pairs):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"The check was cancelled after {i} of {len(pairs)} prompts.")
            target = make_target(session, source, wanted)
            result = _attribute_target(session, target, entry, top)
            chosen = result.top(top)
            bar.update(1)
            if chosen.empty:  # no latent fires on this prompt: nothing to ablate
                continue
            measured = result.ablate(chosen)  # on a remote session its site states came with the attribution
            frames.append(pd.DataFrame({
                "prompt": i, "position": chosen.position, "token": chosen.token, "latent": chosen.latent,
                "attribution": chosen.attribution, "drop": -measured["change"].to_numpy(),
            }))
    columns = ["prompt", "position", "token", "latent", "attribution", "drop"]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    pearson = spearman = float("nan")
    if len(frame) >= 3 and frame.attribution.std() > 0 and frame["drop"].std() > 0:
        pearson = float(stats.pearsonr(frame.attribution, frame["drop"])[0])
        spearman = float(stats.spearmanr(frame.attribution, frame["drop"])[0])
    return Agreement(frame, pearson, spearman)
