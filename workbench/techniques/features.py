"""Feature statistics of an SAE over a corpus, cached on disk per (model, SAE, corpus).

For every latent: how often it fires (density), a histogram of its nonzero
activations, its top-activating corpus examples with their context windows, a uniform
sample of the tokens it fires on (shown binned by activation quantile), and the output
tokens its decoder direction promotes and suppresses through the unembedding. A token
or phrase can be looked up to the latents it activates most in the corpus. The corpus
is read at the SAE's own site (its input site, for a transcoder) and encoded a chunk
of tokens at a time; what is kept per latent is bounded, whatever the corpus:

* its firing count and a histogram of :data:`HIST_BINS` int32 counts over fixed
  log-spaced bins (:data:`HIST_EDGES`, the same for every latent);
* its :data:`TOP_EXAMPLES` strongest tokens (value and corpus position);
* :data:`SAMPLES` tokens drawn uniformly from those it fires on (bottom-k sampling: every
  firing token gets a seeded uniform random key and the ``SAMPLES`` smallest keys are
  kept, merged chunk by chunk like the top examples), sorted and split into equal-count
  quantile bins on request (:meth:`FeatureStats.quantile_examples`);
* the :data:`PROMOTED` tokens its decoder row raises and lowers most.

That is 692 bytes per latent on disk and in memory (:data:`BYTES_PER_LATENT`; 376 of them for the
histogram, the sample and the suppressed tokens), plus the corpus windows; the pass holds one chunk
(:data:`workbench.saes.CHUNK_ELEMENTS` values) and its random keys, never ``[tokens, d_sae]``.
Co-activation is not kept here: it is counted on request over the scoring sample's tokens
(:func:`workbench.techniques.detection.co_activation`).

>>> stats = bench.feature_stats(progress=False)   # the SAE "tiny" over the shipped corpus
>>> detail = stats.feature(3)
>>> detail.latent, len(detail.promoted), sorted(detail.examples[0])
(3, 10, ['activation', 'after', 'before', 'token'])
>>> stats.lookup("fox").columns.tolist()
['latent', 'mean_activation', 'density', 'occurrences']
>>> counts, edges = stats.activation_histogram(3)
>>> len(counts), len(edges), len(detail.suppressed)
(32, 33, 10)
>>> [sorted(b) for b in detail.quantiles][:1]
[['examples', 'high', 'low', 'quantiles']]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import models, residual, saes
from .._progress import progress_bar
from ..layout import Site

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch

    from ..saes import SAEEntry
    from ..session import Session

TOP_EXAMPLES = 16
PROMOTED = 10
SAMPLES = 16          # firing tokens sampled uniformly per latent (the quantile-binned examples)
HIST_BINS = 32
#: The histogram's bin edges: log-spaced from 0.001 to 1000, 5.3 bins a decade (the tests' tiny SAEs fire near
#: 0.05, the shipped one near 10); the first bin also holds what is below, the last what is above.
HIST_EDGES = np.logspace(-3, 3, HIST_BINS + 1).astype(np.float32)
WINDOW = 64
EXAMPLE_START = 4  # first window position eligible as a top example
STATS_VERSION = 2  # of the cached arrays (names the cache folder): 2 added the histogram, samples and suppressed
#: What the statistics keep per latent, in bytes: density (4), histogram (4 x HIST_BINS), top examples
#: (TOP_EXAMPLES x (4 + 8)), samples (SAMPLES x (4 + 4)), promoted and suppressed tokens (2 x PROMOTED x (8 + 4)).
BYTES_PER_LATENT = 4 + 4 * HIST_BINS + 12 * TOP_EXAMPLES + 8 * SAMPLES + 24 * PROMOTED


@dataclass
class FeatureDetail:
    """What is known about one latent."""

    latent: int
    density: float
    promoted: list[tuple[str, float]]
    examples: list[dict]
    suppressed: list[tuple[str, float]] = field(default_factory=list)
    quantiles: list[dict] = field(default_factory=list)  # see FeatureStats.quantile_examples


class FeatureStats:
    """Per-latent statistics of one SAE over one corpus (see module docstring)."""

    def __init__(self, session: Session, entry: SAEEntry, windows: torch.Tensor,
                 density: np.ndarray, top_values: np.ndarray, top_index: np.ndarray,
                 promoted_ids: np.ndarray, promoted_values: np.ndarray, key: str | None = None, *,
                 histogram: np.ndarray | None = None, sample_values: np.ndarray | None = None,
                 sample_index: np.ndarray | None = None, suppressed_ids: np.ndarray | None = None,
                 suppressed_values: np.ndarray | None = None) -> None:
        self.session, self.entry, self.windows = session, entry, windows
        self.key = key                      # digest of (model, SAE weights, corpus windows): names disk caches
        self.density = density              # [d_sae] fraction of tokens where the latent fires
        self.top_values = top_values        # [TOP_EXAMPLES, d_sae]
        self.top_index = top_index          # [TOP_EXAMPLES, d_sae] flat token index into windows
        self.promoted_ids = promoted_ids    # [d_sae, PROMOTED]
        self.promoted_values = promoted_values
        self.histogram = histogram          # [d_sae, HIST_BINS] int32 counts of nonzero activations over HIST_EDGES
        self.sample_values = sample_values  # [SAMPLES, d_sae] a uniform sample of its firing tokens (0: none)
        self.sample_index = sample_index    # [SAMPLES, d_sae] int32 flat token index into windows
        self.suppressed_ids = suppressed_ids      # [d_sae, PROMOTED] most negative logits first
        self.suppressed_values = suppressed_values

    @property
    def d_sae(self) -> int:
        return int(self.density.shape[0])

    def _check(self, latent: int) -> int:
        return saes.check_latent(latent, self.d_sae)

    def promoted(self, latent: int) -> list[tuple[str, float]]:
        """Output tokens the latent's decoder direction pushes up most (token, logit)."""
        latent = self._check(latent)
        decode = self.session.tokenizer.decode
        return [(decode([int(i)]), round(float(v), 4))
                for i, v in zip(self.promoted_ids[latent], self.promoted_values[latent])]

    def suppressed(self, latent: int) -> list[tuple[str, float]]:
        """Output tokens the latent's decoder direction pushes down most (token, logit), most negative first."""
        latent = self._check(latent)
        if self.suppressed_ids is None:
            return []
        decode = self.session.tokenizer.decode
        return [(decode([int(i)]), round(float(v), 4))
                for i, v in zip(self.suppressed_ids[latent], self.suppressed_values[latent])]

    def _example(self, value: float, flat: int, context: int) -> dict:
        width = self.windows.shape[1]
        row, pos = divmod(int(flat), width)
        ids = self.windows[row].tolist()
        lo, hi = max(0, pos - context), min(width, pos + context + 1)
        decode = self.session.tokenizer.decode
        return {"activation": round(float(value), 4), "before": decode(ids[lo:pos]), "token": decode([ids[pos]]),
                "after": decode(ids[pos + 1 : hi])}

    def examples(self, latent: int, n: int = TOP_EXAMPLES, context: int = 12) -> list[dict]:
        """Top-activating corpus tokens, each with ``context`` tokens either side."""
        latent = self._check(latent)
        out, seen = [], set()
        for value, flat in zip(self.top_values[:, latent], self.top_index[:, latent]):
            if value <= 0 or len(out) == n:
                break
            example = self._example(value, flat, context)
            text = (example["before"], example["token"], example["after"])
            if text not in seen:  # the corpus repeats some passages verbatim
                seen.add(text)
                out.append(example)
        return out

    def quantile_examples(self, latent: int, bins: int = 4, context: int = 12) -> list[dict]:
        """Examples at every strength: the latent's sample of firing tokens, sorted and cut into ``bins``
        equal-count quantile bins, strongest bin first.

        Each bin is ``{"quantiles": (lo, hi), "low": float, "high": float, "examples": [...]}``: the share of
        the sample below and up to it, its activation range, and its examples (as in :meth:`examples`),
        strongest first. Fewer bins when the latent fired on fewer tokens than ``bins``.
        """
        latent = self._check(latent)
        if self.sample_values is None:
            return []
        values = self.sample_values[:, latent]
        keep = np.flatnonzero(values > 0)
        if not len(keep):
            return []
        keep = keep[np.argsort(values[keep], kind="stable")]  # weakest first
        out = []
        n = len(keep)
        for part in np.array_split(np.arange(n), min(bins, n)):
            picked = keep[part][::-1]
            out.append({"quantiles": (round(part[0] / n, 4), round((part[-1] + 1) / n, 4)),
                        "low": round(float(values[picked[-1]]), 4), "high": round(float(values[picked[0]]), 4),
                        "examples": [self._example(values[i], self.sample_index[i, latent], context)
                                     for i in picked]})
        return out[::-1]

    def activation_histogram(self, latent: int) -> tuple[np.ndarray, np.ndarray]:
        """``(counts [HIST_BINS], edges [HIST_BINS + 1])``: how many corpus tokens the latent fires on in each
        log-spaced activation bin (the first bin also counts what is below its edge, the last what is above)."""
        latent = self._check(latent)
        if self.histogram is None:
            return np.zeros(HIST_BINS, np.int32), HIST_EDGES.copy()
        return self.histogram[latent].copy(), HIST_EDGES.copy()

    def feature(self, latent: int) -> FeatureDetail:
        """Density, promoted and suppressed tokens, top examples and quantile-binned examples of one latent."""
        latent = self._check(latent)
        return FeatureDetail(latent, round(float(self.density[latent]), 6), self.promoted(latent),
                             self.examples(latent), self.suppressed(latent), self.quantile_examples(latent))

    def lookup(self, phrase: str, n: int = 10) -> pd.DataFrame:
        """The latents a token or phrase activates most where it occurs in the corpus.

        The activation is read at the phrase's last token, averaged over its
        occurrences; a phrase absent from the corpus is run on its own.
        """
        import pandas as pd
        import torch

        if not isinstance(phrase, str) or not phrase.strip():
            raise ValueError("phrase must be a non-empty string.")
        ids = self.session.tokenizer(phrase, add_special_tokens=False)["input_ids"]
        variants = {tuple(ids)}
        spaced = self.session.tokenizer(" " + phrase.lstrip(), add_special_tokens=False)["input_ids"]
        variants.add(tuple(spaced))
        hits: dict[int, list[int]] = {}
        rows = self.windows.tolist()
        for r, row in enumerate(rows):
            for variant in variants:
                m = len(variant)
                for p in range(1, len(row) - m + 1):  # position 0 is never encoded
                    if tuple(row[p : p + m]) == variant:
                        hits.setdefault(r, []).append(p + m - 1)
        entry = self.entry
        if hits:
            chosen = sorted(hits)[:64]
            acts = self.session.saes.collect(entry.site, self.windows[chosen], progress=False)
            width = self.windows.shape[1] - 1
            picks = [i * width + (p - 1) for i, r in enumerate(chosen) for p in hits[r]]
            latents = sum(chunk.sum(0).cpu() for _, chunk in entry.encode_chunks(acts[picks])) / len(picks)
            occurrences = len(picks)
        else:
            from ..residual import site_outputs

            # run after a short neutral lead-in: a text's first positions are outliers
            lead = self.session.tokenizer("Here is the text: ", add_special_tokens=False)["input_ids"]
            rows = torch.tensor([lead + list(ids)])
            out = site_outputs(self.session, rows, sites=[entry.site])[entry.site]
            latents = entry.encode(out[0, -1:]).mean(0).cpu()
            occurrences = 0
        values, latent_ids = latents.topk(min(n, latents.shape[0]))
        keep = values > 0
        return pd.DataFrame({
            "latent": latent_ids[keep].numpy(),
            "mean_activation": values[keep].numpy(),
            "density": self.density[latent_ids[keep].numpy()],
            "occurrences": occurrences,
        })


def nearest(session: Session, latent: int, *, sae: str | None = None, k: int = 10) -> pd.DataFrame:
    """The latents whose decoder directions are closest to one latent's (cosine similarity), nearest first.

    Latents that write nearly the same direction into the model tend to mean related
    things (or to split one concept); the latent itself is left out.

    Examples
    --------
    >>> near = nearest(bench, 7, k=3)
    >>> near.columns.tolist(), len(near), 7 in near.latent.tolist()
    (['latent', 'cosine'], 3, False)
    """
    import pandas as pd
    import torch

    entry = session.saes.get(sae)
    latent = saes.check_latent(latent, entry.d_sae)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number >= 1, not {k!r}.")
    with torch.inference_mode():
        w_dec = entry.sae.W_dec.detach().float()
        unit = w_dec / w_dec.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        cosine = (unit @ unit[latent]).cpu()
        cosine[latent] = -float("inf")
        values, ids = cosine.topk(min(k, entry.d_sae - 1))
    return pd.DataFrame({"latent": ids.numpy().astype(np.int64), "cosine": values.numpy().astype(np.float64)})


def sae_parts(entry: SAEEntry) -> Iterator[Any]:
    """What identifies an SAE in a cache key, as buffers to hash one after another: its sites (for an SAE off the
    residual stream) and its weights, tensor by tensor, never copied into one byte string (4.8 GB for a 262k
    Gemma SAE)."""
    import torch

    # (an SAE off the residual stream adds its sites, so a residual SAE keeps the key it always had)
    if not entry.site_out == entry.site == Site(entry.layer):
        yield str(entry.site).encode()
        yield str(entry.site_out).encode()
    for _, value in sorted(entry.sae.state_dict().items()):
        yield value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy()


def _digest(*parts: Any) -> str:
    """sha256 (16 hex digits) of byte strings or buffers (numpy arrays), fed one after another, never joined."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()[:16]


def compute(session: Session, entry: SAEEntry, windows: torch.Tensor, *, batch: int = 16,
            progress: bool = True, cancel: Any = None) -> dict[str, np.ndarray]:
    """Density, histogram, top examples, sampled examples, promoted and suppressed tokens of every latent (no
    caching).

    Each batch of windows is read at the SAE's site, then encoded :meth:`~workbench.saes.SAEEntry.encode_chunks`
    rows at a time; a chunk's latents update the firing counts, the histogram, the running top examples
    (``[TOP_EXAMPLES, d_sae]``) and the running sample (``[SAMPLES, d_sae]``, by smallest random key), and are
    dropped. The random keys are seeded, so the same corpus gives the same sample.
    """
    import torch

    d_sae = entry.d_sae
    fired = torch.zeros(d_sae)
    histogram = torch.zeros(d_sae * HIST_BINS, dtype=torch.int32)
    inner_edges = torch.from_numpy(HIST_EDGES[1:-1].copy())
    top_values = torch.zeros(TOP_EXAMPLES, d_sae)
    top_index = torch.full((TOP_EXAMPLES, d_sae), -1, dtype=torch.long)
    sample_keys = torch.zeros(SAMPLES, d_sae)      # 1 - key: the largest are the smallest keys; 0 = empty
    sample_values = torch.zeros(SAMPLES, d_sae)
    sample_index = torch.full((SAMPLES, d_sae), -1, dtype=torch.int32)
    generator = torch.Generator().manual_seed(0)
    width = windows.shape[1]
    total = 0
    bar = progress_bar(progress, windows.shape[0], "feature statistics", unit="window")
    for start in range(0, windows.shape[0], batch):
        chunk = windows[start : start + batch]
        acts = session.saes.collect(entry.site, chunk, batch=batch, cancel=cancel, progress=False)
        # flat index of each encoded token: window row * width + position (position 0 skipped)
        rows = torch.arange(start, start + chunk.shape[0]).repeat_interleave(width - 1)
        positions = torch.arange(1, width).repeat(chunk.shape[0])
        flat = rows * width + positions
        for first, latents in entry.encode_chunks(acts):
            latents = latents.cpu()
            on = latents > 0
            fired += on.sum(0)
            total += latents.shape[0]
            token, latent = on.nonzero(as_tuple=True)
            bins = torch.bucketize(latents[token, latent].contiguous(), inner_edges, right=True)
            histogram.index_add_(0, latent * HIST_BINS + bins, torch.ones_like(bins, dtype=torch.int32))
            here = slice(first, first + latents.shape[0])
            # the first tokens of a window sit next to the attention sink, whose outsized
            # activations would crowd every latent's examples: they count for density and the histogram only
            latents = latents.masked_fill((positions[here] < EXAMPLE_START)[:, None], 0.0)
            # only the latents that fire in this chunk can change their examples or their sample: the merges
            # read those columns alone (a few hundred of a wide SAE's million for a chunk of a few tokens)
            cols = (latents > 0).any(0).nonzero().squeeze(1)
            if not len(cols):
                continue
            fired_part = latents[:, cols]
            _merge_top(top_values, top_index, fired_part, flat[here], cols=cols)
            keys = torch.rand(fired_part.shape, generator=generator).mul_(-1).add_(1).masked_fill_(fired_part <= 0, 0.0)
            _merge_top(sample_keys, sample_index, keys, flat[here].to(torch.int32), fired_part, sample_values,
                       cols=cols)
        bar.update(chunk.shape[0])
    bar.close()
    promoted_values, promoted_ids = promoted_tokens(session, entry.sae.W_dec)
    suppressed_values, suppressed_ids = promoted_tokens(session, entry.sae.W_dec, bottom=True)
    return {
        "density": (fired / max(total, 1)).numpy(),
        "histogram": histogram.view(d_sae, HIST_BINS).numpy(),
        "top_values": top_values.numpy(),
        "top_index": top_index.numpy(),
        "sample_values": sample_values.numpy(),
        "sample_index": sample_index.numpy(),
        "promoted_ids": promoted_ids.numpy().astype(np.int64),
        "promoted_values": promoted_values.numpy(),
        "suppressed_ids": suppressed_ids.numpy().astype(np.int32),
        "suppressed_values": suppressed_values.numpy(),
    }


def _merge_top(top_values: torch.Tensor, top_index: torch.Tensor, latents: torch.Tensor, flat: torch.Tensor,
               carried: torch.Tensor | None = None, top_carried: torch.Tensor | None = None, *,
               cols: torch.Tensor) -> None:
    """Fold a chunk's latents ``[rows, len(cols)]`` (the columns ``cols`` of the SAE, at corpus tokens ``flat``)
    into the running top examples ``[top, d_sae]``, in place, a block of columns at a time (so its temporaries
    stay a few MB, whatever the chunk).

    With ``carried`` (``[rows, len(cols)]``, e.g. the activations when ``latents`` are random sampling keys), the
    values of ``carried`` at the kept entries are kept in ``top_carried`` alongside."""
    import torch

    top = top_values.shape[0]
    block = max(1, (saes.CHUNK_ELEMENTS // 4) // (top + latents.shape[0]))
    for lo in range(0, latents.shape[1], block):
        part, here = cols[lo : lo + block], slice(lo, lo + block)
        values, order = torch.cat([top_values[:, part], latents[:, here]]).topk(top, dim=0)
        # order < top: a previous top example; else row (order - top) of this chunk
        old = order < top
        kept = top_index[:, part].gather(0, order.clamp(max=top - 1))
        top_index[:, part] = torch.where(old, kept, flat[(order - top).clamp(min=0)])
        if carried is not None:
            new = carried[:, here].gather(0, (order - top).clamp(min=0))
            top_carried[:, part] = torch.where(old, top_carried[:, part].gather(0, order.clamp(max=top - 1)), new)
        top_values[:, part] = values


def promoted_tokens(session: Session, w_dec: torch.Tensor, top: int = PROMOTED, *, bottom: bool = False
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and ids of the ``top`` tokens each decoder row ``[d_sae, d]`` pushes up through the unembedding
    (``bottom=True``: down, most negative first), a block of latents at a time
    (:func:`workbench.residual.project_top`: on the server when the session is remote).

    Examples
    --------
    >>> values, ids = promoted_tokens(bench, torch.eye(64)[:3])
    >>> tuple(ids.shape), bool((values[:, :-1] >= values[:, 1:]).all())
    ((3, 10), True)
    """

    return residual.project_top(session, w_dec, min(top, session.vocab_size), bottom=bottom)


def feature_stats(session: Session, sae: str | None = None, corpus: Sequence[str] | None = None,
                  *, windows: int = 256, context: int = WINDOW, progress: bool = True) -> FeatureStats:
    """Feature statistics of an SAE over a corpus, computed once and cached on disk.

    Over the shipped corpus (``corpus=None``) the result is also kept in
    ``session.cache.feature_stats``, so repeated calls (every click on a feature in
    the activation panel) cost nothing.

    Parameters
    ----------
    sae : str, optional
        A registered SAE (default: the first one).
    corpus : sequence of str, optional
        Default: the shipped SAE corpus.
    windows : int
        How many ``context``-token windows of the corpus to read.
    """
    import torch
    from safetensors.numpy import load_file, save_file

    entry = session.saes.get(sae)
    cache_key = (entry.name, windows, context)
    if corpus is None:
        cached = session.cache.feature_stats.get(cache_key)
        if cached is not None and cached.entry is entry:  # a re-registered name gets new stats
            return cached
        from ..corpora import sae_corpus

        stats = feature_stats(session, sae, sae_corpus(session), windows=windows, context=context, progress=progress)
        session.cache.feature_stats[cache_key] = stats
        return stats
    rows = session.saes.corpus_windows(corpus, context)
    rows = rows[torch.randperm(rows.shape[0], generator=torch.Generator().manual_seed(0))][:windows]
    key = _digest(session.model_name.encode(), *sae_parts(entry), rows.numpy().tobytes())
    folder = models.cache_dir() / "feature_stats" / f"{entry.name}-{key}-v{STATS_VERSION}"

    def build(tmp: Path) -> None:
        arrays = compute(session, entry, rows, progress=progress)
        arrays["windows"] = rows.numpy()
        save_file(arrays, str(tmp / "stats.safetensors"))
        (tmp / "about.json").write_text(json.dumps({"model": session.model_name, "sae": entry.name,
                                                    "source": entry.source, "windows": int(rows.shape[0])}))

    models.ensure_converted(folder, build, source={"feature_stats": key, "version": STATS_VERSION})
    arrays = load_file(str(folder / "stats.safetensors"))
    return FeatureStats(session, entry, torch.from_numpy(arrays["windows"]), arrays["density"],
                        arrays["top_values"], arrays["top_index"], arrays["promoted_ids"],
                        arrays["promoted_values"], key=key, histogram=arrays["histogram"],
                        sample_values=arrays["sample_values"], sample_index=arrays["sample_index"],
                        suppressed_ids=arrays["suppressed_ids"], suppressed_values=arrays["suppressed_values"])
