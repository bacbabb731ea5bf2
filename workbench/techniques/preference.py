"""Preference-dataset audit: which SAE latents separate chosen from rejected responses.

>>> from workbench.corpora import preference_planted
>>> audit = bench.contrast(preference_planted())          # doctest: +SKIP
>>> audit.hypotheses[["latent", "effect_size", "q", "hypothesis"]].head(10)  # doctest: +SKIP
>>> audit.mark(1234, "blocked")                            # doctest: +SKIP
>>> audit.export("filtered.jsonl")                         # doctest: +SKIP

Each response is rendered with its prompt through the model's chat template and read
by the SAE's layer; a response's activation of a latent is the mean of that latent over
the response's own tokens (the prompt, the role markers before the response and the
attention-sink position 0 are left out). For every latent the audit compares the chosen
and rejected responses pair by pair:

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

import html
import json
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os.path import commonpath
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..datasets import Dataset, read_dataset
from ..recording import recorded
from .data_search import SearchCancelled, _hidden_batches, _tokenize

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..session import Workbench

MARKS = ("allowed", "blocked")
MODES = ("remove", "reweight")
ALPHA = 0.05              # q below which a latent counts as significant (ranked first)
LENGTH_ARTEFACT_R = 0.5   # |r| with the length difference above which a latent is flagged
DEFAULT_THRESHOLD = 0.5   # pair score (RMS units) at or above which a pair is removed
PROMOTED = 5              # promoted tokens named per latent
NAMED = 200               # top-ranked latents whose promoted tokens are computed
SNIPPET = 120
_COLUMNS = ["rank", "latent", "direction", "mean_diff", "effect_size", "t", "p", "q", "fire_chosen",
            "fire_rejected", "length_r", "length_artefact", "promotes", "hypothesis", "examples", "mark"]


class AuditCancelled(SearchCancelled):
    """The cancel event was set while responses were being encoded."""


@dataclass
class PreferenceAudit:
    """The result of :func:`contrast`: ranked hypotheses about what the preference rewards.

    Attributes
    ----------
    dataset : Dataset
        The preference pairs audited (``dataset.rows[i]`` is pair ``i``).
    hypotheses : DataFrame
        One row per latent that fires on at least one response, ranked by ``q`` (those
        with ``q < 0.05`` first) then ``|effect_size|``: ``rank``, ``latent``, ``direction`` (``"chosen"`` or
        ``"rejected"``: which side activates it more), ``mean_diff``, ``effect_size``,
        ``t``, ``p``, ``q``, ``fire_chosen``, ``fire_rejected``, ``length_r``,
        ``length_artefact``, ``promotes`` (tokens its decoder direction promotes; the
        top-ranked latents only), ``hypothesis`` (a sentence), ``examples`` (the pairs
        with the largest difference in that direction: ``id``, ``diff``, ``chosen``,
        ``rejected`` snippets) and ``mark``.
    chosen, rejected : ndarray ``[n_pairs, d_sae]``
        Mean activation of every latent over each response's tokens.
    length_diff : ndarray ``[n_pairs]``
        Response tokens of chosen minus rejected.
    settings, summary : dict
    marks : dict
        ``latent -> "allowed" | "blocked"``.
    """

    dataset: Dataset
    hypotheses: pd.DataFrame
    chosen: np.ndarray
    rejected: np.ndarray
    length_diff: np.ndarray
    settings: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    marks: dict = field(default_factory=dict)

    @property
    def differences(self) -> np.ndarray:
        """Per pair and latent: chosen − rejected mean activation, ``[n_pairs, d_sae]``."""
        return self.chosen - self.rejected

    @property
    def d_sae(self) -> int:
        return int(self.chosen.shape[1])

    @property
    def ids(self) -> list[str]:
        return self.dataset.ids

    def mark(self, latent: Any, status: str | None) -> None:
        """Mark a latent ``"allowed"`` or ``"blocked"`` (``None`` clears the mark).

        Examples
        --------
        >>> audit.mark(int(audit.hypotheses.latent[0]), "blocked")   # doctest: +SKIP
        >>> audit.blocked                                            # doctest: +SKIP
        [1234]
        """
        from ..saes import check_latent

        latent = check_latent(latent, self.d_sae)
        if status is None:
            self.marks.pop(latent, None)
        elif status not in MARKS:
            raise ValueError(f"status must be 'allowed', 'blocked' or None, not {status!r}.")
        else:
            self.marks[latent] = status
        self.hypotheses["mark"] = [self.marks.get(int(j)) for j in self.hypotheses["latent"]]

    @property
    def blocked(self) -> list[int]:
        """The blocked latents, in increasing order."""
        return sorted(j for j, s in self.marks.items() if s == "blocked")

    @property
    def allowed(self) -> list[int]:
        """The allowed latents, in increasing order."""
        return sorted(j for j, s in self.marks.items() if s == "allowed")

    def pair_scores(self, latents: Sequence[int] | None = None) -> np.ndarray:
        """How much each pair's preference is driven by ``latents`` (default: the blocked ones).

        For latent ``j`` with mean difference ``m_j`` over pairs, pair ``i`` scores
        ``sign(m_j) · diff_ij / rms_j``, where ``rms_j`` is the root mean square of the
        latent's differences over all pairs: how far, in the latent's typical units,
        the pair moves in the direction the dataset prefers. A pair's score is its
        maximum over ``latents`` (0 when none is given).

        Examples
        --------
        >>> scores = audit.pair_scores([1234])        # doctest: +SKIP
        >>> (scores >= 0.5).mean()                    # doctest: +SKIP
        """
        from ..saes import check_latent

        latents = self.blocked if latents is None else [check_latent(j, self.d_sae) for j in latents]
        if not latents:
            return np.zeros(len(self.dataset), dtype=np.float64)
        diff = self.differences[:, latents].astype(np.float64)
        rms = np.sqrt((diff**2).mean(0))
        sign = np.sign(diff.mean(0))
        scaled = np.divide(diff * sign, rms, out=np.zeros_like(diff), where=rms > 0)
        return scaled.max(1)

    def weights(self, *, mode: str = "remove", threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        """Per pair weight under the export rule: 0 or 1 (``remove``) or in (0, 1] (``reweight``).

        ``remove``: a pair whose :meth:`pair_scores` is ``>= threshold`` gets 0.
        ``reweight``: such a pair gets ``threshold / score`` (the further the blocked
        latents drive it, the less it counts); the others keep 1.

        Examples
        --------
        >>> audit.weights(mode="reweight").round(2)   # doctest: +SKIP
        """
        if mode not in MODES:
            raise ValueError(f"mode must be 'remove' or 'reweight', not {mode!r}.")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
            raise ValueError(f"threshold must be a positive number, not {threshold!r}.")
        scores = self.pair_scores()
        hit = scores >= threshold
        if mode == "remove":
            return np.where(hit, 0.0, 1.0)
        return np.where(hit, threshold / np.maximum(scores, threshold), 1.0)

    def export(self, path: str | os.PathLike, *, mode: str = "remove", threshold: float = DEFAULT_THRESHOLD,
               blocked_path: str | os.PathLike | None = None) -> dict:
        """Write the filtered (or re-weighted) pairs as JSON lines and the blocked latents as JSON.

        Removal rule: with ``mode="remove"`` a pair is left out when, for some blocked
        latent, its chosen − rejected difference in the direction the dataset prefers
        is at least ``threshold`` times that latent's RMS difference over all pairs
        (see :meth:`pair_scores`). With ``mode="reweight"`` every pair is written with a
        ``weight`` field (see :meth:`weights`). Records are written as they were read.
        ``blocked_latents.json`` (or ``blocked_path``) goes next to ``path``. Both files
        are written atomically.

        Returns
        -------
        dict
            ``pairs``, ``kept``, ``removed`` (``remove``) or ``downweighted``
            (``reweight``), ``path``, ``blocked_path``.

        Examples
        --------
        >>> audit.export(tmp / "filtered.jsonl")      # doctest: +SKIP
        {'pairs': 200, 'kept': 97, 'removed': 103, ...}
        """
        weights = self.weights(mode=mode, threshold=threshold)
        path = Path(path)
        blocked_path = Path(blocked_path) if blocked_path is not None else path.parent / "blocked_latents.json"
        lines = []
        for row, weight in zip(self.dataset.rows, weights):
            if mode == "remove" and weight == 0:
                continue
            record = dict(row.record)
            if mode == "reweight":
                record["weight"] = round(float(weight), 6)
            lines.append(json.dumps(record, ensure_ascii=False))
        _atomic_write(path, "".join(line + "\n" for line in lines))
        self.export_blocked(blocked_path, mode=mode, threshold=threshold, _weights=weights)
        counts = {"pairs": len(weights), "kept": int((weights > 0).sum()) if mode == "remove" else len(weights)}
        if mode == "remove":
            counts["removed"] = int((weights == 0).sum())
        else:
            counts["downweighted"] = int((weights < 1).sum())
        counts.update(path=str(path), blocked_path=str(blocked_path))
        return counts

    def export_blocked(self, path: str | os.PathLike, *, mode: str = "remove", threshold: float = DEFAULT_THRESHOLD,
                       _weights: np.ndarray | None = None) -> Path:
        """Write the blocked (and allowed) latents with their statistics as JSON; returns the path.

        Examples
        --------
        >>> audit.export_blocked(tmp / "blocked_latents.json")   # doctest: +SKIP
        """
        weights = self.weights(mode=mode, threshold=threshold) if _weights is None else _weights
        frame = self.hypotheses.set_index("latent")

        def describe(j: int) -> dict:
            if j not in frame.index:
                return {"latent": j}
            row = frame.loc[j]
            return {"latent": j, "direction": row["direction"], "effect_size": float(row["effect_size"]),
                    "q": float(row["q"]), "length_r": float(row["length_r"]), "promotes": list(row["promotes"]),
                    "hypothesis": row["hypothesis"]}

        payload = {
            **{k: self.settings.get(k) for k in ("model", "sae", "layer")},
            "rule": {"mode": mode, "threshold": threshold,
                     "score": "max over blocked latents of sign(mean diff) * diff / rms(diff)"},
            "blocked": [describe(j) for j in self.blocked],
            "allowed": [describe(j) for j in self.allowed],
            "affected_ids": [i for i, w in zip(self.dataset.ids, weights) if w < 1],
        }
        path = Path(path)
        _atomic_write(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return path

    def top(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` best-ranked hypotheses, the columns a reader needs.

        Examples
        --------
        >>> audit.top(5)                               # doctest: +SKIP
        """
        return self.hypotheses.head(n)[["rank", "latent", "effect_size", "q", "fire_chosen", "fire_rejected",
                                        "length_r", "length_artefact", "hypothesis", "mark"]]

    def chart(self, n: int = 30):
        """An altair bar chart of the ``n`` best-ranked latents' effect sizes.

        Bars point right when chosen responses activate the latent more, left when
        rejected ones do; colour is the auditor's mark, and a hatched outline flags a
        length artefact. Clicking a bar selects its latent (a point selection named
        ``"latent"``; :class:`workbench.PreferencePanel` opens that hypothesis).

        Examples
        --------
        >>> audit.chart(20)                             # doctest: +SKIP
        """
        import altair as alt

        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a whole number of at least 1, not {n!r}.")
        frame = self.hypotheses.head(n)
        data = frame[["rank", "latent", "effect_size", "q", "length_r", "length_artefact", "hypothesis"]].copy()
        data["label"] = [f"#{r} · latent {j}" for r, j in zip(data["rank"], data["latent"])]
        data["mark"] = [self.marks.get(int(j), "unmarked") for j in data["latent"]]
        data["significant"] = data["q"] < ALPHA
        selection = alt.selection_point(name="latent", fields=["latent"], on="click", empty=False)
        return alt.Chart(data).mark_bar().encode(
            x=alt.X("effect_size:Q", title="effect size d_z (chosen − rejected)"),
            y=alt.Y("label:N", sort=None, title=None),
            color=alt.Color("mark:N", title="mark",
                            scale=alt.Scale(domain=["unmarked", "allowed", "blocked"],
                                            range=["#9aa5b1", "#2e7d32", "#c62828"])),
            opacity=alt.condition(alt.datum.significant, alt.value(1.0), alt.value(0.45)),
            stroke=alt.condition(alt.datum.length_artefact, alt.value("#e65100"), alt.value(None)),
            strokeWidth=alt.condition(selection, alt.value(3), alt.value(1.5)),
            tooltip=[alt.Tooltip("latent:Q"), alt.Tooltip("effect_size:Q", format=".2f"),
                     alt.Tooltip("q:Q", format=".2g"), alt.Tooltip("length_r:Q", format=".2f"),
                     alt.Tooltip("hypothesis:N")],
        ).add_params(selection).properties(
            width=360, height=alt.Step(14),
            title={"text": f"Top {len(data)} latents separating chosen from rejected",
                   "subtitle": "faded: q >= 0.05 · orange outline: length artefact · click a bar to open it"},
        )

    def _journal_summary(self) -> dict:
        top = self.hypotheses.head(5)
        return {"pairs": len(self.dataset.rows), "sae": self.settings.get("sae"), "layer": self.settings.get("layer"),
                **{k: v for k, v in self.summary.items() if not isinstance(v, (list, dict))},
                "top": [{"latent": int(r["latent"]), "effect_size": float(r["effect_size"]), "q": float(r["q"]),
                         "hypothesis": str(r["hypothesis"])} for _, r in top.iterrows()]}

    def __repr__(self) -> str:
        s = self.summary
        return (f"PreferenceAudit({s.get('pairs')} pairs, SAE {self.settings.get('sae')!r} at layer "
                f"{self.settings.get('layer')}: {s.get('significant')} latents with q < 0.05 of "
                f"{s.get('latents_firing')} firing; {len(self.blocked)} blocked)")

    def _repr_html_(self) -> str:
        # hypotheses quote dataset text (promoted tokens, snippets): pandas escapes every cell
        return f"<p>{html.escape(repr(self))}</p>" + self.top(10).to_html(index=False, escape=True)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- statistics ----------------------------------------------------------------------


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of a 1-d array.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.clip(q_sorted, 0.0, 1.0)
    return q


def paired_statistics(chosen: np.ndarray, rejected: np.ndarray, length_diff: np.ndarray) -> dict[str, np.ndarray]:
    """Per latent (column): mean difference, d_z, paired t and two-sided p, correlation with length.

    A column whose differences are all equal has ``effect_size = t = 0``, ``p = 1``
    (nothing to test) and ``length_r = 0``.

    Examples
    --------
    >>> stats = paired_statistics(np.array([[1.0], [2.0], [4.0]]), np.zeros((3, 1)), np.array([1.0, 2.0, 3.0]))
    >>> round(float(stats["effect_size"][0]), 3), round(float(stats["length_r"][0]), 3)
    (1.528, 0.982)
    """
    from scipy import stats

    diff = np.asarray(chosen, dtype=np.float64) - np.asarray(rejected, dtype=np.float64)
    n = diff.shape[0]
    if n < 2:
        raise ValueError(f"The audit needs at least 2 pairs, not {n}.")
    mean = diff.mean(0)
    sd = diff.std(0, ddof=1)
    tiny = sd <= 1e-12 * np.maximum(np.abs(diff).max(0), 1e-30)
    safe_sd = np.where(tiny, 1.0, sd)
    effect = np.where(tiny, 0.0, mean / safe_sd)
    t = effect * np.sqrt(n)
    p = np.where(tiny, 1.0, 2.0 * stats.t.sf(np.abs(t), n - 1))
    lengths = np.asarray(length_diff, dtype=np.float64)
    lc = lengths - lengths.mean()
    dc = diff - mean
    denom = np.sqrt((dc**2).sum(0) * (lc**2).sum())
    r = np.divide(lc @ dc, denom, out=np.zeros_like(mean), where=(denom > 0) & ~tiny)
    return {"mean_diff": mean, "sd_diff": sd, "effect_size": effect, "t": t, "p": p, "length_r": r}


# -- encoding ------------------------------------------------------------------------


def _response_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        return str(value[-1].get("content", ""))
    return str(value)


def _response_starts(bench: Workbench, dataset: Dataset, side: str, texts: list[str],
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
                prompts = dataset.texts(bench, field="prompt")
            at = len(commonpath([prompts[i], text]))
        starts.append(at)
    return starts


def _response_masks(bench: Workbench, encoded: list[dict], texts: list[str], starts: list[int]) -> list[np.ndarray]:
    """Per text, a boolean mask over its tokens: True on the response's tokens (never position 0)."""
    masks = []
    for enc, text, start in zip(encoded, texts, starts):
        n = len(enc["ids"])
        if enc["offsets"] is not None:
            keep = np.array([end > start for _, end in enc["offsets"]], dtype=bool)
        else:  # a slow tokenizer: count the tokens of the text before the response
            before = len(bench.tokenizer(text[:start], add_special_tokens=False)["input_ids"])
            keep = np.arange(n) >= before
        keep[:1] = False
        masks.append(keep)
    return masks


@recorded("contrast")
def contrast(
    bench: Workbench,
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
        A registered SAE (default: the first one); its layer is read.
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
        Set it to stop between batches (raises :class:`AuditCancelled`).
    top_examples : int
        Example pairs kept per latent.

    Returns
    -------
    PreferenceAudit

    Examples
    --------
    >>> from workbench.corpora import preference_planted
    >>> audit = contrast(bench, preference_planted(), sae="default")   # doctest: +SKIP
    >>> audit.top(5)                                                   # doctest: +SKIP
    """
    import pandas as pd
    import torch

    from .. import saes

    if not isinstance(pairs, Dataset):
        pairs = read_dataset(pairs)
    if pairs.kind != "preference":
        raise ValueError(f"contrast needs a preference dataset (prompt, chosen, rejected), not a {pairs.kind} one.")
    if len(pairs) < 2:
        raise ValueError(f"The audit needs at least 2 pairs, not {len(pairs)}.")
    for name, value, low in (("batch_size", batch_size, 1), ("max_tokens", max_tokens, 2),
                             ("top_examples", top_examples, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be a whole number of at least {low}, not {value!r}.")
    entry = bench.saes.get(sae)
    n = len(pairs)

    texts, masks = [], []
    for side in ("chosen", "rejected"):
        if field_prompt:
            side_texts = pairs.texts(bench, field=side)
        else:
            side_texts = [_response_text(getattr(row, side)) for row in pairs.rows]
        starts = _response_starts(bench, pairs, side, side_texts, field_prompt)
        encoded = _tokenize(bench, side_texts, max_tokens)
        texts.append(encoded)
        masks.extend(_response_masks(bench, encoded, side_texts, starts))
    encoded = texts[0] + texts[1]

    d_sae = entry.d_sae
    means = np.zeros((2 * n, d_sae), dtype=np.float32)
    fired = np.zeros((2 * n, d_sae), dtype=bool)
    counts = np.array([int(m.sum()) for m in masks])
    tokens_read = 0
    try:
        for chunk, hidden, mask in _hidden_batches(bench, encoded, entry.layer, batch_size=batch_size,
                                                   progress=progress, cancel=cancel,
                                                   description="encoding preference pairs"):
            weights = torch.zeros(mask.shape, dtype=torch.float32)
            for j, i in enumerate(chunk):
                weights[j, : len(masks[i])] = torch.from_numpy(masks[i].astype(np.float32))
            tokens_read += int(mask.sum())
            acts = saes.encode(entry.sae, hidden.reshape(-1, hidden.shape[-1])).view(*hidden.shape[:2], -1)
            acts = acts * weights[..., None]
            sums = acts.sum(1)
            means[chunk] = (sums / weights.sum(1, keepdim=True).clamp(min=1.0)).numpy()
            fired[chunk] = (acts > 0).any(1).numpy()
    except SearchCancelled as error:
        raise AuditCancelled(str(error).replace("encoding preference pairs", "The preference audit")) from None

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
    promoted = _promoted(bench, entry, order[:NAMED])
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
    settings = {"model": bench.model_name, "sae": entry.name, "layer": entry.layer, "field_prompt": field_prompt,
                "max_tokens": max_tokens, "test": "paired t-test (two-sided), Benjamini-Hochberg over firing latents",
                "pooling": "mean over response tokens, position 0 left out"}
    summary = {"pairs": n, "latents_firing": int(active.size), "significant": int((q < ALPHA).sum()),
               "tokens_read": tokens_read, "response_tokens": int(counts.sum()), "pairs_without_response_tokens": empty}
    return PreferenceAudit(pairs, frame, chosen, rejected, length_diff, settings, summary)


def _promoted(bench: Workbench, entry: Any, latents: list[int]) -> dict[int, list[str]]:
    """Tokens each latent's decoder direction promotes most through the unembedding."""
    import torch

    from ..residual import layout, module_at

    if not latents:
        return {}
    module = bench.model._module
    unembed = module_at(module, layout(module).unembed).weight  # [V, d]
    with torch.inference_mode():
        w_dec = entry.sae.W_dec[latents].to(unembed.device, unembed.dtype)
        top = (w_dec @ unembed.T).float().topk(PROMOTED, dim=-1).indices.cpu().tolist()
    decode = bench.tokenizer.decode
    return {j: [decode([t]) for t in ids] for j, ids in zip(latents, top)}


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
