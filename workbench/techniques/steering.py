"""What steering does to one conversation: unsteered and steered samples on one seed, token by token.

:func:`effect` samples the same call without and with steering on one seed, so every
difference between the two is the steering's, and scores each steered token under the
unsteered model: the shift in log-probability the steering panel tints tokens with.
The unsteered side can be handed back in (``baseline=``) and is then reused, as the
panel does while only the coefficients change.

>>> result = effect(bench, "Hi", 2, steer={"ones": 0.5}, max_new_tokens=4, seed=0, progress=False)
>>> len(result.shift) == len(result.steered) == 2
True
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from typing_extensions import Unpack

from .. import residual
from ..generation import MAX_SEED
from ..recording import recorded
from . import interventions, sampling
from .sampling import SampleOptions

if TYPE_CHECKING:  # pragma: no cover
    from ..session import Session
    from .sampling import Samples


@dataclass
class SteeringEffect:
    """Unsteered and steered samples of one call, drawn with one seed.

    Attributes
    ----------
    unsteered, steered : Samples
        With every coefficient 0 (and no fuzz) they are the same object.
    shift : list[list[float]]
        For each steered sample, each token's log-probability under steering minus
        its log-probability without steering (positive: steering made it likelier).
    """

    unsteered: Samples
    steered: Samples
    shift: list

    def to_pandas(self):
        """One row per sample: unsteered text, steered text, mean log-probability shift."""
        import pandas as pd

        rows = []
        for i, (a, b, s) in enumerate(zip(self.unsteered.texts, self.steered.texts, self.shift)):
            rows.append({"sample": i, "unsteered": a, "steered": b,
                         "mean_shift": sum(s) / len(s) if s else float("nan")})
        return pd.DataFrame(rows).set_index("sample")

    def _journal_summary(self) -> dict:
        means = [sum(s) / len(s) for s in self.shift if s]
        return {"n": len(self.steered), "seed": self.steered.seed, "steer": self.steered.settings.get("steer"),
                "mean_shift": sum(means) / len(means) if means else None,
                "unsteered": self.unsteered.texts[:3], "steered": self.steered.texts[:3]}

    def __repr__(self) -> str:
        lines = [f"SteeringEffect(n={len(self.steered)}, seed={self.steered.seed}, "
                 f"steer={self.steered.settings.get('steer')})"]
        for i, (a, b) in enumerate(list(zip(self.unsteered.texts, self.steered.texts))[:4]):
            lines.append(f"  [{i}] - {a[:80]!r}")
            lines.append(f"      + {b[:80]!r}")
        return "\n".join(lines)


def token_logprobs(session: Session, prompt_ids: Sequence[int], continuations: Sequence[Sequence[int]],
                   steering: interventions.Plan | None = None, *, batch_size: int = 16) -> list[list[float]]:
    """Log-probability of each continuation token after ``prompt_ids``, in batched forward passes.

    With a ``steering`` plan (no fuzz) the same vectors are added at every position,
    as ``positions`` says, so this scores text under the steered model.

    Examples
    --------
    >>> out = bench.sample("Hi", n=2, seed=0, max_new_tokens=3, progress=False)
    >>> scores = token_logprobs(bench, out.prompt_ids, out.token_ids)
    >>> [len(row) for row in scores] == [len(ids) for ids in out.token_ids]
    True
    """
    start = len(prompt_ids)
    rows = [list(prompt_ids) + list(ids) for ids in continuations]
    queries = [[(start + j - 1, token) for j, token in enumerate(ids)] for ids in continuations]
    layer, deltas, edit_from = None, None, None
    if steering is not None and steering.noise:
        raise ValueError("Text is scored without fuzzing noise; drop fuzz to score under steering.")
    if steering is not None and steering.deltas:
        if len(steering.deltas) != 1:
            raise ValueError("Scoring supports vectors at one layer; pass layer=... to put them together.")
        ((layer, delta),) = steering.deltas.items()
        deltas = delta[None].expand(len(rows), -1)
        edit_from = [start - 1 if steering.positions == "generated" else 0] * len(rows)
    return residual.forward_logprobs(session, rows, queries, layer=layer, deltas=deltas, edit_from=edit_from,
                                     batch_size=batch_size)


_STEERING = ("steer", "layer", "positions", "fuzz")


def _matches(baseline: Samples, prompt_text: str, n: int, seed: int, options: Mapping) -> bool:
    settings = baseline.settings
    return (baseline.prompt == prompt_text and len(baseline) == n and baseline.seed == seed
            and not baseline.cancelled and "steer" not in settings and "fuzz" not in settings
            and all(settings.get(key) == options[key] for key in ("max_new_tokens", "temperature", "top_p")))


@recorded("steering_effect", options=SampleOptions,
          formerly=("steering.compare", "workbench.techniques.steering:compare"))
def effect(session: Session, conversation: Any, n: int = 4, *, baseline: Samples | None = None,
           **options: Unpack[SampleOptions]) -> SteeringEffect:
    """Sample the same call without and with steering, on one seed, and score the change per token.

    Both runs share the seed, so every difference between them is the steering's
    (with every coefficient 0 and no fuzz only one run is made, and both sides are
    it). ``shift`` holds, for each token of each steered sample, its log-probability
    in the steered run minus its log-probability under the unsteered model (scored in
    one batched forward pass). The steered run goes first: its tokens are what an
    auditor waits for.

    Parameters
    ----------
    conversation, n, **options
        As :meth:`workbench.Workbench.sample` (:class:`~workbench.techniques.sampling.SampleOptions`):
        ``steer``, ``layer``, ``positions`` and ``fuzz`` apply to the steered run only;
        ``seed`` is drawn once when not given and used for both; ``progress`` counts
        the tokens of both runs; a set ``cancel`` raises :class:`workbench.Cancelled`.
    baseline : Samples, optional
        The unsteered samples of an earlier call with the same conversation, ``n``,
        seed and decoding settings: reused instead of sampled again (a ``ValueError``
        says so when they do not match).

    Examples
    --------
    >>> result = effect(bench, "Hi", 2, steer={"ones": 0.0}, max_new_tokens=4, seed=0, progress=False)
    >>> result.steered is result.unsteered, result.shift[0] == [0.0] * len(result.steered.token_ids[0])
    (True, True)
    """
    from ..errors import Cancelled

    o = sampling.sample_options(options, what="effect")
    steering = {key: o[key] for key in _STEERING}
    plan = interventions.plan(session, o["steer"], layer=o["layer"], positions=o["positions"], fuzz=o["fuzz"])
    plain = {key: value for key, value in o.items() if key not in _STEERING and key not in ("progress", "cancel")}
    seed = o["seed"] if o["seed"] is not None else secrets.randbelow(MAX_SEED)
    plain["seed"] = seed
    if baseline is not None:
        prompt = session.render(conversation, persona=o["persona"], prefill=o["prefill"])
        if not _matches(baseline, prompt.text, n, seed, o):
            raise ValueError("baseline= must be the unsteered samples of this conversation with the same n, seed, "
                             "max_new_tokens, temperature and top_p (and not cancelled); leave it out to sample one.")
    cancel, progress = o["cancel"], o["progress"]
    steps = o["max_new_tokens"]
    done = [0]

    def counted(offset: int) -> bool | Callable[[int, int], None]:
        if not callable(progress):
            return progress
        return lambda step, _total: progress(offset + step, total)

    steered = None
    active = bool(plan.noise) or any(coefficient != 0 for coefficient in (plan.settings.get("steer") or {}).values())
    if active and session.remote:
        return _effect_in_one_request(session, conversation, n, plain, steering, baseline, cancel, progress)
    total = steps * ((1 if active else 0) + (1 if baseline is None else 0))
    if active:
        steered = sampling.sample(session, conversation, n, cancel=cancel, progress=counted(0), **plain, **steering)
        done[0] = steps
        if steered.cancelled:
            raise Cancelled("The steering effect was cancelled while sampling the steered side.")
    unsteered = baseline
    if unsteered is None:
        unsteered = sampling.sample(session, conversation, n, cancel=cancel, progress=counted(done[0]), **plain)
        if unsteered.cancelled:
            raise Cancelled("The steering effect was cancelled while sampling the unsteered side.")
    if steered is None:  # nothing to steer: the steered side is the unsteered one
        return SteeringEffect(unsteered, unsteered, [[0.0] * len(ids) for ids in unsteered.token_ids])
    scores = token_logprobs(session, steered.prompt_ids, steered.token_ids)
    shift = [[s - u for s, u in zip(srow, urow)] for srow, urow in zip(steered.logprobs, scores)]
    return SteeringEffect(unsteered, steered, shift)


def _effect_in_one_request(session: Session, conversation: Any, n: int, plain: dict, steering: dict,
                           baseline: Samples | None, cancel: Any, progress: Any) -> SteeringEffect:
    """:func:`effect` on a remote session: the steered run, the unsteered one (unless ``baseline`` is reused) and
    the scoring pass in one request (:func:`workbench.generation.generate_bundle`), with the same results."""
    from .. import generation

    unedited = sampling.sample_options(plain, what="effect")
    prompt, stops, steer_hook, seed, steered_settings = sampling.prepare(
        session, conversation, n, sampling.sample_options({**plain, **steering}, what="effect"))
    _, _, plain_hook, _, plain_settings = sampling.prepare(session, conversation, n, unedited)
    hooks = [steer_hook] + ([plain_hook] if baseline is None else [])
    runs, scores, _ = generation.generate_bundle(
        session, [([prompt.input_ids] * n, hook, stops) for hook in hooks], score=0,
        max_new_tokens=unedited["max_new_tokens"], temperature=unedited["temperature"], top_p=unedited["top_p"],
        seed=seed, cancel=cancel, progress=progress, description=f"steering effect as {prompt.persona}",
    )
    steered = sampling._samples(session, prompt, runs[0], slice(None), steered_settings)
    unsteered = baseline if baseline is not None else sampling._samples(session, prompt, runs[1], slice(None),
                                                                         plain_settings)
    shift = [[s - u for s, u in zip(srow, urow)] for srow, urow in zip(steered.logprobs, scores)]
    return SteeringEffect(unsteered, steered, shift)
