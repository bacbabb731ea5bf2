"""Finding latents: the neighbours of a latent, and latents found by what their explanations mean.

* :func:`neighbours`: the latents nearest one latent, by the cosine of their decoder
  directions or by how often they fire on the same corpus tokens (Jaccard overlap over
  the scoring sample of :mod:`workbench.techniques.detection`), each with its explanation.
* :func:`search_features`: a text query ranked against the latents' explanations through
  the loaded model's own embeddings (mean-pooled hidden states at a middle layer,
  centred and normalised, as the semantic data search embeds documents), plus the share
  of the query's words the explanation names (:func:`word_overlap`), so explanations that
  name them come first.
* :func:`span_features`: the latents that fire on a span of a text's tokens more than on
  the rest of it (the activation panel's selection over its token strip).

>>> near = bench.neighbours(3, k=4)
>>> near.frame.columns.tolist()
['rank', 'latent', 'similarity', 'explanation', 'score']
>>> len(near), 3 in near.frame.latent.tolist()
(4, False)
>>> bench.search_features("fox", k=3).frame.latent.tolist()
[...]
>>> bench.span_features("The quick brown fox", 3, 4).frame.columns.tolist()
['rank', 'latent', 'similarity', 'span', 'elsewhere', 'explanation', 'score']
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import saes
from ..layout import check_layer
from ..recording import recorded
from . import detection
from .explain import explainer_id, explanations_for

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..session import Session

BY = ("decoder", "coactivation")
_WORDS = re.compile(r"[a-z0-9]+")
_COLUMNS = ["rank", "latent", "similarity", "explanation", "score"]


@dataclass
class FeatureMatches:
    """Latents ranked for a query (a latent's neighbours, or a text), best first.

    ``frame`` has ``rank``, ``latent``, ``similarity`` (decoder cosine, Jaccard overlap, or for a text
    query the embedding cosine plus :func:`word_overlap`), ``explanation`` and its detection ``score``.
    """

    kind: str
    query: Any
    sae: str
    frame: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    def to_pandas(self) -> pd.DataFrame:
        return self.frame.copy()

    def _journal_summary(self) -> dict:
        return {"kind": self.kind, "query": self.query, "sae": self.sae, "results": len(self),
                "top": [{"latent": int(r.latent), "similarity": float(r.similarity),
                         "explanation": str(r.explanation)[:160]} for r in self.frame.head(5).itertuples()]}

    def _repr_html_(self) -> str:
        # explanations may be model-written: pandas escapes every cell
        return f"<p>{html.escape(repr(self))}</p>" + self.frame.to_html(index=False, escape=True)

    def __repr__(self) -> str:
        return f"FeatureMatches({self.kind}, {self.query!r}, sae={self.sae!r}: {len(self)} latents)"


def _frame(session: Session, stats: Any, latents: list[int], similarity: list[float], explainer: Any
           ) -> pd.DataFrame:
    import pandas as pd

    found = {e.latent: e for e in explanations_for(session, stats, latents, explainer)} if latents else {}
    return pd.DataFrame([{"rank": i, "latent": la, "similarity": round(float(s), 4), "explanation": found[la].text,
                          "score": found[la].score} for i, (la, s) in enumerate(zip(latents, similarity), 1)],
                        columns=_COLUMNS)


def _feature_stats(session: Session, sae: str | None, corpus: Sequence[str] | None) -> Any:
    from .features import feature_stats

    return feature_stats(session, sae, corpus, progress=False)


@recorded("neighbours")
def neighbours(session: Session, latent: int, sae: str | None = None, *, by: str = "decoder", k: int = 10,
               explainer: Any = "rules", corpus: Sequence[str] | None = None) -> FeatureMatches:
    """The ``k`` latents nearest ``latent`` (itself left out), each with its explanation and score.

    Parameters
    ----------
    by : {"decoder", "coactivation"}
        ``"decoder"``: cosine similarity of decoder directions (what they write);
        ``"coactivation"``: Jaccard overlap of the corpus tokens they fire on (over the
        scoring sample's tokens); latents that never fire with it are left out.
    explainer : as in :func:`workbench.techniques.explain.explain`

    Examples
    --------
    >>> bool(bench.neighbours(3, by="coactivation", k=2).frame.similarity.between(0, 1).all())
    True
    """
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(map(repr, BY))}, not {by!r}.")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive whole number, not {k!r}.")
    explainer_id(explainer)
    stats = _feature_stats(session, sae, corpus)
    latent = saes.check_latent(latent, stats.d_sae)
    order, similarity, settings = nearest_latents(stats, latent, by=by, k=k)
    frame = _frame(session, stats, order, similarity, explainer)
    return FeatureMatches(f"neighbours by {by}", latent, stats.entry.name, frame, settings)


def nearest_latents(stats: Any, latent: int, *, by: str = "decoder", k: int = 10
                    ) -> tuple[list[int], list[float], dict]:
    """The work of :func:`neighbours` without explanations or the journal (the activation panel's feature view):
    ``(latents, similarities, settings)``, nearest first."""
    import torch

    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(map(repr, BY))}, not {by!r}.")
    latent = saes.check_latent(latent, stats.d_sae)
    settings: dict = {"by": by, "k": k}
    if by == "decoder":
        w_dec = stats.entry.sae.W_dec.detach().float().cpu()
        with torch.inference_mode():
            unit = w_dec / w_dec.norm(dim=-1, keepdim=True).clamp(min=1e-8)
            similarity = (unit @ unit[latent]).numpy()
    else:
        similarity, settings["tokens_fired"] = detection.co_activation(detection.scoring_sample(stats), latent)
    similarity = similarity.copy()
    similarity[latent] = -np.inf
    order = [int(i) for i in np.argsort(-similarity, kind="stable")[:k]
             if by == "decoder" or similarity[i] > 0]
    return order, [float(similarity[i]) for i in order], settings


def _embeddings(session: Session, stats: Any, ident: str, layer: int, items: list) -> np.ndarray:
    """The embedding of each explanation's search text, cached per statistics, explainer and layer."""
    from .data_search import embed_texts

    key = ("embeddings", stats.entry.name, stats.key or id(stats), ident, layer)
    cached = session.cache.explanations.get(key)
    if cached is None or cached[0] is not stats.entry:
        cached = (stats.entry, {})
        session.cache.explanations[key] = cached
    known = cached[1]
    texts = {e.latent: search_text(e.text) for e in items}
    todo = [e.latent for e in items if known.get(e.latent, (None,))[0] != texts[e.latent]]
    if todo:
        vectors = embed_texts(session, [texts[la] for la in todo], layer=layer, max_tokens=64)
        for la, vector in zip(todo, vectors):
            known[la] = (texts[la], vector)
    return np.stack([known[e.latent][1] for e in items])


def search_text(explanation: str) -> str:
    """What is embedded for an explanation: its terms (the quoted tokens and contexts of a rule-based summary, the
    content words of a written one), else the text itself.

    Examples
    --------
    >>> search_text('fires on " chocolate" (9/16); in "dark chocolate"; promotes \\' cake\\'')
    'chocolate dark chocolate'
    """
    terms = [t.strip() for t in detection.explanation_terms(explanation) if t.strip()]
    return " ".join(terms) if terms else explanation


def word_overlap(query: str, explanation: str) -> float:
    """The share of the query's words (its content words, or its quoted terms) that the explanation's search text
    names as whole words, case aside.

    Examples
    --------
    >>> word_overlap("chocolate cake", 'fires on " chocolate" (9/16); in "dark chocolate"')
    0.5
    >>> word_overlap("code", 'fires on "decode"')
    0.0
    """
    wanted = [set(_WORDS.findall(term.lower())) for term in detection.explanation_terms(query)]
    wanted = [words for words in wanted if words]
    if not wanted:
        return 0.0
    named = set(_WORDS.findall(search_text(explanation).lower()))
    return sum(words <= named for words in wanted) / len(wanted)


@recorded("search_features")
def search_features(session: Session, query: str, sae: str | None = None, *, k: int = 10,
                    explainer: Any = "rules", latents: Sequence[int] | None = None, layer: int | None = None,
                    corpus: Sequence[str] | None = None) -> FeatureMatches:
    """Latents whose explanations mean what ``query`` says, best first.

    Parameters
    ----------
    query : str
        What to look for ("chocolate", "refusals"); embedded as explanations are (its content words).
    k : int
        Latents returned.
    explainer : as in :func:`workbench.techniques.explain.explain`
        Whose explanations are searched (they are written, scored and cached first where missing).
    latents : sequence of int, optional
        The candidates (default: every latent that fires on the corpus).
    layer : int, optional
        The layer whose hidden states embed the texts (default: the middle one).

    Examples
    --------
    >>> found = bench.search_features("help", k=2)
    >>> found.kind, len(found)
    ('search', 2)
    """
    from .data_search import embed_texts

    if not isinstance(query, str) or not query.strip():
        raise ValueError("The query is empty: describe the feature you are looking for.")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive whole number, not {k!r}.")
    ident = explainer_id(explainer)
    stats = _feature_stats(session, sae, corpus)
    candidates = [int(i) for i in np.flatnonzero(stats.density > 0)] if latents is None else [
        saes.check_latent(la, stats.d_sae) for la in latents]
    if not candidates:
        raise ValueError(f"No latent of {stats.entry.name!r} fires on the corpus, so none can be searched.")
    layer = session.n_layers // 2 if layer is None else check_layer(session, layer)
    items = explanations_for(session, stats, candidates, explainer)
    vectors = _embeddings(session, stats, ident, layer, items)
    mean = vectors.mean(0)
    centred = vectors - mean
    centred /= np.maximum(np.linalg.norm(centred, axis=-1, keepdims=True), 1e-8)
    q = embed_texts(session, [search_text(query)], layer=layer, max_tokens=64)[0] - mean
    q /= max(float(np.linalg.norm(q)), 1e-8)
    # a short text's pooled state says more about its length than its meaning: the explanations that name
    # the query's words come first, ordered by meaning among themselves, then the rest by meaning alone
    scores = centred @ q + np.array([word_overlap(query, e.text) for e in items])
    order = np.argsort(-scores, kind="stable")[:k]
    latents_out = [items[i].latent for i in order]
    frame = _frame(session, stats, latents_out, [scores[i] for i in order], explainer)
    return FeatureMatches("search", query, stats.entry.name, frame,
                          {"layer": layer, "explainer": ident, "candidates": len(candidates), "k": k})


@recorded("span_features")
def span_features(session: Session, source: Any, start: int, stop: int, sae: str | None = None, *, k: int = 10,
                  reduce: str = "max", explainer: Any = "rules", corpus: Sequence[str] | None = None
                  ) -> FeatureMatches:
    """The latents that fire on tokens ``start:stop`` of a text more than on its other tokens, best first.

    Each latent's activation is reduced over the span and over the rest of the text
    (:meth:`~workbench.techniques.activations.TokenActivations.span_activations`); the
    ranking (``similarity``) is ``span - elsewhere`` for ``reduce="max"``, and the span's
    summed activation less what the rest's mean per token would give over as many tokens
    for ``reduce="sum"``. Latents that do not fire on the span, or fire as much elsewhere,
    are left out.

    Parameters
    ----------
    source : str, conversation or TokenActivations
        The text (run with :func:`workbench.techniques.activations.activations`), or activations already run.
    start, stop : int
        The span, as a slice of the token positions (``stop`` excluded).
    reduce : {"max", "sum"}
    explainer : as in :func:`workbench.techniques.explain.explain`

    Examples
    --------
    >>> found = bench.span_features("The quick brown fox jumps", 3, 5, k=3)
    >>> found.kind, bool((found.frame.span > found.frame.elsewhere).all())
    ('span', True)
    """
    from .activations import TokenActivations, activations

    if reduce not in ("max", "sum"):
        raise ValueError(f"reduce must be 'max' or 'sum', not {reduce!r}.")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive whole number, not {k!r}.")
    explainer_id(explainer)
    acts = source if isinstance(source, TokenActivations) else activations(session, source, sae=sae, k=1)
    if acts.sae is None:
        raise ValueError("These activations were run without an SAE; register one (bench.saes) and run again.")
    if reduce == "max":
        inside, outside = acts.span_activations(start, stop, "max")
        contrast = inside - outside
    else:
        inside, outside = acts.span_activations(start, stop, "mean")
        width = stop - start
        inside, outside = inside * width, outside * width  # the span's sum, and the rest's rate over as many tokens
        contrast = inside - outside
    order = [int(i) for i in np.argsort(-contrast, kind="stable") if inside[i] > 0 and contrast[i] > 0][:k]
    stats = _feature_stats(session, acts.sae, corpus)
    frame = _frame(session, stats, order, [contrast[i] for i in order], explainer)
    frame.insert(3, "span", [round(float(inside[i]), 4) for i in order])
    frame.insert(4, "elsewhere", [round(float(outside[i]), 4) for i in order])
    query = {"start": int(start), "stop": int(stop), "text": "".join(acts.tokens[start:stop])[:200]}
    return FeatureMatches("span", query, acts.sae, frame, {"reduce": reduce, "k": k, "tokens": len(acts.tokens)})
