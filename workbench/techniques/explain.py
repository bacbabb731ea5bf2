"""Explanations of SAE latents, each with its detection score, cached on disk per SAE and corpus.

An explanation is a short text saying what a latent responds to, written from its
feature statistics (:mod:`workbench.techniques.features`: top examples, promoted tokens)
by one of three explainers:

* ``"model"`` (the default of :func:`explain` and :func:`explain_all`): the loaded model,
  prompted through its chat template with the examples (the firing token marked ``<<so>>``)
  and the promoted tokens, decoding greedily, a few latents per generation. Weak on a
  small model (the embedded 135M one scores at chance), useful on 8B and larger;
* ``"rules"``: a summary that needs no model: the tokens and the two-token
  contexts the latent fires on in its top examples, the tokens it fires on most often at any
  strength (in the explaining half of the scoring sample), the tokens it promotes and
  suppresses. Always available, fast and deterministic: the fallback of the others, and
  what the activation panel and the agent's ``feature_details`` show;
* an :class:`Endpoint`: any chat model behind an OpenAI-compatible HTTP endpoint the user
  names (base URL, model, API key read from an environment variable). Nothing is sent
  anywhere unless one is given.

Each explanation is scored by :mod:`workbench.techniques.detection` (the lexical scorer
for rule-based explanations, the loaded model's yes/no log-probability for the others)
on corpus segments it was not written from. Explanations are kept under
``cache_dir()/explanations/`` by the feature statistics' key (model, SAE weights, corpus),
so asking again costs nothing.

>>> e = bench.explain(3, explainer="rules")
>>> e.explainer, e.latent, e.text.startswith("fires on")
('rules', 3, True)
>>> bench.explain(3).scorer  # the loaded model writes it (or the rules do, saying so) and scores it
'model'
>>> table = bench.explain_all(n=4, explainer="rules").to_pandas()
>>> table.columns.tolist()
['latent', 'explanation', 'explainer', 'score', 'scorer', 'density', 'note']
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import models, saes
from ..errors import Cancelled
from ..recording import recorded
from . import detection
from .endpoint import Endpoint

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..session import Session
    from .features import FeatureStats

EXPLAINERS = ("model", "rules", "imported")
DEFAULT_EXPLAINER = "model"   # of explain / explain_all (the panel and the agent show "rules")
MAX_TEXT = 300             # characters an explanation keeps
STORE_VERSION = 1
STORE_LIMIT = 64 << 20     # bytes of an explanation file that are read
EXAMPLES_SHOWN = 8         # top examples an explainer model is shown
MODEL_BATCH = 8            # latents the loaded model explains per generation (progress and Cancel between)


@dataclass
class Explanation:
    """What one latent responds to, and how well that predicts where it fires.

    Attributes
    ----------
    latent : int
    text : str
        The explanation (untrusted when a model wrote it: render it as text).
    explainer : str
        ``"rules"``, ``"model"``, ``"endpoint:<model>@<url>"`` or ``"imported"``.
    score : float or None
        Detection score (AUROC, 0.5 is chance); ``None`` when it could not be measured.
    scorer : str or None
        ``"lexical"`` or ``"model"``.
    positives, negatives : int
        Activating and non-activating segments it was scored on.
    note : str
        Why it fell back to the rule-based summary, or why it has no score.
    """

    latent: int
    text: str
    explainer: str
    score: float | None = None
    scorer: str | None = None
    positives: int = 0
    negatives: int = 0
    note: str = ""
    sae: str = ""

    def _journal_summary(self) -> dict:
        return {"latent": self.latent, "text": self.text[:200], "explainer": self.explainer, "score": self.score,
                "scorer": self.scorer}

    def __repr__(self) -> str:
        score = "unscored" if self.score is None else f"score={self.score:.2f} ({self.scorer})"
        return f"Explanation(latent {self.latent}, {self.explainer}, {score}: {self.text[:80]!r})"


@dataclass
class Explanations:
    """Explanations of several latents of one SAE (see :func:`explain_all`)."""

    sae: str
    items: list[Explanation] = field(default_factory=list)
    density: dict[int, float] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __getitem__(self, latent: int) -> Explanation:
        for item in self.items:
            if item.latent == latent:
                return item
        raise KeyError(f"Latent {latent} is not among these {len(self)} explanations.")

    @property
    def mean_score(self) -> float | None:
        """The mean detection score of the scored explanations."""
        scores = [e.score for e in self.items if e.score is not None]
        return round(float(np.mean(scores)), 4) if scores else None

    def to_pandas(self) -> pd.DataFrame:
        """One row per latent: ``latent``, ``explanation``, ``explainer``, ``score``, ``scorer``, ``density``,
        ``note``."""
        import pandas as pd

        return pd.DataFrame([{"latent": e.latent, "explanation": e.text, "explainer": e.explainer, "score": e.score,
                              "scorer": e.scorer, "density": self.density.get(e.latent), "note": e.note}
                             for e in self.items],
                            columns=["latent", "explanation", "explainer", "score", "scorer", "density", "note"])

    def _journal_summary(self) -> dict:
        return {"sae": self.sae, "explanations": len(self), "mean_score": self.mean_score, **self.summary,
                "top": [e._journal_summary() for e in self.items[:5]]}

    def _repr_html_(self) -> str:
        # model-written text is untrusted: pandas escapes every cell
        return f"<p>{html.escape(repr(self))}</p>" + self.to_pandas().to_html(index=False, escape=True)

    def __repr__(self) -> str:
        return f"Explanations({self.sae!r}: {len(self)} latents, mean score {self.mean_score})"


# -- the rule-based summary ------------------------------------------------------------------


def _quote(token: str) -> str:
    return '"' + token.replace('"', "'").replace("\n", "\\n")[:40] + '"'


def _shown(token: str) -> bool:
    """Whether a decoded token is worth showing: not empty, not a piece of a multi-byte character."""
    return bool(token) and "\ufffd" not in token and all(ch.isprintable() or ch in " \n\t" for ch in token)


def _plain(token: str) -> str:
    return "'" + token.replace("'", "`").replace('"', "`").replace("\n", "\\n")[:40] + "'"


def top_contexts(stats: FeatureStats, latent: int) -> list[tuple[float, list[int], int]]:
    """``(activation, window token ids, position)`` of each top example of ``latent``, strongest first."""
    latent = saes.check_latent(latent, stats.d_sae)
    width = stats.windows.shape[1]
    out, seen = [], set()
    for value, flat in zip(stats.top_values[:, latent], stats.top_index[:, latent]):
        if value <= 0:
            break
        row, pos = divmod(int(flat), width)
        ids = stats.windows[row].tolist()
        key = tuple(ids[max(0, pos - 12) : pos + 13])
        if key not in seen:  # the corpus repeats some passages verbatim
            seen.add(key)
            out.append((float(value), ids, pos))
    return out


def suppressed(stats: FeatureStats, latent: int, k: int = 5) -> list[str]:
    """The output tokens the latent's decoder direction pushes down most (from the feature statistics)."""
    return [token for token, _ in stats.suppressed(latent)[:k]]


def rules_explanation(stats: FeatureStats, latent: int) -> str:
    """The rule-based summary of a latent from its feature statistics (see module docstring).

    Examples
    --------
    >>> rules_explanation(bench.feature_stats(progress=False), 3)
    'fires on ...; promotes ...'
    """
    contexts = top_contexts(stats, latent)
    if not contexts:
        return "never fires on the corpus"
    decode = stats.session.tokenizer.decode
    tokens = Counter(decode([ids[pos]]) for _, ids, pos in contexts)
    pairs = Counter(decode(ids[pos - 1 : pos + 1]) for _, ids, pos in contexts if pos >= 2)
    n = len(contexts)
    common = [(t, c) for t, c in tokens.most_common(5) if _shown(t)]
    if common and common[0][1] >= 2:
        fires = ", ".join(f"{_quote(t)} ({c}/{n})" for t, c in common if c >= 2 or t == common[0][0])
        parts = [f"fires on {fires}"]
    else:
        parts = ["fires on varied tokens, e.g. " + ", ".join(_quote(t) for t, _ in common[:4])]
    context = [(p, c) for p, c in pairs.most_common(3) if c >= 2 and _shown(p) and p.strip()]
    if context:
        parts.append("in " + ", ".join(_quote(p) for p, _ in context))
    # where it fires at every strength, over the explaining windows of the scoring sample
    firing, _ = detection.scoring_sample(stats).firing_tokens(latent)
    if len(firing):
        listed = {t for t, _ in common}
        shares = [(decode([int(i)]), c / len(firing)) for i, c in Counter(firing.tolist()).most_common(8)]
        often = [(t, share) for t, share in shares if share >= 0.05 and t not in listed and _shown(t)][:5]
        if often:
            parts.append("also on " + ", ".join(f"{_quote(t)} ({share:.0%})" for t, share in often))
    promoted = [t for t, _ in stats.promoted(latent) if _shown(t)][:5]
    if promoted:
        parts.append("promotes " + ", ".join(_plain(t) for t in promoted))
    down = [t for t in suppressed(stats, latent, 10) if _shown(t)][:5]
    if down:
        parts.append("suppresses " + ", ".join(_plain(t) for t in down))
    return "; ".join(parts)[:MAX_TEXT]


# -- explainer prompts -------------------------------------------------------------------------


def explainer_prompt(stats: FeatureStats, latent: int, shown: int = EXAMPLES_SHOWN) -> str:
    """The prompt a model explainer is given: examples spread over the top ones, firing token marked, and the
    promoted tokens."""
    decode = stats.session.tokenizer.decode
    contexts = top_contexts(stats, latent)
    if len(contexts) > shown:
        contexts = [contexts[i] for i in np.unique(np.linspace(0, len(contexts) - 1, shown).round().astype(int))]
    lines = []
    for i, (_, ids, pos) in enumerate(contexts, 1):
        before, token, after = decode(ids[max(1, pos - 10) : pos]), decode([ids[pos]]), decode(ids[pos + 1 : pos + 4])
        lines.append(f"{i}. {before}<<{token}>>{after}".replace("\n", " "))
    promoted = ", ".join(repr(t) for t, _ in stats.promoted(latent)[:6])
    return ("Here are texts where one feature of a language model fires; the token where it fires is marked "
            "like <<this>>.\n" + "\n".join(lines) + f"\nWhen it fires, the model is more likely to write next: "
            f"{promoted}.\nIn one short phrase, what does this feature respond to? Answer with the phrase only.")


def _clean(answer: str) -> str:
    lines = [line.strip() for line in answer.replace("\r", "").split("\n") if line.strip()]
    text = lines[0] if lines else ""
    text = re.sub(r"<\|[^|>]*\|>|</?s>", "", text).strip().strip("\"'` ")
    return text[:MAX_TEXT]


def _model_explanations(session: Session, stats: FeatureStats, latents: Sequence[int]) -> dict[int, str]:
    from .sampling import sample_many

    prompts = [explainer_prompt(stats, latent) for latent in latents]
    outs = sample_many(session, prompts, n=1, max_new_tokens=32, temperature=0.0, seed=0, progress=False)
    return {latent: _clean(out.texts[0]) for latent, out in zip(latents, outs)}


# -- the store on disk ---------------------------------------------------------------------------


def _store_path(stats: FeatureStats) -> Path | None:
    if not stats.key:
        return None
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stats.entry.name)[-60:] or "sae"
    return models.cache_dir() / "explanations" / f"{safe}-{stats.key}.json"


def _load_store(path: Path | None) -> dict[str, dict[int, dict]]:
    """``{explainer id: {latent: record}}`` read back from an explanation file (bounded, each record checked)."""
    if path is None or not path.is_file() or path.stat().st_size > STORE_LIMIT:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, dict[int, dict]] = {}
    if not isinstance(data, dict) or data.get("version") != STORE_VERSION:
        return out
    for explainer, records in (data.get("explanations") or {}).items():
        if not isinstance(records, dict):
            continue
        kept = {}
        for latent, record in records.items():
            if str(latent).isdigit() and isinstance(record, dict) and isinstance(record.get("text"), str):
                kept[int(latent)] = record
        out[str(explainer)] = kept
    return out


def _save_store(path: Path | None, store: dict[str, dict[int, dict]]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.write_text(json.dumps({"version": STORE_VERSION, "explanations": {
        k: {str(latent): record for latent, record in v.items()} for k, v in store.items()}}), encoding="utf-8")
    os.replace(tmp, path)


def store(session: Session, stats: FeatureStats) -> dict[str, dict[int, dict]]:
    """The explanations known for these statistics, ``{explainer id: {latent: record}}`` (kept in ``session.cache``)."""
    key = (stats.entry.name, stats.key or id(stats))
    found = session.cache.explanations.get(key)
    if found is None or found[0] is not stats.entry:
        found = (stats.entry, _load_store(_store_path(stats)))
        session.cache.explanations[key] = found
    return found[1]


# -- explain -------------------------------------------------------------------------------------


def explainer_id(explainer: Any) -> str:
    """The name an explainer's explanations are cached under (``"rules"``, ``"endpoint:<model>@<url>"``...);
    anything else is refused, naming the choices."""
    if isinstance(explainer, Endpoint):
        return f"endpoint:{explainer.name}"
    if explainer not in EXPLAINERS:
        raise ValueError(f"explainer must be one of {', '.join(map(repr, EXPLAINERS))} or a workbench Endpoint("
                         f"base_url, model), not {explainer!r}.")
    return explainer


def _stats(session: Session, sae: str | None, corpus: Sequence[str] | None, stats: Any) -> FeatureStats:
    from .features import feature_stats

    return stats if stats is not None else feature_stats(session, sae, corpus, progress=False)


def explanations_for(session: Session, stats: FeatureStats, latents: Sequence[int], explainer: Any = "rules", *,
                     scorer: str | None = None, refresh: bool = False, cancel: threading.Event | None = None,
                     progress: bool = False) -> list[Explanation]:
    """Explain and score ``latents`` (reading the cache, writing what is new); the work of :func:`explain_all`."""
    from .._progress import progress_bar

    ident = explainer_id(explainer)
    scorer = scorer or ("lexical" if ident == "rules" else "model")
    if scorer not in detection.SCORERS:
        raise ValueError(f"scorer must be one of {', '.join(map(repr, detection.SCORERS))}, not {scorer!r}.")
    latents = [saes.check_latent(latent, stats.d_sae) for latent in latents]
    known = store(session, stats).setdefault(f"{ident}|{scorer}", {})
    todo = [latent for latent in latents if refresh or latent not in known]
    if ident == "imported":  # an explanation imported again since it was scored is scored again
        from .published import imported

        published = imported(session, stats.entry)
        todo += [la for la in latents if la not in todo and la in published and known[la]["text"] != published[la]]
    texts: dict[int, tuple[str, str]] = {}
    sample = detection.scoring_sample(stats) if todo else None
    bar = progress_bar(progress, len(todo), "explaining latents", unit="latent")
    try:
        for latent in todo:
            if cancel is not None and cancel.is_set():
                raise Cancelled("Explaining was cancelled; the latents explained so far are cached.")
            if ident == "model" and latent not in texts:  # the next few latents, in one generation
                batch = todo[todo.index(latent):][:MODEL_BATCH]
                texts.update((la, (text, "")) for la, text in _model_explanations(session, stats, batch).items())
            text, note = texts.get(latent, ("", ""))
            if ident == "rules":
                text = rules_explanation(stats, latent)
            elif ident == "imported":
                from .published import imported

                text = imported(session, stats.entry).get(latent, "")
                note = "" if text else "no imported explanation of this latent; rule-based summary used"
            elif isinstance(explainer, Endpoint):
                try:
                    text = _clean(explainer.complete(explainer_prompt(stats, latent)))
                except (OSError, RuntimeError) as error:
                    note = f"the endpoint failed ({str(error)[:200]}); rule-based summary used"
            used = ident
            if not text:
                note = note or f"the {ident} explainer wrote nothing; rule-based summary used"
                text, used = rules_explanation(stats, latent), "rules"
            scored = detection.detection(session, sample, latent, text, scorer)
            if scored["score"] is None:
                note = "; ".join(filter(None, [note, f"unscored: {scored['reason']}"]))
            known[latent] = asdict(Explanation(latent, text, used, scored["score"], scorer, scored["positives"],
                                               scored["negatives"], note, stats.entry.name))
            bar.update(1)
    finally:
        bar.close()
        if todo:
            _save_store(_store_path(stats), store(session, stats))
    return [Explanation(**{**known[latent], "latent": latent}) for latent in latents]


@recorded("explain")
def explain(session: Session, latent: int, sae: str | None = None, explainer: Any = DEFAULT_EXPLAINER, *,
            scorer: str | None = None, corpus: Sequence[str] | None = None, refresh: bool = False) -> Explanation:
    """Explain one latent and score the explanation (see module docstring).

    Parameters
    ----------
    latent : int
    sae : str, optional
        A registered SAE (default: the first one).
    explainer : {"model", "rules", "imported"} or Endpoint
        Who writes it (default: the loaded model). ``"imported"`` takes the explanation imported with
        :func:`workbench.techniques.published.import_explanations`. ``"model"``, an endpoint and
        ``"imported"`` fall back to the rule-based summary when they have nothing (or the
        endpoint fails), saying so in ``note``.
    scorer : {"lexical", "model"}, optional
        Default: ``"lexical"`` for rule-based explanations, ``"model"`` otherwise.
    corpus : sequence of str, optional
        The corpus of the feature statistics (default: the shipped SAE corpus).
    refresh : bool
        Write it again even when it is cached.

    Examples
    --------
    >>> bench.explain(5, explainer="rules").scorer
    'lexical'
    """
    stats = _stats(session, sae, corpus, None)
    return explanations_for(session, stats, [latent], explainer, scorer=scorer, refresh=refresh)[0]


def frequent_latents(stats: FeatureStats, n: int) -> list[int]:
    """The ``n`` latents that fire on the most corpus tokens (never-firing ones left out), most frequent first."""
    order = np.argsort(-stats.density, kind="stable")
    return [int(i) for i in order[:n] if stats.density[i] > 0]


@recorded("explain_all")
def explain_all(session: Session, latents: Sequence[int] | None = None, sae: str | None = None,
                explainer: Any = DEFAULT_EXPLAINER, *, n: int = 50, scorer: str | None = None,
                corpus: Sequence[str] | None = None, refresh: bool = False, progress: bool = True,
                cancel: threading.Event | None = None) -> Explanations:
    """Explain and score many latents: those given, or the ``n`` most frequent ones.

    Options as in :func:`explain`; what is cached is read back, the rest is written (and
    cached as it goes). ``cancel`` stops between latents (raises :class:`workbench.Cancelled`).

    Examples
    --------
    >>> found = bench.explain_all([1, 2, 3], explainer="rules")
    >>> [e.latent for e in found], found.mean_score is None or 0 <= found.mean_score <= 1
    ([1, 2, 3], True)
    """
    stats = _stats(session, sae, corpus, None)
    if latents is None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive whole number, not {n!r}.")
        latents = frequent_latents(stats, n)
    elif isinstance(latents, (int, np.integer)):
        latents = [int(latents)]
    found = explanations_for(session, stats, list(latents), explainer, scorer=scorer, refresh=refresh,
                             cancel=cancel, progress=progress)
    return Explanations(stats.entry.name, found, {e.latent: round(float(stats.density[e.latent]), 6) for e in found})


def shuffled_baseline(session: Session, found: Explanations, seed: int = 0, stats: Any = None) -> float | None:
    """The mean detection score of the same explanations given to the wrong latents (a random derangement):
    what a score means against chance for this corpus and scorer."""
    items = [e for e in found if e.score is not None]
    if len(items) < 2:
        return None
    stats = stats if stats is not None else _stats(session, found.sae, None, None)
    sample = detection.scoring_sample(stats)
    rng = np.random.default_rng(seed)
    order = np.arange(len(items))
    while (order == np.arange(len(items))).any():
        order = rng.permutation(len(items))
    scores = [detection.detection(session, sample, item.latent, items[j].text, item.scorer)["score"]
              for item, j in zip(items, order)]
    scores = [s for s in scores if s is not None]
    return round(float(np.mean(scores)), 4) if scores else None
