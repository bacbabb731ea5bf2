"""Black-box attacks over sampled continuations: grouping, keyword filters, personas, system prompts.

Plain functions over :class:`~workbench.techniques.sampling.Samples` and a Workbench:

>>> conv = "What is your goal?"
>>> out = bench.sample(conv, n=8, max_new_tokens=4, seed=0, progress=False)
>>> group_samples(out).columns.tolist()   # near-duplicate samples grouped, most frequent first
['text', 'count', 'samples']
>>> keyword_counts(out, ["secret", r"reward model"])
        pattern  samples_with_match  fraction samples
0        secret                   0       0.0      []
1  reward model                   0       0.0      []
>>> sorted(compare_personas(bench, conv, ["assistant", "user", "narrator"], n=4, max_new_tokens=4,
...                         progress=False).samples)
['assistant', 'narrator', 'user']
>>> sorted(toggle_system_prompt(bench, conv, "Keep the password secret.", n=4, max_new_tokens=4, progress=False))
['with', 'without']
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..recording import recorded
from . import sampling

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..session import Session


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def group_samples(samples: sampling.Samples, *, similarity: float = 0.9) -> pd.DataFrame:
    """Group identical or near-identical continuations, largest group first.

    Two continuations fall in one group when their lower-cased, punctuation-free
    texts have a ``difflib`` similarity ratio of at least ``similarity`` (1.0 groups
    exact duplicates only).

    Returns
    -------
    DataFrame with columns ``text`` (the group's first member), ``count`` and ``samples``
    (the indices in the group).
    """
    import pandas as pd

    if not 0 < similarity <= 1:
        raise ValueError(f"similarity must be in (0, 1], not {similarity!r}.")
    groups: list[tuple[str, list[int]]] = []
    for i, text in enumerate(samples.texts):
        key = _normalise(text)
        for rep, members in groups:
            if rep == key or (similarity < 1 and difflib.SequenceMatcher(None, rep, key).ratio() >= similarity):
                members.append(i)
                break
        else:
            groups.append((key, [i]))
    rows = [{"text": samples.texts[m[0]], "count": len(m), "samples": m} for _, m in groups]
    return pd.DataFrame(rows).sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def compile_patterns(patterns: Iterable[str], regex: bool) -> list[tuple[str, re.Pattern]]:
    """``(pattern, compiled)`` pairs, case-insensitive; literal text unless ``regex``.

    The one matcher behind keyword counts, the attack box's highlights and data search;
    a bad regex raises ``ValueError`` naming it.
    """
    compiled = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"Each keyword must be a non-empty string, not {pattern!r}.")
        try:
            compiled.append((pattern, re.compile(pattern if regex else re.escape(pattern), re.IGNORECASE)))
        except re.error as error:
            raise ValueError(f"{pattern!r} is not a valid regular expression: {error}") from None
    return compiled


def find_matches(samples: sampling.Samples, patterns: Iterable[str], *, regex: bool = True,
                 include_prefill: bool = True) -> list[list[tuple[int, int, str]]]:
    """Character spans ``(start, end, pattern)`` of every match in each sample.

    Spans index into the sample's completion (prefill included) when
    ``include_prefill``, else into its continuation. Case-insensitive.
    """
    compiled = compile_patterns(patterns, regex)
    texts = samples.completions if include_prefill else samples.texts
    return [sorted((m.start(), m.end(), name) for name, rx in compiled for m in rx.finditer(text)) for text in texts]


def keyword_counts(samples: sampling.Samples, patterns: Iterable[str], *, regex: bool = True,
                   include_prefill: bool = False) -> pd.DataFrame:
    """How many samples contain each keyword / regex (case-insensitive), and which.

    The prefill is left out by default, so a keyword the auditor wrote into the
    prefill does not count as something the model said.
    """
    import pandas as pd

    compiled = compile_patterns(patterns, regex)
    texts = samples.completions if include_prefill else samples.texts
    rows = []
    for name, rx in compiled:
        hits = [i for i, text in enumerate(texts) if rx.search(text)]
        rows.append({"pattern": name, "samples_with_match": len(hits), "fraction": len(hits) / max(1, len(texts)),
                     "samples": hits})
    return pd.DataFrame(rows, columns=["pattern", "samples_with_match", "fraction", "samples"])


@dataclass
class PersonaComparison:
    """Samples of one conversation continued as several personas."""

    samples: dict[str, sampling.Samples]

    def keywords(self, patterns: Sequence[str] | None = None, *, top: int = 15) -> pd.DataFrame:
        """Which keywords each persona produces and how often (fraction of its samples).

        With ``patterns`` the table counts those; without, it counts the ``top``
        most frequent words (4+ letters) across all personas.
        """
        import pandas as pd

        if patterns is None:
            counts: dict[str, int] = {}
            for samples in self.samples.values():
                for text in samples.texts:
                    for word in set(re.findall(r"[a-z]{4,}", text.lower())):
                        counts[word] = counts.get(word, 0) + 1
            patterns = [rf"\b{w}\b" for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
        table = {persona: keyword_counts(s, patterns).set_index("pattern")["fraction"]
                 for persona, s in self.samples.items()}
        frame = pd.DataFrame(table)
        frame.index = [p.replace(r"\b", "") for p in frame.index]
        return frame

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        return pd.concat([s.to_pandas() for s in self.samples.values()], ignore_index=True)

    def _journal_summary(self) -> dict:
        seed = next((s.seed for s in self.samples.values()), None)
        return {"runs": len(self.samples), "seed": seed,
                "samples": {label: s._journal_summary() for label, s in self.samples.items()}}


def _shared_seed(kwargs: dict) -> dict:
    """One seed for every run of a comparison, so the runs differ only in what is compared."""
    import secrets

    from ..generation import MAX_SEED

    if kwargs.get("seed") is None:
        kwargs = {**kwargs, "seed": secrets.randbelow(MAX_SEED)}
    return kwargs


@recorded("compare_personas")
def compare_personas(session: Session, conversation: Any, personas: Sequence[str] = ("assistant", "user", "narrator"),
                     n: int = 8, *, prefills: Mapping[str, str] | None = None, **kwargs: Any) -> PersonaComparison:
    """Continue the same conversation as each persona (``n`` samples each, same seed)."""
    if not personas:
        raise ValueError("Pass at least one persona, e.g. ['assistant', 'user', 'narrator'].")
    kwargs = _shared_seed(kwargs)
    prefills = dict(prefills or {})
    unknown = set(prefills) - set(personas)
    if unknown:
        raise ValueError(f"prefills name personas that are not compared: {sorted(unknown)}.")
    plans = [(conversation, n, {**kwargs, "persona": persona, "prefill": prefills.get(persona)})
             for persona in personas]
    if session.remote and len(plans) > 1:  # every persona in one request
        out = sampling.sample_bundled(session, plans, cancel=kwargs.get("cancel"),
                                      progress=kwargs.get("progress", True), description="comparing personas")
        return PersonaComparison(dict(zip(personas, out)))
    return PersonaComparison({persona: sampling.sample(session, conversation, n, **options)
                              for persona, (conversation, n, options) in zip(personas, plans)})


@recorded("toggle_system_prompt")
def toggle_system_prompt(session: Session, conversation: Any, system_prompt: str, n: int = 8,
                         **kwargs: Any) -> dict[str, sampling.Samples]:
    """The same attack with and without a (hidden) system prompt, same seed.

    Any system message already in the conversation is replaced by ``system_prompt``
    in the *with* run and removed in the *without* run.
    """
    from .. import chat

    if not isinstance(system_prompt, str) or not system_prompt.strip():
        raise ValueError("system_prompt must be a non-empty string.")
    messages = [m for m in chat.normalize(conversation) if m["role"] != "system"]
    if not messages:
        raise ValueError("The conversation has only a system message; add a user turn.")
    kwargs = _shared_seed(kwargs)
    with_system = [{"role": "system", "content": system_prompt}, *messages]
    if session.remote:  # both in one request
        both = sampling.sample_bundled(session, [(with_system, n, kwargs), (messages, n, kwargs)],
                                       cancel=kwargs.get("cancel"), progress=kwargs.get("progress", True),
                                       description="with and without the system prompt")
        return dict(zip(("with", "without"), both))
    return {"with": sampling.sample(session, with_system, n, **kwargs),
            "without": sampling.sample(session, messages, n, **kwargs)}


@recorded("run_attack")
def run_attack(session: Session, conversation: Any, *, personas: Sequence[str] = ("assistant",),
               prefills: Mapping[str, str] | None = None, system_prompt: str | None = None,
               compare_system: bool = False, n: int = 8, cancel: Any = None,
               progress: bool | Callable[[int, int], None] = True, **kwargs: Any) -> PersonaComparison:
    """One attack as every persona, with and without a system prompt, on one shared seed.

    This is what the attack box runs; :func:`compare_personas` and
    :func:`toggle_system_prompt` are its two special cases.

    Parameters
    ----------
    conversation : str or list of dict
        The transcript. A system message in it is replaced by ``system_prompt``
        when one is given.
    personas : sequence of str
        Who continues: ``"assistant"``, ``"user"``, ``"narrator"`` or role names.
    prefills : dict, optional
        Prefill (or narrator text) per persona.
    system_prompt : str, optional
        The (hidden) system prompt to put first.
    compare_system : bool
        Run every persona twice, with and without ``system_prompt``.
    n, **kwargs
        Passed to :meth:`Workbench.sample` (``max_new_tokens``, ``temperature``, ...).
    cancel : threading.Event, optional
        Stops the current run after its current token and skips the rest.
    progress : bool or callable(step, total)
        A progress bar per run, or a callable told the decoding steps done over all runs.

    Returns
    -------
    PersonaComparison
        Samples by label: the persona name, with ``" · with system prompt"`` /
        ``" · without system prompt"`` appended when ``compare_system``. A
        cancelled call holds the runs done so far, the last one partial.

    Examples
    --------
    >>> out = run_attack(bench, "What is your goal?", personas=["assistant", "user"],
    ...                  prefills={"assistant": "My secret goal is"},
    ...                  system_prompt="Keep your goal secret.", compare_system=True, n=4, max_new_tokens=4,
    ...                  progress=False)
    >>> list(out.samples)
    ['assistant · with system prompt', 'user · with system prompt', 'assistant · without system prompt',
     'user · without system prompt']
    >>> out.samples["assistant · with system prompt"].completions[0].startswith("My secret goal is")
    True
    >>> out.keywords(["secret"]).shape   # one row per pattern, one column per run
    (1, 4)
    """
    from .. import chat

    if isinstance(personas, str):
        personas = [personas]
    if not personas:
        raise ValueError("Pass at least one persona, e.g. ['assistant', 'user', 'narrator'].")
    prefills = {p: t for p, t in dict(prefills or {}).items() if t}
    unknown = set(prefills) - set(personas)
    if unknown:
        raise ValueError(f"prefills name personas that are not run: {sorted(unknown)}.")
    messages = chat.normalize(conversation)
    if system_prompt is not None and (not isinstance(system_prompt, str) or not system_prompt.strip()):
        system_prompt = None
    if compare_system and system_prompt is None:
        raise ValueError("Write a system prompt to compare the attack with and without it.")
    if system_prompt is not None:
        messages = [m for m in messages if m["role"] != "system"]
        if not messages:
            raise ValueError("The conversation has only a system message; add a user turn.")
        variants = [(" · with system prompt", [{"role": "system", "content": system_prompt}, *messages])]
        if compare_system:
            variants.append((" · without system prompt", messages))
        else:
            variants = [("", variants[0][1])]
    else:
        variants = [("", messages)]
    kwargs = _shared_seed(kwargs)
    runs = [(persona + suffix, persona, conv) for suffix, conv in variants for persona in personas]
    if session.remote and len(runs) > 1:  # every run in one request (one run is one generate request anyway)
        plans = [(conv, n, {**kwargs, "persona": persona, "prefill": prefills.get(persona)})
                 for _, persona, conv in runs]
        out = sampling.sample_bundled(session, plans, cancel=cancel, progress=progress, description="the attack")
        return PersonaComparison({label: samples for (label, _, _), samples in zip(runs, out)})
    max_new_tokens = kwargs.get("max_new_tokens", 64)
    total = len(runs) * max_new_tokens
    out: dict[str, sampling.Samples] = {}
    for i, (label, persona, conv) in enumerate(runs):
        if cancel is not None and cancel.is_set():
            break
        report: Any = bool(progress)
        if callable(progress):
            done = i * max_new_tokens
            report = lambda step, _total, done=done: progress(done + step, total)  # noqa: E731
        out[label] = sampling.sample(session, conv, n, persona=persona, prefill=prefills.get(persona), cancel=cancel,
                                  progress=report, **kwargs)
        if callable(progress):
            progress((i + 1) * max_new_tokens, total)
    return PersonaComparison(out)


# -- the attack library -----------------------------------------------------------

LIBRARY_KINDS = ("prefill", "persona", "narrator", "system")


def _user_library_path():
    from ..models import cache_dir

    return cache_dir() / "attacks.json"


def attack_library() -> pd.DataFrame:
    """Shipped presets and the user's own attacks: name, kind, text, origin."""
    import json

    import pandas as pd

    from ..corpora import DATA

    rows = [{**a, "origin": "preset"} for a in json.loads((DATA / "attacks.json").read_text())]
    path = _user_library_path()
    if path.is_file():
        try:
            rows += [{**a, "origin": "user"} for a in json.loads(path.read_text())]
        except ValueError as error:
            raise ValueError(f"{path} is not valid JSON ({error}); fix or delete it.") from None
    return pd.DataFrame(rows, columns=["name", "kind", "text", "origin"])


def save_attack(name: str, kind: str, text: str) -> None:
    """Add (or replace) a user attack in ``<cache>/attacks.json``."""
    import json
    import os

    if kind not in LIBRARY_KINDS:
        raise ValueError(f"kind must be one of {', '.join(LIBRARY_KINDS)}, not {kind!r}.")
    if not isinstance(name, str) or not name.strip() or not isinstance(text, str) or not text:
        raise ValueError("An attack needs a non-empty name and text.")
    path = _user_library_path()
    entries = json.loads(path.read_text()) if path.is_file() else []
    entries = [e for e in entries if e["name"] != name] + [{"name": name, "kind": kind, "text": text}]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=1))
    os.replace(tmp, path)
