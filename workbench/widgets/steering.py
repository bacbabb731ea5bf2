"""The steering panel: one slider per steering vector, unsteered and steered side by side.

>>> steer = wb.SteeringPanel(bench, "Is the Earth flat?", vectors=["ones"], max_new_tokens=4, seed=0)
>>> panel = wb.ActivationPanel(bench, "The cat sat on the mat")
>>> steer.link(panel)   # "steer with this" in the activation panel adds a slider here
>>> panel.steer(3)      # what that button does, for latent 3
{'latent': 3, 'sae': 'tiny'}
>>> [v["name"] for v in steer.vectors], steer.coefficients
(['ones', 'tiny:3'], {'ones': 0.0, 'tiny:3': 0.0})
>>> steer.coefficients = {"ones": 1.0, "tiny:3": 0.0}   # a slider moved
>>> effect = steer.resample(wait=True).effect   # the panel is shown by ending a cell with it
>>> effect.steered.settings["steer"], effect.steered is not effect.unsteered
({'ones': 1.0}, True)

The same conversation is sampled without steering and with the sliders' coefficients,
on one seed, so every difference is the steering's. Steered tokens are tinted by how
much steering changed their log-probability (steered run minus the unsteered model on
the same tokens). Moving a slider re-samples after a short pause (the front-end
debounces); a run still going is cancelled, never queued behind. The unsteered side is
sampled once per setting and reused while only coefficients change.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

import traitlets

from .. import chat
from ..generation import MAX_SEED
from ..techniques import interventions, steering, vectors
from ..techniques.interventions import check_strength
from ..techniques.vectors import SteeringVector
from ._base import STATIC, Panel, request
from ._buffers import Array, array_serialization

if TYPE_CHECKING:  # pragma: no cover
    from ..techniques.sampling import Samples
    from ..workbench import Workbench
    from .activations import ActivationPanel


class SteeringPanel(Panel):
    """Steer one conversation with sliders and compare with the unsteered samples.

    Parameters
    ----------
    bench : Workbench
    conversation : str or list of dict
        What to sample; a string is one user turn.
    vectors : list of str, optional
        Registered vectors (``bench.vectors``) to give sliders; default all of them.
    n : int
        Samples per side.
    max_coefficient : float
        The sliders run from ``-max_coefficient`` to ``+max_coefficient`` (in units of
        each vector's natural scale).
    panel : ActivationPanel, optional
        Link it at once (see :meth:`link`).
    **settings
        ``prefill``, ``max_new_tokens``, ``temperature``, ``top_p``, ``seed``,
        ``positions`` (``"all"`` or ``"generated"``), ``fuzz``.
    """

    _esm = STATIC / "steering.js"

    text = traitlets.Unicode("").tag(sync=True)
    prefill = traitlets.Unicode("").tag(sync=True)
    n = traitlets.Int(2).tag(sync=True)
    max_new_tokens = traitlets.Int(24).tag(sync=True)
    temperature = traitlets.Float(0.7).tag(sync=True)
    top_p = traitlets.Float(1.0).tag(sync=True)
    seed = traitlets.Int(0).tag(sync=True)
    positions = traitlets.Unicode("all").tag(sync=True)
    fuzz = traitlets.Float(0.0).tag(sync=True)
    vectors = traitlets.List(traitlets.Dict()).tag(sync=True)
    coefficients = traitlets.Dict().tag(sync=True)
    max_coefficient = traitlets.Float(4.0).tag(sync=True)
    results = traitlets.Dict().tag(sync=True)
    _shift = Array().tag(sync=True, **array_serialization)

    def __init__(self, bench: Workbench, conversation: Any = "", *, vectors: list[str] | None = None,
                 n: int = 2, max_coefficient: float = 4.0, panel: ActivationPanel | None = None,
                 seed: int | None = None, **settings: Any) -> None:
        history: list[dict] = []
        text = ""
        if isinstance(conversation, str):
            text = conversation
        elif conversation:
            messages = chat.normalize(conversation)
            if messages[-1]["role"] == "user":
                history, text = messages[:-1], messages[-1]["content"]
            else:
                history = messages
        super().__init__(bench, text=text, n=n, max_coefficient=max_coefficient,
                         seed=secrets.randbelow(MAX_SEED) if seed is None else seed, **settings)
        self._history = history
        self._baseline: Samples | None = None
        self._effect: steering.SteeringEffect | None = None
        #: Seconds from each slider change reaching the kernel to the first steered token.
        self.latencies: list[float] = []
        names = bench.vectors.names() if vectors is None else list(vectors)
        for name in names:
            self.add_vector(name)
        if panel is not None:
            self.link(panel)

    # -- vectors and links -----------------------------------------------------------

    def add_vector(self, vector: str | SteeringVector, coefficient: float = 0.0) -> None:
        """Give a registered vector (or its name) a slider; a non-zero ``coefficient`` re-samples."""
        name = vector.name if isinstance(vector, SteeringVector) else vector
        found = self.bench.vectors[name]  # names the registered ones when unknown
        coefficient = check_strength(coefficient, f"The coefficient of {name!r}")
        entry = {"name": name, "layer": found.layer, "source": found.source, "scale": round(found.scale, 4)}
        with self.hold_sync():
            self.vectors = [v for v in self.vectors if v["name"] != name] + [entry]
            self.coefficients = {**self.coefficients, name: coefficient}

    def link(self, panel: ActivationPanel) -> None:
        """"Steer with this" in ``panel`` adds the feature's slider here."""
        panel.on_steer(self._steer_feature)

    def _steer_feature(self, latent: int, sae: str) -> None:
        try:
            vector = vectors.from_latent(self.bench, latent, sae=sae or None)
            self.add_vector(vector)
        except Exception as error:  # shown in the panel
            self.error = f"{type(error).__name__}: {error}"

    # -- running -----------------------------------------------------------------------

    @property
    def conversation(self) -> list[dict]:
        """The conversation sampled: any earlier turns and the text box as the last user turn."""
        turns = [*self._history, {"role": "user", "content": self.text}] if self.text.strip() else self._history
        return chat.normalize(turns)

    def _steer(self) -> dict:
        known = {v["name"] for v in self.vectors}
        out = {}
        for name, value in self.coefficients.items():
            if name not in known:
                raise ValueError(f"No slider named {name!r}; sliders: {sorted(known) or 'none'}.")
            value = check_strength(value, f"The coefficient of {name!r}")
            if value:
                out[name] = value
        return out

    def resample(self, wait: bool = False, timeout: float | None = None) -> SteeringPanel:
        """Sample steered and unsteered (reused while only coefficients change) on one seed.

        The run is :func:`workbench.techniques.steering.effect`, handed the last
        unsteered samples when they were drawn with the same conversation, seed and
        settings. A run still going is cancelled first. Bad settings raise at once and
        are shown.
        """
        with self._shown():
            conversation = self.conversation
            steer = self._steer()
            options = {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature, "top_p": self.top_p,
                       "prefill": self.prefill or None, "seed": self.seed}
            interventions.plan(self.bench, steer, positions=self.positions, fuzz=self.fuzz)  # refuse before running
            prompt = self.bench.render(conversation, prefill=options["prefill"]).text
        baseline = self._baseline
        if baseline is not None and not (baseline.prompt == prompt and len(baseline) == self.n
                                         and baseline.seed == self.seed
                                         and all(baseline.settings.get(k) == options[k]
                                                 for k in ("max_new_tokens", "temperature", "top_p"))):
            baseline = None
        bench, n = self.bench, self.n
        steering_options = {"steer": steer, "positions": self.positions, "fuzz": self.fuzz}
        requested = time.perf_counter()

        def work(cancel: threading.Event, progress: Any) -> Any:
            first: list[float] = []

            def on_step(step: int, total: int) -> None:
                if not first:
                    first.append(time.perf_counter() - requested)
                progress(step, total)

            result = steering.effect(bench, conversation, n, baseline=baseline, cancel=cancel, progress=on_step,
                                     **options, **steering_options)
            return result, first[0] if first else None

        active = bool(steer) or bool(self.fuzz)
        total = self.max_new_tokens * ((1 if active else 0) + (1 if baseline is None else 0))
        self._launch(work, status="sampling…", replace=True, total=total, wait=wait, timeout=timeout)
        return self

    @property
    def effect(self) -> steering.SteeringEffect | None:
        """The last finished :class:`~workbench.techniques.steering.SteeringEffect`."""
        return self._effect

    def _on_done(self, outcome: Any) -> str:
        result, first_token = outcome
        steered, base = result.steered, result.unsteered
        self._baseline = base
        self._effect = result
        if first_token is not None and steered is not base:
            self.latencies.append(first_token)
        import numpy as np

        tokenizer = self.bench.tokenizer
        pieces = lambda ids: [tokenizer.decode([i]) for i in ids]  # noqa: E731
        with self.hold_sync():
            self.results = {
                "seed": steered.seed,
                "prefill": steered.prefill or "",
                "steer": steered.settings.get("steer") or {},
                "unsteered": [{"tokens": pieces(ids), "finish": r} for ids, r in
                              zip(base.token_ids, base.finish_reasons)],
                "steered": [{"tokens": pieces(ids), "finish": r} for ids, r in
                            zip(steered.token_ids, steered.finish_reasons)],
            }
            self._shift = np.asarray([x for row in result.shift for x in row], dtype=np.float32)
            self.progress = {**self.progress, "step": self.progress.get("total", 0)}
        latency = (f" · first steered token after {first_token:.2f} s"
                   if first_token is not None and steered is not base else "")
        return f"{len(steered)} + {len(base)} samples, seed {steered.seed}{latency}"

    @traitlets.observe("coefficients")
    def _coefficients_changed(self, change: Any) -> None:
        if getattr(self, "_runs", None) is None or change["old"] == change["new"]:
            return
        if set(change["old"]) == set(change["new"]) or any(change["new"].get(k) for k in
                                                          set(change["new"]) - set(change["old"])):
            with contextlib.suppress(Exception):  # already shown in the panel
                self.resample()

    # -- requests from the front-end -------------------------------------------------

    @request
    def run(self) -> dict:
        """The Resample button (also after editing the text or settings)."""
        self.resample()
        return {"started": True}

    @request
    def new_seed(self) -> dict:
        """Draw a new seed (both sides change) and re-sample."""
        self.seed = secrets.randbelow(MAX_SEED)
        self.resample()
        return {"seed": self.seed}


__all__ = ["SteeringPanel"]
