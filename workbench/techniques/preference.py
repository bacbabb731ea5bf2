"""Preference-dataset audit: which SAE latents separate chosen from rejected responses.

>>> from workbench.corpora import preference_planted
>>> audit = bench.audit_preferences(preference_planted(), progress=False)   # the first SAE, "tiny"
>>> audit.hypotheses.columns.tolist()[:5]
['rank', 'latent', 'direction', 'mean_diff', 'effect_size']
>>> audit.hypotheses.hypothesis[0]   # in words, with the tokens the latent promotes
"... responses more often activate latent ... (promotes: ...)"
>>> audit.mark(int(audit.hypotheses.latent[0]), "blocked")
>>> audit.export(tmp / "filtered.jsonl")["pairs"]
200

Each response is rendered with its prompt through the model's chat template and read
at the SAE's site (encoded a chunk of tokens at a time); a response's activation of a
latent is the mean of that latent over the response's own tokens (the prompt, the role
markers before the response and the attention-sink position 0 are left out). For every
latent the audit compares the chosen and rejected responses pair by pair:

* ``mean_diff``: the mean over pairs of (chosen − rejected);
* ``effect_size``: the paired Cohen's d_z, ``mean_diff / sd(diff)``;
* ``p``: a two-sided **paired t-test** (``t = mean_diff / (sd(diff) / √n)``, ``n − 1``
  degrees of freedom; the same as ``scipy.stats.ttest_rel``), ``q``: its
  Benjamini-Hochberg adjustment over the latents that fire at all;
* ``fire_chosen`` / ``fire_rejected``: the fraction of responses where it fires on at
  least one response token;
* ``length_r``: the Pearson correlation, over pairs, of the difference with the
  difference in response length (tokens); ``length_artefact`` when ``|length_r| > 0.5``.

Latents are ranked by ``q`` first (those with ``q < 0.05`` ahead of the rest), then by
``|effect_size|``. The auditor marks latents
``"allowed"`` or ``"blocked"``; :meth:`PreferenceAudit.export` writes the pairs whose
preference is not driven by blocked latents (or all of them, re-weighted) as JSON lines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from os.path import commonpath
from typing import TYPE_CHECKING, Any

import numpy as np

from ..datasets import Dataset, read_dataset
from ..recording import recorded
from ..residual import hidden_batches, tokenize, top_tokens
from .preference_audit import ALPHA, PreferenceAudit
from .stats import benjamini_hochberg, paired_statistics

if TYPE_CHECKING:  # pragma: no cover

    from ..session import Session

LENGTH_ARTEFACT_R = 0.5   # |r| with the length difference above which a latent is flagged
PROMOTED = 5              # promoted tokens named per latent
NAMED = 200               # top-ranked latents whose promoted tokens are computed
SNIPPET = 120
_COLUMNS = ["rank", "latent", "direction", "mean_diff", "effect_size", "t", "p", "q", "fire_chosen",
            "fire_rejected", "length_r", "length_artefact", "promotes", "hypothesis", "examples", "mark"]


# -- encoding ------------------------------------------------------------------------


def _response_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        return str(value[-1].get("content", ""))
    return str(value)


def _response_starts(session: Session, dataset: Dataset, side: str, texts: list[str],
                     field_prompt: bool) -> list[int]:
    """Character offset in each rendered text where the response begins."""
    if not field_prompt:
        return [0] * len(texts)
    prompts = None
    starts = []
    for i, (row, text) in enumerate(zip(dataset.rows, texts)):
        response = _response_text(getattr(row, side)).strip()
        at = text.rfind(response) if response else -1
        if at < 0:  # the template rewrote the response: fall back on the rendered prompt as a prefix
            if prompts is None:
                prompts = dataset.texts(session, field="prompt")
            at = len(commonpath([prompts[i], text]))
        starts.append(at)
    return starts


def _response_masks(session: Session, encoded: list[dict], texts: list[str], starts: list[int]) -> list[np.ndarray]:
    """Per text, a boolean mask over its tokens: True on the response's tokens (never position 0)."""
    masks = []
    for enc, text, start in zip(encoded, texts, starts):
        n = len(enc["ids"])
        if enc["offsets"] is not None:
            keep = np.array([end > start for _, end in enc["offsets"]], dtype=bool)
        else:  # a slow tokenizer: count the tokens of the text before the response
            before = len(session.tokenizer(text[:start], add_special_tokens=False)["input_ids"])
            keep = np.arange(n) >= before
        keep[:1] = False
        masks.append(keep)
    return masks


@recorded("audit_preferences", formerly=("contrast", "workbench.techniques.preference:contrast"))
def audit(
    session: Session,
    pairs: Any,
    *,
    sae: str | None = None,
    field_prompt: bool = True,
    batch_size: int = 16,
    max_tokens: int = 256,
    progress: bool | Callable[[int, int], None] = True,
    cancel: threading.Event | None = None,
    top_examples: int = 3,
) -> PreferenceAudit:
    """Audit a preference dataset: which SAE latents the chosen responses activate more, or less.

    Parameters
    ----------
    bench : Workbench
    pairs : Dataset or anything :func:`~workbench.datasets.read_dataset` reads
        Preference rows (``prompt``, ``chosen``, ``rejected``).
    sae : str, optional
        A registered SAE (default: the first one); responses are read at its site.
    field_prompt : bool
        Render each response after its prompt through the chat template (default), so
        the model reads it in context; pooling still covers only the response's
        tokens. ``False``: read the response text alone.
    batch_size : int
        Responses per forward pass.
    max_tokens : int
        Tokens read per rendered text (prompt included); a longer one is cut at the end.
    progress : bool or callable
        Show a progress bar while responses are encoded, or call ``progress(done, total)``
        (responses encoded, of all) after each batch.
    cancel : threading.Event, optional
        Set it to stop between batches (raises :class:`workbench.Cancelled`).
    top_examples : int
        Example pairs kept per latent.

    Returns
    -------
    PreferenceAudit

    Examples
    --------
    >>> from workbench.corpora import preference_planted
    >>> result = audit(bench, preference_planted(), sae="tiny", progress=False)
    >>> result
    PreferenceAudit(200 pairs, SAE 'tiny' at layer 1: ... latents with q < 0.05 of ... firing; 0 blocked)
    >>> len(result.top(5))
    5
    """
    import pandas as pd
    import torch

    if not isinstance(pairs, Dataset):
        pairs = read_dataset(pairs)
    if pairs.kind != "preference":
        raise ValueError(f"audit_preferences needs a preference dataset (prompt, chosen, rejected), "
                         f"not a {pairs.kind} one.")
    if len(pairs) < 2:
        raise ValueError(f"The audit needs at least 2 pairs, not {len(pairs)}.")
    for name, value, low in (("batch_size", batch_size, 1), ("max_tokens", max_tokens, 2),
                             ("top_examples", top_examples, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be a whole number of at least {low}, not {value!r}.")
    entry = session.saes.get(sae)
    n = len(pairs)

    texts, masks = [], []
    for side in ("chosen", "rejected"):
        if field_prompt:
            side_texts = pairs.texts(session, field=side)
        else:
            side_texts = [_response_text(getattr(row, side)) for row in pairs.rows]
        starts = _response_starts(session, pairs, side, side_texts, field_prompt)
        encoded = tokenize(session, side_texts, max_tokens)
        texts.append(encoded)
        masks.extend(_response_masks(session, encoded, side_texts, starts))
    encoded = texts[0] + texts[1]

    d_sae = entry.d_sae
    means = np.zeros((2 * n, d_sae), dtype=np.float32)
    fired = np.zeros((2 * n, d_sae), dtype=bool)
    counts = np.array([int(m.sum()) for m in masks])
    tokens_read = 0
    for chunk, states, mask in hidden_batches(session, encoded, entry.site, batch_size=batch_size, progress=progress,
                                              cancel=cancel, description="The preference audit"):
        weights = torch.zeros(mask.shape, dtype=torch.float32)
        for j, i in enumerate(chunk):
            weights[j, : len(masks[i])] = torch.from_numpy(masks[i].astype(np.float32))
        tokens_read += int(mask.sum())
        # encoded a chunk of tokens at a time; each chunk is folded into its responses' sums at once
        flat_weights = weights.reshape(-1)
        owner = torch.arange(len(chunk)).repeat_interleave(states.shape[1])
        sums = torch.zeros(len(chunk), d_sae)
        firing = torch.zeros(len(chunk), d_sae)  # response tokens where each latent fires
        for first, acts in entry.encode_chunks(states):
            here = slice(first, first + acts.shape[0])
            acts = acts.cpu() * flat_weights[here, None]
            sums.index_add_(0, owner[here], acts)
            firing.index_add_(0, owner[here], (acts > 0).float())
        means[chunk] = (sums / weights.sum(1, keepdim=True).clamp(min=1.0)).numpy()
        fired[chunk] = (firing > 0).numpy()

    chosen, rejected = means[:n], means[n:]
    length_diff = (counts[:n] - counts[n:]).astype(np.float64)
    empty = [pairs.rows[i].id for i in range(n) if counts[i] == 0 or counts[n + i] == 0]
    stats = paired_statistics(chosen, rejected, length_diff)
    active = np.flatnonzero(fired.any(0))
    q = np.ones(d_sae)
    q[active] = benjamini_hochberg(stats["p"][active])
    fire_c, fire_r = fired[:n].mean(0), fired[n:].mean(0)

    # significant first; within each group the larger effect first (among significant latents q
    # mostly measures the number of pairs, while d_z says how consistently the latent separates them)
    order = sorted(active.tolist(), key=lambda j: (q[j] >= ALPHA, -abs(stats["effect_size"][j]), q[j], j))
    promoted = _promoted(session, entry, order[:NAMED])
    diff = chosen - rejected
    rows = []
    for rank, j in enumerate(order, 1):
        m = stats["mean_diff"][j]
        direction = "chosen" if m >= 0 else "rejected"
        artefact = bool(abs(stats["length_r"][j]) > LENGTH_ARTEFACT_R)
        rows.append({
            "rank": rank, "latent": int(j), "direction": direction, "mean_diff": float(m),
            "effect_size": float(stats["effect_size"][j]), "t": float(stats["t"][j]), "p": float(stats["p"][j]),
            "q": float(q[j]), "fire_chosen": float(fire_c[j]), "fire_rejected": float(fire_r[j]),
            "length_r": float(stats["length_r"][j]), "length_artefact": artefact,
            "promotes": promoted.get(j, []),
            "hypothesis": _hypothesis(j, direction, promoted.get(j, []), stats["length_r"][j], artefact),
            "examples": _examples(pairs, diff[:, j], 1.0 if m >= 0 else -1.0, top_examples),
            "mark": None,
        })
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    settings = {"model": session.model_name, "sae": entry.name, "layer": entry.layer, "site": entry.site.kind,
                "field_prompt": field_prompt,
                "max_tokens": max_tokens, "test": "paired t-test (two-sided), Benjamini-Hochberg over firing latents",
                "pooling": "mean over response tokens, position 0 left out"}
    summary = {"pairs": n, "latents_firing": int(active.size), "significant": int((q < ALPHA).sum()),
               "tokens_read": tokens_read, "response_tokens": int(counts.sum()), "pairs_without_response_tokens": empty}
    return PreferenceAudit(pairs, frame, chosen, rejected, length_diff, settings, summary)


def _promoted(session: Session, entry: Any, latents: list[int]) -> dict[int, list[str]]:
    """Tokens each latent's decoder direction promotes most through the unembedding."""
    if not latents:
        return {}
    return dict(zip(latents, top_tokens(session, entry.sae.W_dec[latents].detach(), PROMOTED)))


def _hypothesis(latent: int, direction: str, promotes: list[str], r: float, artefact: bool) -> str:
    tokens = ", ".join(repr(t) for t in promotes)
    text = f"{direction} responses more often activate latent {latent}"
    if tokens:
        text += f" (promotes: {tokens})"
    if artefact:
        longer = "longer" if (r > 0) == (direction == "chosen") else "shorter"
        text += (f"; likely a length artefact (r = {r:+.2f} with the length difference: "
                 f"{direction} responses are {longer})")
    return text


def _snip(value: Any) -> str:
    text = _response_text(value)
    return text if len(text) <= SNIPPET else text[:SNIPPET] + "…"


def _examples(dataset: Dataset, diff: np.ndarray, sign: float, k: int) -> list[dict]:
    if k == 0:
        return []
    order = np.argsort(-sign * diff, kind="stable")[:k]
    return [{"id": dataset.rows[i].id, "diff": float(diff[i]), "chosen": _snip(dataset.rows[i].chosen),
             "rejected": _snip(dataset.rows[i].rejected)} for i in order if sign * diff[i] > 0]
