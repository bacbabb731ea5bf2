"""Sampling a conversation as the assistant (with prefill), the user, a narrator or any role.

The n samples of a request are one batched generate (see ``workbench.generation``);
the result keeps the exact rendered prompt, so an auditor always sees what the
model saw.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import chat, generation
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..session import Workbench


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


@recorded("sample")
def sample(
    bench: Workbench,
    conversation: str | Mapping | Sequence[Mapping],
    n: int = 8,
    *,
    max_new_tokens: int = 64,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int | None = None,
    prefill: str | None = None,
    persona: str = chat.ASSISTANT,
    cancel: threading.Event | None = None,
    progress: bool | Callable[[int, int], None] = True,
    steer: Mapping | None = None,
    layer: int | None = None,
    positions: str = "all",
    fuzz: float = 0.0,
    neurons: Mapping | None = None,
) -> Samples:
    """Sample ``n`` continuations of a conversation in one batched generate.

    See :meth:`workbench.Workbench.sample` for the parameters.
    """
    generation.check_settings(n, max_new_tokens, temperature, top_p, seed)
    edits = None
    if steer or fuzz:  # checked in full before anything runs
        from . import steering

        edits = steering.plan(bench, steer, layer=layer, positions=positions, fuzz=fuzz)
        if seed is None:
            import secrets

            seed = secrets.randbelow(generation.MAX_SEED)
    neuron_edits = None
    if neurons:  # checked in full before anything runs
        from . import neurons as neuron_module

        neuron_edits = neuron_module.neuron_plan(bench, neurons)
    intervene = steering.intervention(bench, edits, seed) if edits else None
    if neuron_edits:  # one loop over the decoding steps for both kinds of edit
        steered_layers = sorted(set(edits.deltas) | set(edits.noise)) if edits else ()
        intervene = neuron_module.intervention(bench, neuron_edits, intervene, steered_layers)
    prompt = chat.render(
        bench.tokenizer, conversation, persona=persona, prefill=prefill,
        chat_template=bench.chat_template,
    )
    context = bench.context_length
    if context is not None and len(prompt.input_ids) + max_new_tokens > context:
        raise ValueError(
            f"The prompt has {len(prompt.input_ids)} tokens and max_new_tokens is "
            f"{max_new_tokens}, more than the model's context of {context} tokens. "
            "Shorten the conversation or lower max_new_tokens."
        )
    stops = stop_tokens(bench.tokenizer, bench.config, prompt.text, prompt.persona)
    out = generation.generate(
        bench.model,
        [prompt.input_ids] * n,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        stop_ids=stops,
        pad_id=bench.pad_token_id,
        device=bench.device,
        remote=bench.remote,
        cancel=cancel,
        progress=progress,
        description=f"sampling as {prompt.persona}",
        intervene=intervene,
    )
    texts = [bench.tokenizer.decode(ids, skip_special_tokens=False) for ids in out.token_ids]
    return Samples(
        prompt=prompt.text,
        prompt_ids=prompt.input_ids,
        texts=texts,
        token_ids=out.token_ids,
        logprobs=out.logprobs,
        finish_reasons=out.finish_reasons,
        persona=prompt.persona,
        prefill=prompt.prefill,
        conversation=prompt.conversation,
        seed=out.seed,
        cancelled=out.cancelled,
        settings={
            "n": n,
            "max_new_tokens": max_new_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "model": bench.model_name,
            **(edits.settings if edits else {}),
            **(neuron_edits.settings if neuron_edits else {}),
        },
    )


def sample_many(
    bench: Workbench,
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
    generation.check_settings(n, max_new_tokens, temperature, top_p, seed)
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < n:
        raise ValueError(f"batch_rows must be a whole number of at least n={n}, not {batch_rows!r}.")
    if isinstance(conversations, (str, Mapping)):
        raise TypeError("sample_many takes a list of conversations; for one, use bench.sample.")
    prompts = [chat.render(bench.tokenizer, c, persona=persona, chat_template=bench.chat_template)
               for c in conversations]
    context = bench.context_length
    for i, prompt in enumerate(prompts):
        if context is not None and len(prompt.input_ids) + max_new_tokens > context:
            raise ValueError(f"Conversation {i} has {len(prompt.input_ids)} tokens; with max_new_tokens="
                             f"{max_new_tokens} that is more than the model's context of {context} tokens.")
    if seed is None:
        import secrets

        seed = secrets.randbelow(generation.MAX_SEED)
    per_batch = max(1, batch_rows // n)
    batches = [list(range(start, min(start + per_batch, len(prompts)))) for start in range(0, len(prompts), per_batch)]
    from tqdm.auto import tqdm

    results: list[Samples] = []
    for b, members in enumerate(tqdm(batches, desc=f"sampling {len(prompts)} prompts", unit="batch",
                                     disable=not progress)):
        # one stop list for the batch: the first prompt's (it differs only for a narrator)
        stops = stop_tokens(bench.tokenizer, bench.config, prompts[members[0]].text, prompts[members[0]].persona)
        out = generation.generate(
            bench.model, [prompts[i].input_ids for i in members for _ in range(n)],
            max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
            seed=(seed + b) % (generation.MAX_SEED + 1),
            stop_ids=stops, pad_id=bench.pad_token_id, device=bench.device, remote=bench.remote,
            progress=False, description="sampling",
        )
        for k, i in enumerate(members):
            rows = slice(k * n, (k + 1) * n)
            token_ids = out.token_ids[rows]
            prompt = prompts[i]
            results.append(Samples(
                prompt=prompt.text, prompt_ids=prompt.input_ids,
                texts=[bench.tokenizer.decode(ids, skip_special_tokens=False) for ids in token_ids],
                token_ids=token_ids, logprobs=out.logprobs[rows], finish_reasons=out.finish_reasons[rows],
                persona=prompt.persona, prefill=prompt.prefill, conversation=prompt.conversation, seed=out.seed,
                cancelled=out.cancelled,
                settings={"n": n, "max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p,
                          "model": bench.model_name, "batch": b, "batch_rows": len(members) * n},
            ))
    return results
