"""Token-level activations: SAE latents per token and the logit lens, from one forward pass.

``bench.activations(text_or_conversation, sae=None, k=32)`` runs the model once
through nnsight, saving the residual stream after every layer and, in the same pass,
the site the SAE reads (the residual stream, an MLP or attention output, a
transcoder's input). The SAE encodes that site a chunk of tokens at a time and only
the top-k latents per token are kept, so a 262k- or 1M-latent SAE never needs a
``[tokens, d_sae]`` matrix; :meth:`TokenActivations.feature` re-encodes the saved
site activations for the one latent asked for. The logit lens (final norm, then
unembedding, for every layer and position) stays on the residual stream and is
computed from it as batched matmuls when it is first read, so a refresh that does
not show it does not pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import chat, residual, saes
from ..layout import Site, module_at, unembedding
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch

    from ..session import Session

LENS_TOP = 5
SPAN_REDUCE = ("max", "mean")
_LENS_CHUNK_ELEMENTS = 64 * 1024 * 1024  # logits per matmul chunk (256 MB of float32)


@dataclass
class LogitLens:
    """Top predicted tokens of every layer at every position.

    Attributes
    ----------
    layers : list[int]
    token_ids : np.ndarray
        ``[layers, positions, top]`` int32.
    probs : np.ndarray
        ``[layers, positions, top]`` float32, softmax probabilities.
    tokens : list[list[list[str]]]
        The decoded strings of ``token_ids``.
    """

    layers: list[int]
    token_ids: np.ndarray
    probs: np.ndarray
    tokens: list

    def to_pandas(self) -> pd.DataFrame:
        """Layers x positions grid of the top token at each."""
        import pandas as pd

        return pd.DataFrame([[row[0] for row in layer] for layer in self.tokens], index=self.layers)


@dataclass
class TokenActivations:
    """Activations of one text, token by token.

    Attributes
    ----------
    text : str
        What was run (a conversation is rendered through the chat template).
    tokens : list[str]
        Each token as text (as the tokenizer decodes it alone).
    token_ids : list[int]
    sae : str or None
        The registered SAE that encoded the activations.
    layer : int or None
        The layer of its site.
    top_latents : np.ndarray
        ``[positions, k]`` int32 ids of the most active latents per token.
    top_values : np.ndarray
        ``[positions, k]`` float32 their activations (0 where fewer than k fire).
    site : str or None
        The kind of site the SAE reads (``"resid_post"``, ``"mlp_out"``, ``"mlp_in"`` for a
        transcoder...; see :class:`workbench.layout.Site`).
    """

    text: str
    tokens: list[str]
    token_ids: list[int]
    sae: str | None
    layer: int | None
    top_latents: np.ndarray
    top_values: np.ndarray
    site: str | None = None
    _site_acts: Any = field(default=None, repr=False)
    _entry: Any = field(default=None, repr=False)
    _residuals: Any = field(default=None, repr=False)
    _session: Any = field(default=None, repr=False)
    _lens: LogitLens | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.tokens)

    def feature(self, latent: int) -> np.ndarray:
        """Activation of one latent at every token: ``[positions]`` float32.

        Encoded again from the site activations this run saved (a chunk of tokens at a
        time), so no ``[tokens, d_sae]`` matrix is kept between calls.
        """
        if self._entry is None:
            raise ValueError("No SAE was used for these activations, so there are no latents to read.")
        latent = saes.check_latent(latent, self._entry.d_sae)
        return self._entry.column(self._site_acts, latent).numpy().astype(np.float32)

    def span_activations(self, start: int, stop: int, reduce: str = "max") -> tuple[np.ndarray, np.ndarray]:
        """Every latent's activation over the tokens ``start:stop`` and over the other tokens: two ``[d_sae]``
        float32 arrays, each the maximum (``reduce="max"``) or the mean per token (``reduce="mean"``) of its
        tokens (0 where there are none). Encoded a chunk of tokens at a time, like :meth:`feature`."""
        import torch

        if self._entry is None:
            raise ValueError("No SAE was used for these activations, so there are no latents to read.")
        if reduce not in SPAN_REDUCE:
            raise ValueError(f"reduce must be one of {', '.join(map(repr, SPAN_REDUCE))}, not {reduce!r}.")
        n = len(self.tokens)
        for name, value in (("start", start), ("stop", stop)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be a token index (an int), not {value!r}.")
        if not 0 <= start < stop <= n:
            raise ValueError(f"The span must be 0 <= start < stop <= {n} (the text has {n} tokens), not "
                             f"{start}:{stop}.")
        d_sae = self._entry.d_sae
        inside, outside = torch.zeros(d_sae), torch.zeros(d_sae)
        for first, latents in self._entry.encode_chunks(self._site_acts):
            latents = latents.cpu().float().clamp_min(0)
            rows = torch.arange(first, first + latents.shape[0])
            mask = (rows >= start) & (rows < stop)
            for target, part in ((inside, latents[mask]), (outside, latents[~mask])):
                if part.shape[0]:
                    if reduce == "max":
                        torch.maximum(target, part.max(0).values, out=target)
                    else:
                        target += part.sum(0)
        if reduce == "mean":
            inside /= stop - start
            outside /= max(n - (stop - start), 1)
        return inside.numpy(), outside.numpy()

    def top_features(self, position: int) -> pd.DataFrame:
        """The active latents at one token, strongest first."""
        import pandas as pd

        if not -len(self) <= position < len(self):
            raise IndexError(f"position must be in 0..{len(self) - 1}, not {position}.")
        ids, values = self.top_latents[position], self.top_values[position]
        keep = values > 0
        return pd.DataFrame({"latent": ids[keep], "activation": values[keep]})

    def probe_scores(self, probe: Any) -> np.ndarray:
        """A probe's score (sigmoid of its logit, in [0, 1]) at every token: ``[positions]`` float32.

        Read from the residual stream saved by this run, so no forward pass is made
        (on a remote session, which keeps no residual stream here, one request reads
        the probe's layer). ``probe`` is a :class:`~workbench.techniques.probes.Probe`
        or the name of one registered on the session.
        """
        import torch
        from scipy.special import expit

        if isinstance(probe, str):
            probe = self._session.probes[probe]
        n_layers = self._session.n_layers
        if not 0 <= probe.layer < n_layers:
            raise ValueError(f"The probe reads layer {probe.layer}, but this model has {n_layers} layers.")
        if self._residuals is not None:
            states = self._residuals[probe.layer]
        else:
            site = Site(probe.layer)
            states = residual.site_outputs(self._session, torch.tensor([self.token_ids]), sites=[site])[site][0]
        logits = probe.logits(states).astype(np.float64)
        return expit(logits).astype(np.float32)

    @property
    def lens(self) -> LogitLens:
        """The logit lens (computed on first read from the saved residual stream)."""
        if self._lens is None:
            self._lens = logit_lens(self._session, self._residuals)
        return self._lens

    def to_pandas(self) -> pd.DataFrame:
        """One row per token: the token, its strongest latent and that latent's activation."""
        import pandas as pd

        return pd.DataFrame({
            "token": self.tokens,
            "token_id": self.token_ids,
            "top_latent": self.top_latents[:, 0] if self.top_latents.size else [],
            "activation": self.top_values[:, 0] if self.top_values.size else [],
        })

    def _journal_summary(self) -> dict:
        strongest = {}
        for ids, values in zip(self.top_latents.tolist(), self.top_values.tolist()):
            for latent, value in zip(ids, values):
                if value > strongest.get(latent, 0.0):
                    strongest[latent] = value
        top = sorted(strongest.items(), key=lambda kv: -kv[1])[:10]
        return {"tokens": len(self), "sae": self.sae, "layer": self.layer, "site": self.site, "text": self.text[:200],
                "top_latents": [{"latent": int(k), "max": round(float(v), 4)} for k, v in top]}

    def __repr__(self) -> str:
        site = f", site={self.site!r}" if self.site not in (None, "resid_post") else ""
        return (f"TokenActivations({len(self)} tokens, sae={self.sae!r}, layer={self.layer}{site}, "
                f"k={self.top_latents.shape[1] if self.top_latents.ndim == 2 else 0})")


def token_ids_for(session: Session, source: str | Mapping | Sequence[Mapping]) -> tuple[str, list[int]]:
    """Text and tokens of a string (as is) or a conversation (through the chat template)."""
    if isinstance(source, str):
        if not source:
            raise ValueError("The text is empty.")
        ids = session.tokenizer(source, add_special_tokens=True)["input_ids"]
        return source, list(ids)
    prompt = session.render(source, persona=chat.NARRATOR)
    return prompt.text, prompt.input_ids


@recorded("activations")
def activations(session: Session, source: Any, *, sae: str | None = None, k: int = 32) -> TokenActivations:
    """Run ``source`` once and return its :class:`TokenActivations`.

    See :meth:`workbench.Workbench.activations`.
    """
    import torch

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number >= 1, not {k!r}.")
    text, ids = token_ids_for(session, source)
    context = session.context_length
    if context is not None and len(ids) > context:
        raise ValueError(f"The text has {len(ids)} tokens, more than the model's context of {context}.")
    entry = session.saes.get(sae) if (sae is not None or len(session.saes)) else None
    rows = torch.tensor([ids])
    lens = stacked = None
    if session.remote:  # the lens is reduced in the trace; neither the residual stream nor logits come back
        outs, (probs, lens_ids) = residual.read_sites(session, rows, sites=[entry.site] if entry else [],
                                                      lens_top=LENS_TOP)
        lens = _lens(session, lens_ids[:, 0].numpy().astype(np.int32), probs[:, 0].numpy().astype(np.float32))
    else:
        residuals = [Site(layer) for layer in range(session.n_layers)]
        sites = residuals + ([entry.site] if entry is not None else [])
        outs = residual.site_outputs(session, rows, sites=sites, stop=False)
        stacked = torch.stack([outs[site][0] for site in residuals])  # [L, T, d]: the residual stream
    site_acts = None
    top_ids = np.zeros((len(ids), 0), dtype=np.int32)
    top_values = np.zeros((len(ids), 0), dtype=np.float32)
    if entry is not None:
        site_acts = outs[entry.site][0]  # [T, d_in]: what the SAE reads
        values, indices = entry.top_k(site_acts, k)  # top-k per chunk of tokens: no [T, d_sae] matrix is kept
        top_ids = indices.numpy().astype(np.int32)
        top_values = values.numpy().astype(np.float32)
    tokens = [session.tokenizer.decode([i]) for i in ids]
    return TokenActivations(
        text=text, tokens=tokens, token_ids=list(ids), sae=entry.name if entry else None,
        layer=entry.layer if entry else None, top_latents=top_ids, top_values=top_values,
        site=entry.site.kind if entry else None, _site_acts=site_acts, _entry=entry,
        _residuals=stacked, _session=session, _lens=lens,
    )


def logit_lens(session: Session, residuals: torch.Tensor, top: int = LENS_TOP) -> LogitLens:
    """Top tokens of every layer's residual ``[L, T, d]`` through the final norm and unembedding."""
    import torch

    module = session.module
    norm = module_at(module, session.layout.norm)
    unembed = unembedding(session)
    n_layers, positions, d = residuals.shape
    flat = residuals.reshape(-1, d)
    vocab = unembed.weight.shape[0]
    step = max(1, _LENS_CHUNK_ELEMENTS // vocab)
    ids, probs = [], []
    cap = getattr(session.config, "final_logit_softcapping", None)
    with torch.inference_mode():
        weight = unembed.weight
        param = next(module.parameters())
        for start in range(0, flat.shape[0], step):
            chunk = flat[start : start + step].to(param.device, param.dtype)
            if norm is not None:
                chunk = norm(chunk)
            logits = (chunk @ weight.T).float()
            if getattr(unembed, "bias", None) is not None:
                logits += unembed.bias.float()
            if cap:  # Gemma 2's final logit soft-capping, as the model applies it
                logits = torch.tanh(logits / cap) * cap
            p, i = torch.softmax(logits, -1).topk(top, dim=-1)
            ids.append(i.cpu())
            probs.append(p.cpu())
    token_ids = torch.cat(ids).view(n_layers, positions, top).numpy().astype(np.int32)
    token_probs = torch.cat(probs).view(n_layers, positions, top).numpy().astype(np.float32)
    return _lens(session, token_ids, token_probs)


def _lens(session: Session, token_ids: np.ndarray, token_probs: np.ndarray) -> LogitLens:
    vocab_strings: dict[int, str] = {}
    for i in np.unique(token_ids):
        vocab_strings[int(i)] = session.tokenizer.decode([int(i)])
    tokens = [[[vocab_strings[int(i)] for i in row] for row in layer] for layer in token_ids]
    return LogitLens(list(range(token_ids.shape[0])), token_ids, token_probs, tokens)
