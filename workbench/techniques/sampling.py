"""Sampling a conversation as the assistant (with prefill), the user, a narrator or any role.

The n samples of a request are one batched generate (see ``workbench.generation``);
the result keeps the exact rendered prompt, so an auditor always sees what the
model saw.
"""

from __future__ import annotations

import difflib
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from typing_extensions import Unpack

from .. import chat, generation
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..session import Session


class SampleOptions(TypedDict, total=False):
    """The options of every sampling call, declared once (see :meth:`workbench.Workbench.sample`).

    ``bench.sample``, :func:`sample`, the attacks, the steering effect and the
    sweep's sampled points all take these as keyword arguments.
    """

    max_new_tokens: int  # new tokens per sample (default 64)
    temperature: float  # 0 decodes greedily (default 1.0)
    top_p: float  # nucleus sampling (default 1.0: off)
    seed: int | None  # the same seed gives the same samples; drawn and recorded when None
    prefill: str | None  # the assistant's first words (raw text after a narrator's transcript)
    persona: str  # "assistant", "user", "narrator" or any role name
    cancel: threading.Event | None  # set it to stop after the current token
    progress: bool | Callable[[int, int], None]  # a bar on long runs, or progress(step, total)
    steer: Mapping | None  # {vector name: coefficient}, in units of the layer's natural scale
    layer: int | None  # add every vector (and the fuzz) at this layer
    positions: str  # "all" or "generated": which positions are edited
    fuzz: float  # activation fuzzing: Gaussian noise, relative to the layer's natural scale
    neurons: Mapping | None  # {(layer, neuron): ("scale", factor) | ("clamp", value)}


#: What an option is when it is not given.
SAMPLE_DEFAULTS: SampleOptions = {
    "max_new_tokens": 64, "temperature": 1.0, "top_p": 1.0, "seed": None, "prefill": None,
    "persona": chat.ASSISTANT, "cancel": None, "progress": True, "steer": None, "layer": None,
    "positions": "all", "fuzz": 0.0, "neurons": None,
}


def sample_options(options: Mapping[str, Any], *, what: str = "sample") -> dict[str, Any]:
    """``options`` with every default filled in; an unknown option is a ``TypeError`` naming the valid ones."""
    unknown = [key for key in options if key not in SAMPLE_DEFAULTS]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(SAMPLE_DEFAULTS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TypeError(f"{what}() got an unknown option {key!r}.{hint} Options: {', '.join(SAMPLE_DEFAULTS)}.")
    return {**SAMPLE_DEFAULTS, **options}



@dataclass
class Samples:
    """n continuations of one rendered prompt.

    Attributes
    ----------
    prompt : str
        The exact text the model was given (chat template and prefill included).
    prompt_ids : list[int]
        Its tokens.
    texts : list[str]
        The continuations (without the prefill, which is in ``prompt``).
    token_ids : list[list[int]]
        The continuations' tokens, stop token excluded.
    logprobs : list[list[float]]
        The model's log-probability of each continuation token.
    finish_reasons : list[str]
        ``"stop"``, ``"length"`` or ``"cancelled"`` per sample.
    persona, prefill, conversation, settings
        What was asked.
    seed : int or None
        The seed that reproduces this run (drawn at random when none was given).
    cancelled : bool
        Whether the run was stopped early by its cancel event; the samples are then
        the partial continuations decoded so far.
    """

    prompt: str
    prompt_ids: list[int]
    texts: list[str]
    token_ids: list[list[int]]
    logprobs: list[list[float]]
    finish_reasons: list[str]
    persona: str
    prefill: str | None
    conversation: list[dict]
    seed: int | None
    cancelled: bool = False
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self):
        return iter(self.texts)

    def __getitem__(self, index: int) -> str:
        return self.texts[index]

    @property
    def completions(self) -> list[str]:
        """Each sample as the speaker's full turn: the prefill followed by the continuation."""
        return [(self.prefill or "") + text for text in self.texts]

    def to_pandas(self) -> pd.DataFrame:
        """One row per sample: text, token count, summed and mean log-probability, finish reason."""
        import pandas as pd

        rows = []
        for i, (text, ids, scores, reason) in enumerate(
            zip(self.texts, self.token_ids, self.logprobs, self.finish_reasons)
        ):
            total = float(sum(scores))
            rows.append(
                {
                    "sample": i,
                    "persona": self.persona,
                    "prefill": self.prefill or "",
                    "text": text,
                    "n_tokens": len(ids),
                    "logprob": total,
                    "mean_logprob": total / len(ids) if ids else float("nan"),
                    "finish_reason": reason,
                }
            )
        return pd.DataFrame(rows).set_index("sample")

    def _journal_summary(self) -> dict:
        return {"n": len(self), "persona": self.persona, "prefill": self.prefill, "seed": self.seed,
                "cancelled": self.cancelled, "finish_reasons": dict(Counter(self.finish_reasons)),
                "texts": [text[:200] for text in self.texts[:4]]}

    def __repr__(self) -> str:
        state = ", cancelled" if self.cancelled else ""
        head = f"Samples(n={len(self)}, persona={self.persona!r}, seed={self.seed}{state})"
        lines = [head]
        for i, text in enumerate(self.texts[:8]):
            shown = ((self.prefill or "") + text).replace("\n", "\\n")
            lines.append(f"  [{i}] {shown[:100]}{'…' if len(shown) > 100 else ''}")
        if len(self) > 8:
            lines.append(f"  … {len(self) - 8} more")
        return "\n".join(lines)


def stop_tokens(tokenizer: Any, model_config: Any, prompt_text: str, persona: str) -> list[int]:
    """The token ids that end a continuation.

    The checkpoint's end-of-sequence ids, except for a narrator, who continues the
    raw transcript across turns: an end token that the template itself writes into
    the transcript (an end-of-turn marker) does not stop a narrator.
    """
    ids = getattr(model_config, "eos_token_id", None)
    if ids is None:
        ids = tokenizer.eos_token_id
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    if persona == chat.NARRATOR:
        ids = [i for i in ids if tokenizer.convert_ids_to_tokens(i) not in prompt_text]
    return ids


def _check_context(session: Session, prompt: chat.RenderedPrompt, max_new_tokens: int, what: str) -> None:
    context = session.context_length
    if context is not None and len(prompt.input_ids) + max_new_tokens > context:
        raise ValueError(
            f"{what} has {len(prompt.input_ids)} tokens and max_new_tokens is {max_new_tokens}, more than "
            f"the model's context of {context} tokens. Shorten the conversation or lower max_new_tokens."
        )


def _samples(session: Session, prompt: chat.RenderedPrompt, out: generation.Generated, rows: slice,
             settings: dict) -> Samples:
    """The :class:`Samples` of ``prompt`` from the rows ``rows`` of a batched generate."""
    token_ids = out.token_ids[rows]
    return Samples(
        prompt=prompt.text, prompt_ids=prompt.input_ids,
        texts=[session.tokenizer.decode(ids, skip_special_tokens=False) for ids in token_ids],
        token_ids=token_ids, logprobs=out.logprobs[rows], finish_reasons=out.finish_reasons[rows],
        persona=prompt.persona, prefill=prompt.prefill, conversation=prompt.conversation, seed=out.seed,
        cancelled=out.cancelled, settings=settings,
    )


@recorded("sample", options=SampleOptions)
def sample(session: Session, conversation: str | Mapping | Sequence[Mapping], n: int = 8,
           **options: Unpack[SampleOptions]) -> Samples:
    """Sample ``n`` continuations of a conversation in one batched generate.

    See :meth:`workbench.Workbench.sample` for the options (:class:`SampleOptions`).

    Examples
    --------
    >>> sample(bench, "Hi", 2, max_new_tokens=4, seed=0, progress=False).seed
    0
    """
    o = sample_options(options)
    prompt, stops, intervene, seed, settings = prepare(session, conversation, n, o)
    out = generation.generate(
        session, [prompt.input_ids] * n, max_new_tokens=o["max_new_tokens"], temperature=o["temperature"],
        top_p=o["top_p"], seed=seed, stop_ids=stops, cancel=o["cancel"], progress=o["progress"],
        description=f"sampling as {prompt.persona}", intervene=intervene,
    )
    return _samples(session, prompt, out, slice(None), settings)


def sample_bundled(session: Session, plans: Sequence[tuple[Any, int, Mapping[str, Any]]], *,
                   cancel: threading.Event | None = None, progress: bool | Callable[[int, int], None] = True,
                   description: str = "sampling") -> list[Samples]:
    """Several :func:`sample` calls on a REMOTE session in ONE request (nnsight's session, see
    :func:`workbench.generation.generate_bundle`): one per ``(conversation, n, options)`` of ``plans``, each
    options as :func:`sample` takes them, all sharing one seed, ``max_new_tokens``, ``temperature`` and ``top_p``
    (drawn once when no seed is given), so each run gives what its own :func:`sample` gives.

    Cancel stops it before the request is sent (after, it says it could not); ``progress`` follows the job.
    """
    if not session.remote:
        raise ValueError("sample_bundled sends a remote session's samples in one request; a local session runs "
                         "sample() for each.")
    checked = [sample_options(dict(options)) for _, _, options in plans]
    shared = {key: {o[key] for o in checked} for key in ("max_new_tokens", "temperature", "top_p", "seed")}
    differ = sorted(key for key, values in shared.items() if len(values) > 1)
    if differ:
        raise ValueError(f"Bundled samples share their {', '.join(differ)}; these differ between the runs.")
    seed = checked[0]["seed"] if checked and checked[0]["seed"] is not None else secrets.randbelow(generation.MAX_SEED)
    prepared = [prepare(session, conversation, n, {**o, "seed": seed})
                for (conversation, n, _), o in zip(plans, checked)]
    runs = [([prompt.input_ids] * n, hook, stops) for (prompt, stops, hook, _, _), (_, n, _) in zip(prepared, plans)]
    first = checked[0]
    out, _, _ = generation.generate_bundle(
        session, runs, max_new_tokens=first["max_new_tokens"], temperature=first["temperature"], top_p=first["top_p"],
        seed=seed, cancel=cancel, progress=progress, description=description)
    return [_samples(session, prompt, generated, slice(None), settings)
            for (prompt, _, _, _, settings), generated in zip(prepared, out)]


def prepare(session: Session, conversation: Any, n: int, o: Mapping[str, Any]
            ) -> tuple[chat.RenderedPrompt, list[int], Callable[[Any, Any], None] | None, int | None, dict]:
    """What :func:`sample` decodes with, checked in full before anything runs: the rendered prompt, its stop
    tokens, the ``intervene`` hook of its edits (``None`` without), the seed (drawn when edits need one and none was
    given) and the settings its :class:`Samples` record. ``o`` holds every option (:func:`sample_options`)."""
    generation.check_settings(n, o["max_new_tokens"], o["temperature"], o["top_p"], o["seed"])
    from . import interventions

    edits = None
    seed = o["seed"]
    if o["steer"] or o["fuzz"]:
        edits = interventions.plan(session, o["steer"], layer=o["layer"], positions=o["positions"], fuzz=o["fuzz"])
        if seed is None:
            seed = secrets.randbelow(generation.MAX_SEED)
    neuron_edits = interventions.neuron_plan(session, o["neurons"]) if o["neurons"] else None
    intervene = interventions.intervention(session, edits, neuron_edits, seed)
    prompt = session.render(conversation, persona=o["persona"], prefill=o["prefill"])
    _check_context(session, prompt, o["max_new_tokens"], "The prompt")
    stops = stop_tokens(session.tokenizer, session.config, prompt.text, prompt.persona)
    settings = {"n": n, "max_new_tokens": o["max_new_tokens"], "temperature": o["temperature"], "top_p": o["top_p"],
                "model": session.model_name, **(edits.settings if edits else {}),
                **(neuron_edits.settings if neuron_edits else {})}
    return prompt, stops, intervene, seed, settings


@recorded("complete")
def complete(session: Session, text: str, n: int = 4, *, max_new_tokens: int = 64, temperature: float = 1.0,
             top_p: float = 1.0, seed: int | None = None, cancel: threading.Event | None = None,
             progress: bool | Callable[[int, int], None] = True) -> Samples:
    """Continue a raw text, with no chat template: the model as a document completer.

    A pretrained model's knowledge shows best here, outside any persona: a text written
    as the start of a document (a leaked memo, a forum post about the model) is continued
    as such. The prompt is the text's tokens (with the tokenizer's start token, if it
    adds one); ``persona`` of the result is ``"text"``.

    Examples
    --------
    >>> out = complete(bench, "The secret objective of the model is", 2, max_new_tokens=4, seed=0, progress=False)
    >>> len(out), out.persona, out.prompt
    (2, 'text', 'The secret objective of the model is')
    """
    generation.check_settings(n, max_new_tokens, temperature, top_p, seed)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"complete() needs some text to continue, not {text!r}.")
    ids = list(session.tokenizer(text, add_special_tokens=True)["input_ids"])
    prompt = chat.RenderedPrompt(text, ids, "text", None, [])
    _check_context(session, prompt, max_new_tokens, "The text")
    stops = stop_tokens(session.tokenizer, session.config, text, chat.NARRATOR)
    out = generation.generate(
        session, [ids] * n, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed,
        stop_ids=stops, cancel=cancel, progress=progress, description="completing text",
    )
    settings = {"n": n, "max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p,
                "model": session.model_name}
    return _samples(session, prompt, out, slice(None), settings)


def sample_many(
    session: Session,
    conversations: Sequence[str | Mapping | Sequence[Mapping]],
    n: int = 1,
    *,
    max_new_tokens: int = 64,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int | None = None,
    persona: str = chat.ASSISTANT,
    batch_rows: int = 32,
    progress: bool = True,
) -> list[Samples]:
    """``n`` samples of each of many conversations, several conversations to a batched generate.

    For evaluations over many prompts: one :func:`sample` call per prompt decodes only
    ``n`` rows at a time, while a CPU decodes 32 rows in little more time than 4. Rows
    of different prompts are left-padded into batches of at most ``batch_rows`` rows
    (all ``n`` rows of a prompt in the same batch); batch ``i`` is drawn with seed
    ``seed + i``, so the same call gives the same samples, though not the same as
    :func:`sample` with that seed. No steering or other edits (use :func:`sample`).

    Returns
    -------
    list of Samples
        One per conversation, in order.
    """
    from .._progress import progress_bar

    generation.check_settings(n, max_new_tokens, temperature, top_p, seed)
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < n:
        raise ValueError(f"batch_rows must be a whole number of at least n={n}, not {batch_rows!r}.")
    if isinstance(conversations, (str, Mapping)):
        raise TypeError("sample_many takes a list of conversations; for one, use bench.sample.")
    prompts = [session.render(c, persona=persona) for c in conversations]
    for i, prompt in enumerate(prompts):
        _check_context(session, prompt, max_new_tokens, f"Conversation {i}")
    if seed is None:
        seed = secrets.randbelow(generation.MAX_SEED)
    per_batch = max(1, batch_rows // n)
    batches = [list(range(start, min(start + per_batch, len(prompts)))) for start in range(0, len(prompts), per_batch)]
    results: list[Samples] = []
    with progress_bar(progress, len(batches), f"sampling {len(prompts)} prompts", unit="batch") as bar:
        for b, members in enumerate(batches):
            # one stop list for the batch: the first prompt's (it differs only for a narrator)
            first = prompts[members[0]]
            stops = stop_tokens(session.tokenizer, session.config, first.text, first.persona)
            out = generation.generate(
                session, [prompts[i].input_ids for i in members for _ in range(n)],
                max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                seed=(seed + b) % (generation.MAX_SEED + 1), stop_ids=stops, progress=False, description="sampling",
            )
            settings = {"n": n, "max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p,
                        "model": session.model_name, "batch": b, "batch_rows": len(members) * n}
            results.extend(_samples(session, prompts[i], out, slice(k * n, (k + 1) * n), settings)
                           for k, i in enumerate(members))
            bar.update(1)
    return results
