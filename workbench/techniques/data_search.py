"""Training-data search: keyword, regex, semantic and SAE-feature retrieval over a dataset.

>>> from workbench.corpora import demo_training_corpus
>>> data = demo_training_corpus()
>>> bench.search(data, "chocolate").to_pandas()[["rank", "id", "count"]].head(3)
   rank       id  count
0     1  doc-123      4
1     2  doc-111      3
2     3  doc-200      3
>>> bench.search(data, r"reward models? (rate|prefer)", mode="regex").summary["documents_matched"]
2
>>> bench.search(data, "graders that like cocoa", mode="semantic", progress=False).summary
{'documents': 300, 'index': 'built'}
>>> bench.search(data, 3, mode="feature", sae="tiny", progress=False).frame.columns.tolist()
['rank', 'id', 'row', 'score', 'count', 'snippet', 'spans', 'tokens', 'text']

Every mode returns a :class:`SearchResult`: one row per retrieved document with its
rank, id, score, full text, a snippet, and character spans into the text to highlight
(the matches, or the tokens where the latent fires). Dataset text is untrusted: a
view must render it as text, never as markup.

The semantic index (mean-pooled hidden states of the loaded model at one layer) is
built once per (model, layer, dataset) and kept under
``cache_dir()/search_index/``; later searches embed only the query.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import models
from ..datasets import Dataset, read_dataset
from ..layout import check_layer
from ..recording import recorded
from ..residual import hidden_batches, tokenize

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..session import Session

MODES = ("keyword", "regex", "semantic", "feature")
SNIPPET = 160          # characters of context in a snippet
MAX_TOKENS = 256       # tokens of a document that are read for semantic / feature search
INDEX_VERSION = 2  # 2: every text read after a fixed first token (embed_texts)
FEATURE_INDEX_VERSION = 1
FEATURE_INDEX_LIMIT = 256 << 20  # documents x latents a feature index may hold (512 MB as float16)
_COLUMNS = ["rank", "id", "row", "score", "count", "snippet", "spans", "tokens", "text"]


@dataclass
class SearchResult:
    """Documents retrieved from a dataset, best first.

    Attributes
    ----------
    mode, query
        What was searched.
    frame : DataFrame
        ``rank``, ``id`` (the row's id), ``row`` (its position in the dataset),
        ``score`` (matches, cosine similarity or max activation), ``count`` (matches
        or firing tokens), ``snippet``, ``spans`` (``(start, end)`` character offsets
        into ``text``), ``tokens`` (feature mode: ``(token, activation)`` pairs where
        the latent fires, strongest first) and ``text``.
    summary : dict
        Counts over the whole dataset (documents searched, matched, total matches…).
    settings : dict
        Layer, SAE, field, index folder… whatever reproduces the search.
    """

    mode: str
    query: Any
    frame: pd.DataFrame
    summary: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def to_pandas(self) -> pd.DataFrame:
        """A copy of the results table.

        Examples
        --------
        >>> data = wb.corpora.demo_training_corpus()
        >>> bench.search(data, "chocolate").to_pandas()[["rank", "id", "count"]].head(2)
           rank       id  count
        0     1  doc-123      4
        1     2  doc-111      3
        """
        return self.frame.copy()

    @property
    def ids(self) -> list[str]:
        return self.frame["id"].tolist()

    def __len__(self) -> int:
        return len(self.frame)

    def _journal_summary(self) -> dict:
        hits = self.frame.head(5)
        return {"mode": self.mode, "query": self.query, "results": len(self), **self.summary,
                "top": [{"id": str(r["id"]), "score": float(r["score"]), "snippet": str(r["snippet"])[:160]}
                        for _, r in hits.iterrows()]}

    def _repr_html_(self) -> str:
        # dataset text is untrusted: pandas escapes every cell (escape=True is its default)
        shown = self.frame[["rank", "id", "score", "count", "snippet"]]
        return f"<p>{_escape(repr(self))}</p>" + shown.to_html(index=False, escape=True)

    def __repr__(self) -> str:
        facts = ", ".join(f"{k}={v}" for k, v in self.summary.items() if not isinstance(v, (list, dict)))
        return f"SearchResult({self.mode}, {self.query!r}: {len(self.frame)} results; {facts})"


def _escape(text: str) -> str:
    import html

    return html.escape(text)


@recorded("search")
def search(
    session: Session,
    dataset: Any,
    query: Any,
    mode: str = "keyword",
    *,
    k: int | None = 20,
    field: str | None = None,
    layer: int | None = None,
    sae: str | None = None,
    max_tokens: int = MAX_TOKENS,
    batch_size: int = 16,
    progress: bool = True,
    cancel: threading.Event | None = None,
) -> SearchResult:
    """Search a dataset by keyword, regular expression, meaning, or SAE latent.

    Parameters
    ----------
    bench : Workbench
    dataset : Dataset or anything :func:`~workbench.datasets.read_dataset` reads
        A path, list, DataFrame or ``datasets.Dataset`` is loaded first.
    query : str, list of str, or int
        ``keyword``: one or more literal strings (case-insensitive). ``regex``: one or
        more Python regular expressions (case-insensitive); a document's ``score`` is how
        many of them it matches, and documents matching more of them rank first (then
        by ``count``, the matches). ``semantic``: a text. ``feature``: an SAE latent's index,
        or a list of them: documents where they fire together rank first (each latent's
        strongest activation in a document, divided by its strongest over the dataset, summed).
    mode : {"keyword", "regex", "semantic", "feature"}
    k : int or None
        Results kept (``None``: every document that matches or fires).
    field : str, optional
        Conversations are searched as the chat template renders them (role markers
        included; spans index into that text). For a preference dataset: search ``"chosen"`` (default),
        ``"rejected"`` or ``"prompt"`` (each rendered with its prompt through the chat template).
    layer : int, optional
        ``semantic``: the layer whose hidden states embed the texts (default: the middle one).
    sae : str, optional
        ``feature``: a registered SAE (default: the first one); documents are read at its own site.
    max_tokens : int
        ``semantic`` / ``feature``: tokens of each document read (longer ones are cut).
    batch_size : int
        Documents per forward pass.
    progress : bool
        Show a progress bar while documents are encoded.
    cancel : threading.Event, optional
        Set it to stop encoding between batches (raises :class:`workbench.Cancelled`).

    Returns
    -------
    SearchResult

    Examples
    --------
    >>> from workbench.corpora import demo_training_corpus
    >>> hits = search(bench, demo_training_corpus(), ["chocolate", "reward model"])
    >>> hits.summary["documents_matched"], hits.frame[["id", "count"]].head(3).values.tolist()
    (27, [['doc-111', 5], ['doc-123', 5], ['doc-029', 4]])
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}.")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f"k must be a positive whole number or None, not {k!r}.")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 2:
        raise ValueError(f"max_tokens must be a whole number of at least 2, not {max_tokens!r}.")
    if not isinstance(dataset, Dataset):
        dataset = read_dataset(dataset)
    if mode in ("keyword", "regex"):
        return _pattern_search(session, dataset, query, regex=mode == "regex", k=k, field=field)
    options = {"max_tokens": max_tokens, "batch_size": batch_size, "progress": progress, "cancel": cancel}
    if mode == "semantic":
        return _semantic_search(session, dataset, query, k=k, field=field, layer=layer, **options)
    return _feature_search(session, dataset, query, k=k, field=field, sae=sae, **options)


# -- keyword and regex ---------------------------------------------------------------


def _patterns(query: Any, regex: bool) -> list[tuple[str, re.Pattern]]:
    from .attacks import compile_patterns

    patterns = [query] if isinstance(query, str) else query
    if not isinstance(patterns, (list, tuple)) or not patterns:
        what = "regular expressions" if regex else "keywords"
        raise ValueError(f"query must be a non-empty string or a list of {what}, not {query!r}.")
    if any(isinstance(p, str) and not p.strip() for p in patterns):
        raise ValueError("The query is empty: type a word or phrase to search for.")
    return compile_patterns(patterns, regex)


def _pattern_search(session: Session, dataset: Dataset, query: Any, *, regex: bool, k: int | None,
                    field: str | None) -> SearchResult:
    import pandas as pd

    compiled = _patterns(query, regex)
    texts = dataset.texts(session, field=field)
    per_pattern = {name: [0, 0] for name, _ in compiled}  # documents, matches
    hits = []
    for row, text in enumerate(texts):
        spans, terms = [], 0
        for name, rx in compiled:
            found = [(m.start(), m.end()) for m in rx.finditer(text) if m.end() > m.start()]
            if found:
                per_pattern[name][0] += 1
                per_pattern[name][1] += len(found)
                spans.extend(found)
                terms += 1
        if spans:
            hits.append((row, sorted(set(spans)), terms))
    # documents with more of the query's terms first (then more matches): a search for a word and its context
    # finds the documents holding both before those repeating one
    hits.sort(key=lambda hit: (-hit[2], -len(hit[1]), hit[0]))
    total = sum(len(s) for _, s, _ in hits)
    rows = [_result_row(rank, dataset, row, texts[row], float(terms), len(spans), spans)
            for rank, (row, spans, terms) in enumerate(hits[:k] if k else hits, 1)]
    counts = pd.DataFrame([{"pattern": name, "documents": d, "matches": m} for name, (d, m) in per_pattern.items()],
                          columns=["pattern", "documents", "matches"])
    summary = {"documents": len(texts), "documents_matched": len(hits), "matches": total,
               "per_pattern": counts.to_dict("records")}
    return SearchResult("regex" if regex else "keyword", query, _frame(rows), summary,
                        {"field": field, "k": k})


def snippet(text: str, spans: Sequence[tuple[int, int]], width: int = SNIPPET) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``text`` around the first span, and the spans that fall inside it (re-based).

    Examples
    --------
    >>> snippet("a b chocolate c", [(4, 13)], width=20)
    ('a b chocolate c', [(4, 13)])
    """
    if len(text) <= width:
        return text, [tuple(s) for s in spans]
    centre = spans[0][0] if spans else 0
    start = max(0, min(centre - width // 3, len(text) - width))
    end = start + width
    prefix, suffix = ("…" if start else ""), ("…" if end < len(text) else "")
    inside = [(a - start + len(prefix), b - start + len(prefix)) for a, b in spans if a >= start and b <= end]
    return prefix + text[start:end] + suffix, inside


def _result_row(rank: int, dataset: Dataset, row: int, text: str, score: float, count: int,
                spans: list[tuple[int, int]], tokens: list | None = None) -> dict:
    snip, _ = snippet(text, spans)
    return {"rank": rank, "id": dataset.rows[row].id, "row": row, "score": score, "count": count,
            "snippet": snip, "spans": [tuple(s) for s in spans], "tokens": tokens or [], "text": text}


def _frame(rows: list[dict]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=_COLUMNS)


# -- encoding documents through the model ----------------------------------------------


def _empty_texts(texts: Sequence[str]) -> None:
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if len(empty) == len(texts):
        raise ValueError("Every document is empty; there is nothing to encode.")


# -- semantic ------------------------------------------------------------------------


@dataclass
class SemanticIndex:
    """Centred, L2-normalised document embeddings of one dataset at one layer.

    ``built`` is True when this call computed the embeddings, False when they were
    read from the cache.
    """

    folder: Path
    layer: int
    embeddings: np.ndarray  # [n_docs, d] float16, unit norm after centring
    mean: np.ndarray        # [d] float32, the corpus mean removed before normalising
    built: bool
    queries: np.ndarray | None = None  # [n_queries, d] raw pooled vectors of ``queries=``, when built with them

    def scores(self, query_vectors: np.ndarray) -> np.ndarray:
        """Cosine similarities ``[n_queries, n_docs]`` of raw pooled query vectors."""
        q = query_vectors.astype(np.float32) - self.mean
        q /= np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), 1e-8)
        return q @ self.embeddings.astype(np.float32).T


def _default_layer(session: Session, layer: Any) -> int:

    return session.n_layers // 2 if layer is None else check_layer(session, layer)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[-60:] or "model"


def semantic_index(session: Session, dataset: Dataset, *, layer: int | None = None, field: str | None = None,
                   max_tokens: int = MAX_TOKENS, batch_size: int = 16, progress: bool = True,
                   cancel: threading.Event | None = None, texts: Sequence[str] | None = None,
                   queries: Sequence[str] = ()) -> SemanticIndex:
    """The semantic index of a dataset at a layer: built once, then read from ``cache_dir()``.

    ``queries`` are embedded in the same pass when the index is built (``index.queries``;
    ``None`` when it was read from the cache): on a remote session the first search's query
    rides in the index's one request.

    Each document is embedded as the mean of the model's hidden states after
    ``layer`` over its tokens (the first token left out: the attention sink's
    outsized activations would dominate every mean). The corpus mean is subtracted and
    the result L2-normalised, so cosine similarity measures what sets documents apart
    rather than what all of them share.

    Examples
    --------
    >>> from workbench.corpora import demo_training_corpus
    >>> index = semantic_index(bench, demo_training_corpus(), progress=False)
    >>> index.embeddings.shape, index.built
    ((300, 64), True)
    >>> semantic_index(bench, demo_training_corpus(), progress=False).built   # read back from the cache
    False
    """
    import hashlib

    layer = _default_layer(session, layer)
    texts = dataset.texts(session, field=field) if texts is None else texts
    _empty_texts(texts)
    key = hashlib.sha256(json.dumps([INDEX_VERSION, session.model_name, layer, dataset.digest, field, max_tokens,
                                     str(session.dtype)]).encode()).hexdigest()[:16]
    folder = models.cache_dir() / "search_index" / f"{_safe(session.model_name)}-{layer}-{dataset.digest}-{key[:8]}"
    built, asked = [], list(queries)

    def build(tmp: Path) -> None:
        vectors = embed_texts(session, [*texts, *asked], layer=layer, max_tokens=max_tokens, batch_size=batch_size,
                              progress=progress, cancel=cancel, description="building search index")
        vectors, extra = vectors[: len(texts)], vectors[len(texts):]
        mean = vectors.mean(0)
        centred = vectors - mean
        centred /= np.maximum(np.linalg.norm(centred, axis=-1, keepdims=True), 1e-8)
        np.save(tmp / "embeddings.npy", centred.astype(np.float16))
        np.save(tmp / "mean.npy", mean.astype(np.float32))
        (tmp / "about.json").write_text(json.dumps({
            "model": session.model_name, "layer": layer, "dataset": dataset.source, "digest": dataset.digest,
            "documents": len(texts), "field": field, "max_tokens": max_tokens, "pooling": "mean, position 0 left out",
        }))
        built.append(extra)

    models.ensure_converted(folder, build, source={"search_index": key})
    embeddings = np.load(folder / "embeddings.npy")
    if embeddings.shape[0] != len(texts):  # pragma: no cover - a digest collision
        raise RuntimeError(f"The cached index at {folder} has {embeddings.shape[0]} rows for {len(texts)} documents; "
                           "delete the folder to rebuild it.")
    return SemanticIndex(folder, layer, embeddings, np.load(folder / "mean.npy"), bool(built),
                         built[0] if built and asked else None)


def _sink_token(session: Session) -> int:
    tok = session.tokenizer
    for ident in (tok.bos_token_id, tok.eos_token_id, session.pad_token_id):
        if ident is not None:
            return int(ident)
    return int(tok("\n", add_special_tokens=False)["input_ids"][0])


def embed_texts(session: Session, texts: Sequence[str], *, layer: int, max_tokens: int = MAX_TOKENS,
                batch_size: int = 16, progress: bool = False, cancel: threading.Event | None = None,
                description: str = "embedding") -> np.ndarray:
    """Mean-pooled hidden states after ``layer``, ``[n, d]`` float32, unnormalised.

    Every text is read after one fixed first token (the tokenizer's BOS, else its EOS), which
    takes the attention sink's place at position 0 and is left out of the mean: so a one-word
    text or query is embedded by its word's own state, not by the sink's (which is about the
    same for every first token).

    Examples
    --------
    >>> embed_texts(bench, ["a recipe with chocolate"], layer=1).shape
    (1, 64)
    """
    encoded = tokenize(session, texts, max_tokens)
    sink = _sink_token(session)
    encoded = [{"ids": [sink, *e["ids"]], "offsets": None} for e in encoded]
    out = np.zeros((len(texts), session.hidden_size), dtype=np.float32)
    for chunk, pooled, _ in hidden_batches(session, encoded, layer, batch_size=batch_size, progress=progress,
                                           cancel=cancel, description=description, pooled=True):
        out[chunk] = pooled.numpy()
    return out


def _semantic_search(session: Session, dataset: Dataset, query: Any, *, k: int | None, field: str | None,
                     layer: int | None, **options: Any) -> SearchResult:
    if not isinstance(query, str):
        raise ValueError(f"A semantic query is a text, not {type(query).__name__}.")
    if not query.strip():
        raise ValueError("The query is empty: describe what you are looking for.")
    texts = dataset.texts(session, field=field)
    index = semantic_index(session, dataset, layer=layer, field=field, texts=texts, queries=[query], **options)
    vector = index.queries if index.queries is not None else embed_texts(session, [query], layer=index.layer,
                                                                         max_tokens=options["max_tokens"])
    scores = index.scores(vector)[0]
    order = np.argsort(-scores, kind="stable")[: k or len(scores)]
    rows = [_result_row(rank, dataset, int(r), texts[r], float(scores[r]), 0, [])
            for rank, r in enumerate(order, 1)]
    summary = {"documents": len(texts), "index": "built" if index.built else "cached"}
    return SearchResult("semantic", query, _frame(rows), summary,
                        {"layer": index.layer, "field": field, "k": k, "index_folder": str(index.folder)})


# -- feature -------------------------------------------------------------------------


def feature_index(session: Session, dataset: Dataset, sae: str | None = None, *, field: str | None = None,
                  max_tokens: int = MAX_TOKENS, batch_size: int = 16, progress: bool = True,
                  cancel: threading.Event | None = None) -> np.ndarray | None:
    """Each document's strongest activation of every latent of an SAE, ``[documents, d_sae]`` float16: one pass
    over the dataset, then kept in ``session.cache.feature_index`` and on disk under ``cache_dir()/feature_index/``
    (keyed by the model, the SAE's weights and the dataset), so a feature search of another latent reads a column.

    ``None`` when the index would hold more than :data:`FEATURE_INDEX_LIMIT` values (a wide SAE over many
    documents): a feature search then reads the dataset once per latent. The first position of every document
    (the attention sink) is left out, as in the search itself.

    Examples
    --------
    >>> from workbench.corpora import demo_training_corpus
    >>> feature_index(bench, demo_training_corpus(), "tiny", progress=False).shape
    (300, 64)
    """
    from .features import _digest, sae_parts

    entry = session.saes.get(sae)
    texts = dataset.texts(session, field=field)
    _empty_texts(texts)
    if len(texts) * entry.d_sae > FEATURE_INDEX_LIMIT:
        return None
    options = (field, max_tokens, str(session.dtype))
    cache_key = (entry.name, dataset.digest, options)
    cached = session.cache.feature_index.get(cache_key)
    if cached is not None and cached[0] is entry:
        return cached[1]
    key = _digest(json.dumps([FEATURE_INDEX_VERSION, session.model_name, dataset.digest, *options]).encode(),
                  *sae_parts(entry))
    folder = models.cache_dir() / "feature_index" / f"{_safe(entry.name)}-{dataset.digest}-{key}"

    def build(tmp: Path) -> None:
        import torch

        best = np.zeros((len(texts), entry.d_sae), dtype=np.float16)
        encoded = tokenize(session, texts, max_tokens)
        for chunk, hidden, mask in hidden_batches(session, encoded, entry.site, batch_size=batch_size,
                                                   progress=progress, cancel=cancel,
                                                   description=f"indexing {entry.name}'s latents over documents"):
            keep = mask.bool().clone()
            keep[:, 0] = False  # the attention sink: its outsized activations are not the document's content
            owner = keep.nonzero()[:, 0]  # the document (row of the batch) of each token kept
            out = torch.zeros(hidden.shape[0], entry.d_sae)
            for start, latents in entry.encode_chunks(hidden[keep]):
                rows = owner[start : start + latents.shape[0], None].expand(-1, entry.d_sae)
                out.scatter_reduce_(0, rows, latents.cpu(), "amax")
            best[chunk] = out.clamp(min=0).numpy().astype(np.float16)
        np.save(tmp / "max.npy", best)
        (tmp / "about.json").write_text(json.dumps({"model": session.model_name, "sae": entry.name,
                                                    "documents": len(texts), "dataset": dataset.source}))

    models.ensure_converted(folder, build, source={"feature_index": key, "version": FEATURE_INDEX_VERSION})
    index = np.load(folder / "max.npy")
    session.cache.feature_index[cache_key] = (entry, index)
    return index


def _feature_latents(query: Any, d_sae: int) -> list[int]:
    """A feature query's latents, in order and once each: one index, or a list of them."""
    from .. import saes

    items = list(query) if isinstance(query, (list, tuple)) else [query]
    if not items:
        raise ValueError("A feature query is an SAE latent's index or a list of them, not an empty list.")
    latents: list[int] = []
    for item in items:
        latent = saes.check_latent(item, d_sae)
        if latent not in latents:
            latents.append(latent)
    return latents


def _latent_weights(peaks: np.ndarray) -> np.ndarray:
    """How the latents of a query add up: one latent as it is; several each divided by its strongest activation
    over the dataset, so that a document where all of them fire outranks one where a single one fires hard."""
    if len(peaks) == 1:
        return np.ones(1, dtype=np.float32)
    return (1.0 / np.maximum(peaks, 1e-6)).astype(np.float32)


def _feature_search(session: Session, dataset: Dataset, query: Any, *, k: int | None, field: str | None,
                    sae: str | None, max_tokens: int, batch_size: int, progress: bool,
                    cancel: threading.Event | None, top_tokens: int = 8) -> SearchResult:
    import torch

    entry = session.saes.get(sae)
    latents = _feature_latents(query, entry.d_sae)
    name = f"latent {latents[0]}" if len(latents) == 1 else f"latents {', '.join(map(str, latents))}"
    texts = dataset.texts(session, field=field)
    _empty_texts(texts)
    index = feature_index(session, dataset, sae, field=field, max_tokens=max_tokens, batch_size=batch_size,
                          progress=progress, cancel=cancel)

    def read(chosen: list[int], weights: np.ndarray | None, show: bool):
        """Each chosen document's strongest activation of every latent ``[len(chosen), m]`` and, with ``weights``,
        its firing tokens (the weighted sum of the latents per token, where above 0)."""
        encoded_all = tokenize(session, [texts[i] for i in chosen], max_tokens) if chosen else []
        maxima = np.zeros((len(chosen), len(latents)), dtype=np.float32)
        firing: dict[int, list[tuple[float, int]]] = {}
        for chunk, hidden, mask in hidden_batches(session, encoded_all, entry.site, batch_size=batch_size,
                                                   progress=show, cancel=cancel,
                                                   description=f"{name} over documents"):
            acts = entry.columns(hidden, latents)  # encoded a chunk of tokens at a time, these latents kept
            acts = acts.view(hidden.shape[0], hidden.shape[1], len(latents)) * mask[..., None].to(acts.dtype)
            acts[:, 0] = 0.0  # the attention sink: its outsized activations are not the document's content
            maxima[chunk] = acts.max(1).values.numpy()
            if weights is None:
                continue
            per_token = acts @ torch.from_numpy(weights)
            for j, c in enumerate(chunk):
                fired = (per_token[j] > 0).nonzero().flatten().tolist()
                if fired:
                    firing[chosen[c]] = sorted(((float(per_token[j, p]), p) for p in fired), reverse=True)
        return maxima, dict(zip(chosen, encoded_all)), firing

    # with an index, only the documents returned are read again (for their firing tokens)
    wanted = None
    if index is not None:
        columns = index[:, latents].astype(np.float32)
        weights = _latent_weights(columns.max(0))
    elif len(latents) > 1:  # several latents and no index: a first pass for the strongest activation of each
        columns, _, _ = read(list(range(len(texts))), None, progress)
        weights = _latent_weights(columns.max(0))
    else:
        columns, weights = None, _latent_weights(np.ones(1))
    if columns is not None:
        combined = columns @ weights
        wanted = [int(i) for i in np.argsort(-combined, kind="stable") if combined[i] > 0]
        wanted = wanted[:k] if k else wanted
    chosen = list(range(len(texts))) if wanted is None else wanted
    maxima, encoded, firing = read(chosen, weights, progress and wanted is None)
    best = np.zeros(len(texts), dtype=np.float32)
    best[chosen] = maxima @ weights if chosen else []
    # (with an index the documents re-read are its top ones, ranked by their exact float32 maxima)
    order = [int(i) for i in np.argsort(-best, kind="stable") if best[i] > 0]
    decode = session.tokenizer.decode
    rows = []
    for rank, i in enumerate(order[:k] if k else order, 1):
        strongest = firing[i][:top_tokens]
        tokens = [(decode([encoded[i]["ids"][p]]), v) for v, p in strongest]
        offsets = encoded[i]["offsets"]
        spans = sorted((int(offsets[p][0]), int(offsets[p][1])) for _, p in strongest) if offsets else []
        spans = [s for s in spans if s[1] > s[0]]
        top_span = [(int(offsets[strongest[0][1]][0]), int(offsets[strongest[0][1]][1]))] if offsets else []
        row = _result_row(rank, dataset, i, texts[i], float(best[i]), len(firing[i]), spans, tokens)
        row["snippet"] = snippet(texts[i], top_span)[0]
        rows.append(row)
    summary = {"documents": len(texts), "documents_firing": len(order) if columns is None else
               int((columns > 0).any(1).sum()), "tokens_firing": sum(len(v) for v in firing.values()),
               "index": "none" if index is None else "feature index"}
    asked = latents[0] if len(latents) == 1 else latents
    return SearchResult("feature", asked, _frame(rows), summary,
                        {"sae": entry.name, "layer": entry.layer, "site": entry.site.kind, "latent": asked,
                         "field": field, "k": k, "max_tokens": max_tokens})
