"""The result of a preference audit: ranked hypotheses, the auditor's marks, and the curated dataset.

A :class:`PreferenceAudit` (from :func:`workbench.techniques.preference.audit`) holds
one row per SAE latent that fires on the responses, ranked by how reliably it
separates chosen from rejected responses. The auditor marks latents ``"allowed"`` or
``"blocked"``; :meth:`PreferenceAudit.export` writes the pairs whose preference is not
driven by blocked latents (or all of them, re-weighted) as JSON lines, and
:meth:`PreferenceAudit.export_blocked` the blocked-latent list for training.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..datasets import Dataset

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

MARKS = ("allowed", "blocked")
MODES = ("remove", "reweight")
ALPHA = 0.05              # q below which a latent counts as significant (ranked first)
DEFAULT_THRESHOLD = 0.5   # pair score (RMS units) at or above which a pair is removed


@dataclass
class PreferenceAudit:
    """The result of :func:`workbench.techniques.preference.audit`: ranked hypotheses about what the preference rewards.

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
        >>> audit = bench.audit_preferences(wb.corpora.preference_planted(), sae="tiny", progress=False)
        >>> latent = int(audit.hypotheses.latent[0])   # the best-ranked hypothesis
        >>> audit.mark(latent, "blocked")
        >>> audit.blocked == [latent], audit.top(1).mark.tolist()
        (True, ['blocked'])
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
        >>> audit = bench.audit_preferences(wb.corpora.preference_planted(), sae="tiny", progress=False)
        >>> scores = audit.pair_scores([int(audit.hypotheses.latent[0])])
        >>> scores.shape, float(audit.pair_scores([]).max())   # no latent given: every pair scores 0
        ((200,), 0.0)
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
        >>> audit = bench.audit_preferences(wb.corpora.preference_planted(), sae="tiny", progress=False)
        >>> audit.mark(int(audit.hypotheses.latent[0]), "blocked")
        >>> weights = audit.weights(mode="reweight")
        >>> weights.shape, bool(((weights > 0) & (weights <= 1)).all()), bool((weights < 1).any())
        ((200,), True, True)
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
        >>> audit = bench.audit_preferences(wb.corpora.preference_planted(), sae="tiny", progress=False)
        >>> audit.mark(int(audit.hypotheses.latent[0]), "blocked")
        >>> audit.export(tmp / "filtered.jsonl")
        {'pairs': 200, 'kept': ..., 'removed': ..., 'path': '.../filtered.jsonl',
         'blocked_path': '.../blocked_latents.json'}
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
        >>> audit = bench.audit_preferences(wb.corpora.preference_planted(), sae="tiny", progress=False)
        >>> audit.mark(int(audit.hypotheses.latent[0]), "blocked")
        >>> import json
        >>> payload = json.loads(audit.export_blocked(tmp / "blocked_latents.json").read_text())
        >>> len(payload["blocked"]), payload["allowed"]
        (1, [])
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
        >>> audit = bench.audit_preferences(wb.corpora.preference_planted(), sae="tiny", progress=False)
        >>> audit.top(5).columns.tolist()
        ['rank', 'latent', 'effect_size', 'q', 'fire_chosen', 'fire_rejected', 'length_r', 'length_artefact',
         'hypothesis', 'mark']
        >>> audit.top(5)["rank"].tolist()
        [1, 2, 3, 4, 5]
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
        >>> audit = bench.audit_preferences(wb.corpora.preference_planted(), sae="tiny", progress=False)
        >>> audit.chart(20)
        alt.Chart(...)
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
