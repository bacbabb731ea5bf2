"""Detection scoring of feature explanations: does an explanation pick out where a latent fires?

A scorer is shown short corpus segments, some where the latent fires and some where it
does not, together with the explanation; it scores each segment ("does the latent fire
here?"). The **detection score** is the AUROC of those scores against the truth: 1.0
separates them perfectly, 0.5 is chance. Two scorers:

* :func:`lexical_scores`: deterministic and model-free; a segment scores by the terms of
  the explanation it contains (quoted terms when there are any, else its content words);
* :func:`model_scores`: the loaded model, asked through its chat template whether the
  explanation fits the segment; the score is ``log p(Yes) - log p(No)`` of its first token.

The segments come from a :class:`ScoringSample`: windows of the feature statistics'
corpus, read at the SAE's site once and cut into segments of :data:`SEGMENT` tokens, with
every latent's maximum activation over each segment. A latent's activating segments are
spread over the quantiles of its activation (not only its strongest). The sample's windows
are split: the even ones are read by explainers (where a latent fires at every strength),
the odd ones are scored on, less those holding one of the latent's top examples (which
explanations are also written from), so an explanation is scored on text it was not
written from.

>>> sample = scoring_sample(bench.feature_stats(progress=False))
>>> positive, negative = sample.examples(3)
>>> len(positive) > 0 and len(negative) > 0
True
>>> auroc([3.0, 2.0, 1.0], [0.0, 2.0])
0.75
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import saes

if TYPE_CHECKING:  # pragma: no cover
    from ..session import Session
    from .features import FeatureStats

SEGMENT = 16           # tokens per scored segment
SAMPLE_WINDOWS = 96    # corpus windows read for scoring (fewer for a very wide SAE)
MAX_VALUES = 1 << 25   # segments x latents kept in memory (128 MB of float32)
POSITIVES = 10         # activating segments scored per latent
NEGATIVES = 10         # non-activating segments scored per latent
TOKEN_LATENTS = 64     # strongest latents kept per token of the explaining windows
SCORERS = ("lexical", "model")

_STOP = frozenset({
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "with", "by", "from", "as", "is", "are",
    "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "fires", "fire", "firing",
    "responds", "respond", "latent", "feature", "token", "tokens", "text", "texts", "word", "words", "about",
    "when", "which", "what", "promotes", "promote", "suppresses", "suppress", "context", "contexts", "such",
    "like", "mostly", "often", "also",
})


@dataclass
class ScoringSample:
    """Corpus segments and every latent's maximum activation over each (see module docstring).

    Attributes
    ----------
    texts : list of str
        The decoded segments.
    rows : ndarray
        ``[n_segments]`` the window (row of the feature statistics' ``windows``) of each segment.
    maxima : ndarray
        ``[n_segments, d_sae]`` float32: each latent's largest activation in each segment.
    acts : Tensor
        ``[n_windows * (width - 1), d_in]``: the site activations the segments were encoded from
        (position 0 of each window dropped), kept for co-activation.
    windows : int
        How many corpus windows were read.
    token_ids, token_latents : ndarray
        For the tokens of the *explaining* windows (the even ones; the odd ones are scored
        on): each token's id ``[n]`` and the :data:`TOKEN_LATENTS` strongest latents firing
        on it ``[n, TOKEN_LATENTS]`` (-1 where fewer fire), which explainers read as
        activating examples spread over all strengths, not only the top ones.
    """

    stats: Any
    texts: list[str]
    rows: np.ndarray
    maxima: np.ndarray
    acts: Any
    windows: int
    token_ids: np.ndarray
    token_latents: np.ndarray

    def firing_tokens(self, latent: int) -> tuple[np.ndarray, int]:
        """The token ids where ``latent`` fires in the explaining windows, and how many tokens those windows hold."""
        hit = (self.token_latents == latent).any(-1)
        return self.token_ids[hit], len(self.token_ids)

    def examples(self, latent: int, positives: int = POSITIVES, negatives: int = NEGATIVES
                 ) -> tuple[list[int], list[int]]:
        """Segment indices ``(activating, non-activating)`` for scoring ``latent``.

        Activating segments are picked evenly over the sorted activations (strongest to
        weakest); non-activating ones at random (seeded by the latent). Segments of windows
        that hold the latent's top examples, and the explaining (even) windows, are left out.
        """
        latent = saes.check_latent(latent, self.stats.d_sae)
        width = self.stats.windows.shape[1]
        top = self.stats.top_index[:, latent]
        used = {int(flat) // width for flat, value in zip(top, self.stats.top_values[:, latent]) if value > 0}
        fresh = (self.rows % 2 == 1) & (~np.isin(self.rows, list(used)) if used else True)
        column = self.maxima[:, latent]
        firing = np.flatnonzero((column > 0) & fresh)
        quiet = np.flatnonzero((column <= 0) & fresh)
        firing = firing[np.argsort(-column[firing], kind="stable")]
        if len(firing) > positives:
            firing = firing[np.unique(np.linspace(0, len(firing) - 1, positives).round().astype(int))]
        rng = np.random.default_rng(latent)
        if len(quiet) > negatives:
            quiet = np.sort(rng.choice(quiet, negatives, replace=False))
        return firing.tolist(), quiet.tolist()


def scoring_sample(stats: FeatureStats, windows: int = SAMPLE_WINDOWS) -> ScoringSample:
    """The :class:`ScoringSample` of a feature statistics' corpus, built once per statistics object.

    ``windows`` of its corpus windows (fewer when segments x latents would pass
    :data:`MAX_VALUES`) are read at the SAE's site and encoded a chunk at a time.
    """
    import torch

    cached = getattr(stats, "_scoring_sample", None)
    if cached is not None and cached.windows <= windows:
        return cached
    from .features import EXAMPLE_START

    session, entry = stats.session, stats.entry
    width = stats.windows.shape[1]
    per_window = -(-(width - EXAMPLE_START) // SEGMENT)
    limit = max(1, MAX_VALUES // (per_window * entry.d_sae))
    n = int(min(windows, limit, stats.windows.shape[0]))
    rows = stats.windows[:n]
    acts = session.saes.collect(entry.site, rows, progress=False)  # [n * (width - 1), d_in]
    positions = torch.arange(1, width).repeat(n)
    window_of = torch.arange(n).repeat_interleave(width - 1)
    segment = torch.where(positions >= EXAMPLE_START,
                          window_of * per_window + (positions - EXAMPLE_START) // SEGMENT, -1)
    maxima = torch.zeros(n * per_window, entry.d_sae)
    explaining = (window_of % 2 == 0) & (positions >= EXAMPLE_START)
    token_latents = []
    for first, latents in entry.encode_chunks(acts):
        latents = latents.cpu().clamp_min(0)
        here = slice(first, first + latents.shape[0])
        ids = segment[here]
        keep = ids >= 0
        index = ids[keep][:, None].expand(-1, entry.d_sae)
        maxima.scatter_reduce_(0, index, latents[keep], reduce="amax")
        chosen = latents[explaining[here]]
        values, top = chosen.topk(min(TOKEN_LATENTS, entry.d_sae), dim=-1)
        token_latents.append(torch.where(values > 0, top, -1))
    decode = session.tokenizer.decode
    texts, owners = [], []
    for r in range(n):
        ids = rows[r].tolist()
        for s in range(per_window):
            lo = EXAMPLE_START + s * SEGMENT
            texts.append(decode(ids[lo : min(width, lo + SEGMENT)]))
            owners.append(r)
    token_ids = rows[:, 1:].reshape(-1)[explaining].numpy()
    sample = ScoringSample(stats, texts, np.asarray(owners), maxima.numpy(), acts, n, token_ids,
                           torch.cat(token_latents).numpy())
    stats._scoring_sample = sample
    return sample


# -- the detection score --------------------------------------------------------------------


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """The probability that a random activating segment outscores a random non-activating one (ties: half).

    ``None`` when either side is empty.
    """
    if not len(positive) or not len(negative):
        return None
    p = np.asarray(positive, float)[:, None]
    q = np.asarray(negative, float)[None, :]
    return round(float(((p > q).sum() + 0.5 * (p == q).sum()) / (p.size * q.size)), 4)


def detection(session: Session, sample: ScoringSample, latent: int, explanation: str, scorer: str = "lexical",
              ) -> dict:
    """The detection score of one explanation: ``{"score", "scorer", "positives", "negatives"}``.

    ``score`` is ``None`` (with a ``"reason"``) when the sample holds too few activating or
    non-activating segments for the latent.
    """
    if scorer not in SCORERS:
        raise ValueError(f"scorer must be one of {', '.join(map(repr, SCORERS))}, not {scorer!r}.")
    positive, negative = sample.examples(latent)
    out: dict[str, Any] = {"score": None, "scorer": scorer, "positives": len(positive), "negatives": len(negative)}
    if len(positive) < 2 or len(negative) < 2:
        out["reason"] = (f"the scoring sample has {len(positive)} segment(s) where the latent fires and "
                         f"{len(negative)} where it does not (2 of each are needed)")
        return out
    texts = [sample.texts[i] for i in positive + negative]
    scores = lexical_scores(explanation, texts) if scorer == "lexical" else model_scores(session, explanation, texts)
    out["score"] = auroc(scores[: len(positive)], scores[len(positive) :])
    return out


# -- scorers ----------------------------------------------------------------------------------

_QUOTED = re.compile(r'"([^"\n]{1,40})"')
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")


def explanation_terms(explanation: str) -> list[str]:
    """The terms a lexical scorer looks for: the quoted ones (in order) if any, else the content words.

    Examples
    --------
    >>> explanation_terms('fires on "fox", " dog"; promotes "jumps"')
    ['fox', ' dog', 'jumps']
    >>> explanation_terms("Mentions of chocolate in recipes")
    ['mentions', 'chocolate', 'recipes']
    """
    quoted = [t.lower() for t in _QUOTED.findall(explanation) if t.strip()]
    if quoted:
        return list(dict.fromkeys(quoted))
    words = [w.lower() for w in _WORD.findall(explanation)]
    return list(dict.fromkeys(w for w in words if w not in _STOP))


def _pattern(term: str) -> re.Pattern:
    # a term written with a leading space is a word start; others match anywhere (BPE pieces)
    body = re.escape(term.strip() or term)
    return re.compile((r"(?<![A-Za-z0-9])" if term[:1].isspace() else "") + body, re.IGNORECASE)


def lexical_scores(explanation: str, texts: Sequence[str]) -> np.ndarray:
    """Each text's score under an explanation: the weighted count of its terms that the text contains.

    The explanation's first term weighs most (its terms come strongest first); a text with
    none of them scores 0. Deterministic and needs no model.

    Examples
    --------
    >>> lexical_scores('fires on "fox"', ["the quick fox", "a lazy dog"]).tolist()
    [1.0, 0.0]
    """
    terms = [t for t in explanation_terms(explanation) if t.strip()][:24]
    patterns = [(_pattern(t), 1.0 / (1.0 + 0.1 * i)) for i, t in enumerate(terms)]
    return np.asarray([sum(w for p, w in patterns if p.search(text)) for text in texts], dtype=float)


SCORER_PROMPT = ("A feature of a language model was described as follows.\n"
                 "Description: {explanation}\n\nText: \"{text}\"\n\n"
                 "Does the feature respond to this text? Answer Yes or No.")


def _first_token(session: Session, word: str) -> int:
    return int(session.tokenizer(word, add_special_tokens=False)["input_ids"][0])


def model_scores(session: Session, explanation: str, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
    """Each text's score under an explanation from the loaded model: ``log p(Yes) - log p(No)``.

    The question (:data:`SCORER_PROMPT`) goes through the chat template; the two
    log-probabilities are those of the first token of the assistant's answer, read in
    one forward pass per batch.
    """
    from ..residual import forward_logprobs

    yes, no = _first_token(session, "Yes"), _first_token(session, "No")
    rows, queries = [], []
    for text in texts:
        prompt = session.render(SCORER_PROMPT.format(explanation=explanation[:500], text=text))
        rows.append(prompt.input_ids)
        queries.append([(len(prompt.input_ids) - 1, yes), (len(prompt.input_ids) - 1, no)])
    values = forward_logprobs(session, rows, queries, batch_size=batch_size)
    return np.asarray([a - b for a, b in values], dtype=float)


def co_activation(sample: ScoringSample, latent: int) -> tuple[np.ndarray, int]:
    """Jaccard overlap ``[d_sae]`` of every latent's firing tokens with ``latent``'s over the sample's tokens,
    and how many tokens ``latent`` fires on."""
    import torch

    entry = sample.stats.entry
    latent = saes.check_latent(latent, entry.d_sae)
    both = torch.zeros(entry.d_sae)
    fired = torch.zeros(entry.d_sae)
    own = 0
    for _, latents in entry.encode_chunks(sample.acts):
        on = latents.cpu() > 0
        fired += on.sum(0)
        mask = on[:, latent]
        own += int(mask.sum())
        if mask.any():
            both += on[mask].sum(0)
    union = fired + own - both
    jaccard = torch.where(union > 0, both / union.clamp(min=1), torch.zeros(()))
    return jaccard.numpy(), own
