"""The one batched generate every sampling technique goes through.

All rows of a request (n samples of one prompt, or several prompts) are left-padded
into one batch and decoded by ONE ``generate`` call traced by nnsight, so later
techniques can add interventions to the same call. Per-token log-probabilities are
read off the raw logits step by step (no ``[steps, batch, vocab]`` tensor is kept),
a progress bar follows the steps (:mod:`workbench._progress`), and a
``threading.Event`` stops decoding after the current step. The generation is opened
by :meth:`Session.generate`, the one place where the model runs.
"""

from __future__ import annotations

import copy
import secrets
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._progress import progress_bar
from .errors import Cancelled

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

MAX_SEED = 2**31 - 1
# nnsight's warning when a ``tracer.all()`` loop asks for a step past the last one
_OUTRAN = r".*was never reached: the loop asked for a step the run did not make"


@dataclass
class Generated:
    """Raw output of :func:`generate`: one row per prompt row, padding removed.

    Attributes
    ----------
    token_ids : list[list[int]]
        New tokens of each row, cut before its stop token.
    logprobs : list[list[float]]
        The model's log-probability (temperature 1, before top-p) of each new token.
    finish_reasons : list[str]
        ``"stop"`` (a stop token), ``"length"`` (max_new_tokens) or ``"cancelled"``.
    cancelled : bool
        Whether the cancel event stopped decoding early.
    seed : int
        The seed the run used (set inside the trace: on the server for a remote run).
    """

    token_ids: list[list[int]]
    logprobs: list[list[float]]
    finish_reasons: list[str]
    cancelled: bool
    seed: int


def check_settings(
    n: int, max_new_tokens: int, temperature: float, top_p: float, seed: int | None
) -> None:
    """Refuse sampling settings that cannot mean anything, naming the fix."""
    import math

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number >= 1 (samples to draw), not {n!r}.")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a whole number >= 1, not {max_new_tokens!r}.")
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(
            f"temperature must be a finite number >= 0 (0 means greedy decoding), not {temperature!r}."
        )
    if not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], not {top_p!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        raise ValueError(f"seed must be None or a whole number in [0, {MAX_SEED}], not {seed!r}.")


def generation_config(
    base: Any,
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    stop_ids: Sequence[int] | None,
    pad_id: int,
) -> Any:
    """A ``GenerationConfig`` that says every setting explicitly.

    The checkpoint's own defaults (a ``top_k`` of 50, a preferred temperature) are
    overridden so that what the user asked for is exactly what runs.
    """
    from transformers import GenerationConfig

    config = copy.deepcopy(base) if base is not None else GenerationConfig()
    # transformers fills every ``None`` from the checkpoint's defaults, so each
    # setting is given a neutral value rather than unset.
    sample = temperature > 0
    config.do_sample = sample
    if sample:
        config.temperature = float(temperature)
        config.top_p = float(top_p)
        config.top_k = 0
        if config.min_p:
            config.min_p = 0.0
    config.typical_p = 1.0
    config.repetition_penalty = 1.0
    config.no_repeat_ngram_size = 0
    config.max_new_tokens = max_new_tokens
    config.min_new_tokens = 0
    config.num_beams = 1
    config.num_return_sequences = 1
    config.eos_token_id = list(stop_ids or [])  # [] decodes to max_new_tokens
    config.pad_token_id = pad_id
    return config


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """Stack token rows into ``input_ids`` and ``attention_mask``, padded on the left."""
    import torch

    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row):] = 1
    return ids, mask


def _fork_rng(device: str):
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index
        return torch.random.fork_rng(devices=[index if index is not None else torch.cuda.current_device()])
    return torch.random.fork_rng(devices=[])


def generate(
    session: Session,
    rows: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int | None = None,
    stop_ids: Sequence[int] | None = None,
    cancel: threading.Event | None = None,
    progress: bool | Callable[[int, int], None] = True,
    description: str = "sampling",
    intervene: Callable[[Any, Any], None] | None = None,
) -> Generated:
    """Decode all ``rows`` in one batched, nnsight-traced ``generate`` of the session's model.

    Parameters
    ----------
    session : Session
    rows : sequences of token ids, one per output row (left-padded here with the
        session's pad token)
    stop_ids : token ids that end a row (``None``: run to ``max_new_tokens``)
    progress : show a progress bar (after a second), or a callable ``progress(step, total)``
        called after each decoding step (for widgets' progress bars)
    intervene : called as ``intervene(model, tracer)`` inside the trace, for
        techniques that edit activations during generation. It may loop over
        every decoding step (``for step in tracer.all(): ...``); such a loop ends
        by outrunning the last step, so nothing after it in the trace body runs,
        and the tokens are then read from the stopping criterion (which sees every
        sampled token) rather than from ``tracer.result``.

    The seed is set inside the trace, so a remote run (decoded on the server) draws
    the same samples as a local one, and it is returned either way. A remote run
    reports progress when it is sent and when it comes back, and cannot be stopped
    once sent: a ``cancel`` set before sending raises :class:`workbench.Cancelled`,
    one set while it runs is answered with a warning that it ran to the end.
    """
    import nnsight
    import torch

    from ._traced import recorder_classes

    ids, mask = left_pad(rows, session.pad_token_id)
    config = generation_config(
        getattr(session.module, "generation_config", None),
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        stop_ids=stop_ids,
        pad_id=session.pad_token_id,
    )
    if seed is None:
        seed = secrets.randbelow(MAX_SEED)
    remote = bool(session.remote)
    if remote and cancel is not None and cancel.is_set():
        raise Cancelled(f"{description} was cancelled before its request was sent.")
    StepRecorder, StopRecorder = recorder_classes()
    total = max_new_tokens
    bar = progress_bar(progress, total, f"{description} ({len(rows)} rows)", unit="tok")
    # on a server there is no bar to move and no event to read: the recorders go without them
    recorder = StepRecorder(None if remote else bar)
    state = {"logprobs": [], "sequences": None, "fired": False}
    stopper = StopRecorder(state, recorder, None if remote else cancel)
    model, device = session.model, session.device
    inputs = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
    try:
        with torch.inference_mode(), _fork_rng(device), warnings.catch_warnings():
            if intervene is not None:  # an every-step loop outruns the run by design
                warnings.filterwarnings("ignore", message=_OUTRAN, category=UserWarning)
            with session.generate(
                inputs,
                generation_config=config,
                logits_processor=[recorder],
                stopping_criteria=[stopper],
            ) as tracer:
                torch.manual_seed(seed)  # here, not before: on a server this is where sampling happens
                state = nnsight.save(state)  # filled while decoding; saved first, as nothing after a loop runs
                if intervene is not None:
                    intervene(model, tracer)
        if remote:
            bar.update(total)
    finally:
        bar.close()
    if remote:
        _warn_if_cancelled_late(cancel, description)
    return _from_state(state, ids.shape[1], len(rows), stop_ids, max_new_tokens, bool(state["fired"]), seed)


def _warn_if_cancelled_late(cancel: threading.Event | None, description: str) -> None:
    """Warn (:class:`RemoteCancelIgnored`) when Cancel was set after a remote request was sent."""
    if cancel is not None and cancel.is_set():
        warnings.warn(f"Cancel came after {description}'s request was sent to a remote backend, which cannot stop "
                      "a job once it runs: it ran to the end, and its results are kept.", RemoteCancelIgnored,
                      stacklevel=3)


def _from_state(state: dict, start: int, n_rows: int, stop_ids: Sequence[int] | None, max_new_tokens: int,
                cancelled: bool, seed: int) -> Generated:
    """The :class:`Generated` of a run from what its recorders filled in (prompts ``start`` tokens wide)."""
    import torch

    new = state["sequences"][:, start: start + max_new_tokens]
    steps = state["logprobs"][: new.shape[1]]
    logprobs = torch.stack(steps, dim=1) if steps else torch.zeros(n_rows, 0)
    return _trim(new, logprobs, stop_ids, max_new_tokens, cancelled, seed)


def generate_bundle(
    session: Session,
    runs: Sequence[tuple[Sequence[Sequence[int]], Callable[[Any, Any], None] | None, Sequence[int] | None]],
    *,
    score: int | None = None,
    reads: Sequence[tuple[Any, Callable[[Any], Any], bool]] = (),
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int,
    cancel: threading.Event | None = None,
    progress: bool | Callable[[int, int], None] = True,
    description: str = "sampling",
) -> tuple[list[Generated], list[list[float]] | None, list]:
    """Several generations on a REMOTE session in ONE request: one per ``(rows, hook, stop_ids)`` of ``runs``
    (``hook`` an ``intervene`` of :func:`generate`, or ``None`` for the unedited model), each on ``seed``; with
    ``score=i`` also every token run ``i`` sampled, scored under the unedited model (its log-probability, as
    :func:`workbench.techniques.steering.token_logprobs` gives it, cut at the same stop tokens); before them the
    forward passes of ``reads`` (``(inputs, read, stop)`` as for :meth:`~workbench.session.Session.trace_each`).

    It is an nnsight session: the passes, the generations and the scoring run one after another on the server
    and come back together, so a steering panel's move (steered and unsteered samples and the shift between them)
    or a diff of one model (its residual streams, neurons, value vectors and samples) costs one request. Returns
    the :class:`Generated` of each run, the scores (``None`` without ``score``) and what each read returned.
    Cancel and progress are as for a remote :func:`generate`.
    """
    import torch

    from ._traced import recorder_classes

    if not session.remote:
        raise ValueError("generate_bundle bundles a remote session's runs into one request; a local session runs "
                         "them one after another with generate().")
    if score is not None and not 0 <= score < len(runs):
        raise ValueError(f"score must index one of the {len(runs)} runs, not {score!r}.")
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{description} was cancelled before its request was sent.")
    StepRecorder, StopRecorder = recorder_classes()
    device = session.device
    planned, shapes = [], []
    for rows, hook, stop_ids in runs:
        ids, mask = left_pad(rows, session.pad_token_id)
        config = generation_config(
            getattr(session.module, "generation_config", None), max_new_tokens=max_new_tokens,
            temperature=temperature, top_p=top_p, stop_ids=stop_ids, pad_id=session.pad_token_id,
        )
        state = {"logprobs": [], "sequences": None, "fired": False}
        recorder = StepRecorder(None)
        inputs = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
        planned.append((inputs, hook, state, {"generation_config": config, "logits_processor": [recorder],
                                              "stopping_criteria": [StopRecorder(state, recorder, None)]}))
        shapes.append((ids.shape[1], len(rows), stop_ids))
    from .layout import final_norm, unembedding_envoy

    scoring = None
    if score is not None:  # the scored run's tokens under the unedited model, one number a token
        norm, unembed = final_norm(session), unembedding_envoy(session)
        cap = getattr(session.config, "final_logit_softcapping", None)
        start = shapes[score][0]

        def read(sequences: Any) -> Any:
            logits = unembed(norm.output[:, start - 1:-1]).float()
            if cap:
                logits = torch.tanh(logits / cap) * cap
            picked = torch.log_softmax(logits, -1).gather(2, sequences[:, start:, None].to(logits.device))
            return picked[:, :, 0].cpu()

        scoring = (score, read)
    total = max_new_tokens * len(runs) + len(reads)
    bar = progress_bar(progress, total, f"{description} ({len(runs)} runs, {len(reads)} passes)", unit="step")
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_OUTRAN, category=UserWarning)
            states, scores, values = session.generate_each(planned, seed=seed, score=scoring, reads=reads)
        bar.update(total)
    finally:
        bar.close()
    _warn_if_cancelled_late(cancel, description)
    out = [_from_state(state, start, n_rows, stop_ids, max_new_tokens, False, seed)
           for state, (start, n_rows, stop_ids) in zip(states, shapes)]
    scored = None
    if score is not None:
        scored = [row[: len(tokens)] for row, tokens in zip(scores.tolist(), out[score].token_ids)]
    return out, scored, values


class RemoteCancelIgnored(UserWarning):
    """Cancel was asked of a remote job already sent: it cannot be stopped, so it ran to the end."""


def _trim(new, logprobs, stop_ids, max_new_tokens: int, cancelled: bool, seed: int | None) -> Generated:
    stops = set(stop_ids or ())
    token_rows, logprob_rows, reasons = [], [], []
    for tokens, scores in zip(new.tolist(), logprobs.tolist()):
        cut = next((i for i, token in enumerate(tokens) if token in stops), None)
        if cut is not None:
            reasons.append("stop")
        else:
            cut = len(tokens)
            reasons.append("cancelled" if cancelled and cut < max_new_tokens else "length")
        token_rows.append(tokens[:cut])
        logprob_rows.append(scores[:cut])
    return Generated(token_rows, logprob_rows, reasons, cancelled, seed)
