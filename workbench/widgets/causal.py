"""The causal panel: does a latent or an activation cause the output? Attribution and activation patching.

>>> view = wb.CausalPanel(bench, prompt="The cat sat on the", target=" mat", run=True)
>>> view.wait(), view.attribution.target, len(view.attribution_rows) > 0
(True, ' mat', True)

Two modes, one panel. **Attribution**: a prompt and a target continuation; Run ranks the
SAE's latents at each token by their attribution to the target's log-probability
(:func:`workbench.techniques.attribution.attribute`), shown as a table of tokens and their
top latents; clicking a latent zeroes it there and shows the measured change next to what
the attribution predicted. **Patching**: a clean and a corrupted prompt (the same number
of tokens) and a target token; Run patches each layer × position of a site from the clean
run into the corrupted one (:func:`workbench.techniques.patching.patch`), with progress and
Cancel between batches; the effect comes as a binary ``[layers, positions]`` array drawn as
a heat map, and clicking a cell shows the patched run's greedy text. The altair heat map
(:meth:`Patching.chart`) sits under the panel.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import traitlets

from ..techniques import attribution as attribution_mod
from ..techniques import patching as patching_mod
from ._base import STATIC, Panel, request
from ._buffers import Array, array_serialization
from ._charts import ChartHolder

if TYPE_CHECKING:  # pragma: no cover
    from ..workbench import Workbench

MODES = ("attribution", "patching")
SITES = ("resid_post", "attn_out", "mlp_out", "resid_mid", "mlp_in")


class CausalPanel(ChartHolder, Panel):
    """Attribution to SAE latents and activation patching, run in the background with progress and Cancel.

    Parameters
    ----------
    bench : Workbench
    prompt, target : str
        Attribution's prompt and the continuation attributed.
    clean, corrupted, patch_target : str
        Patching's two prompts and the token read (empty: the clean run's most likely one).
    mode : {"attribution", "patching"}
        The mode shown first.
    sae : str, optional
        The registered SAE attributed (default: the session's first).
    site : str
        What patching patches: ``"resid_post"``, ``"attn_out"``, ``"mlp_out"``…
    k : int
        Latents shown per token.
    layers : list of int, optional
        The layers patching patches (default every layer).
    batch_size : int
        Patched runs per trace (Cancel acts between batches).
    run : bool
        Run the shown mode at once.

    Examples
    --------
    >>> view = wb.CausalPanel(bench, clean="The quick fox jumps to the", corrupted="The honest fox jumps to the",
    ...                       mode="patching", run=True)
    >>> view.wait(), view.patching.effect.shape
    (True, (2, 6))
    >>> isinstance(view.cell_text(1, 5)["text"], str)
    True
    """

    _esm = STATIC / "causal.js"

    mode = traitlets.Unicode("attribution").tag(sync=True)
    prompt = traitlets.Unicode("").tag(sync=True)
    target = traitlets.Unicode("").tag(sync=True)
    sae = traitlets.Unicode("").tag(sync=True)
    saes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    k = traitlets.Int(5).tag(sync=True)
    clean = traitlets.Unicode("").tag(sync=True)
    corrupted = traitlets.Unicode("").tag(sync=True)
    patch_target = traitlets.Unicode("").tag(sync=True)
    site = traitlets.Unicode("resid_post").tag(sync=True)
    attribution_result = traitlets.Dict().tag(sync=True)
    attribution_rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    ablation = traitlets.Dict().tag(sync=True)
    patching_result = traitlets.Dict().tag(sync=True)
    effect = Array().tag(sync=True, **array_serialization)
    cell = traitlets.Dict().tag(sync=True)

    def __init__(self, bench: Workbench, prompt: str = "", target: str = "", *, clean: str = "", corrupted: str = "",
                 patch_target: str = "", mode: str = "attribution", sae: str | None = None, site: str = "resid_post",
                 k: int = 5, layers: Any = None, batch_size: int = patching_mod.BATCH_SIZE,
                 run: bool = False) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}.")
        attribution_mod.check_k(k)
        names = list(bench.saes.names())
        if sae is not None and sae not in names:
            bench.saes[sae]  # raises, naming the registered ones
        super().__init__(bench, prompt=prompt, target=target, clean=clean, corrupted=corrupted,
                         patch_target=patch_target, mode=mode, sae=sae or (names[0] if names else ""), saes=names,
                         site=site, k=int(k))
        self.effect = None
        self.batch_size = int(batch_size)
        self.layers = None if layers is None else patching_mod.check_indices(layers, bench.n_layers, "layers")
        self._attribution: attribution_mod.Attribution | None = None
        self._patching: patching_mod.Patching | None = None
        self._chart: Any = None
        if run:
            self.run()

    # -- results --------------------------------------------------------------------

    @property
    def attribution(self) -> attribution_mod.Attribution | None:
        """The last attribution shown (None before)."""
        return self._attribution

    @property
    def patching(self) -> patching_mod.Patching | None:
        """The last patching result shown (None before)."""
        return self._patching

    # -- running ----------------------------------------------------------------------

    def run(self, wait: bool = False, timeout: float | None = None) -> CausalPanel:
        """Run the shown mode (the Run button); bad input raises and is shown in the panel."""
        if self.mode == "patching":
            return self.run_patching(wait=wait, timeout=timeout)
        return self.run_attribution(wait=wait, timeout=timeout)

    def run_attribution(self, wait: bool = False, timeout: float | None = None) -> CausalPanel:
        """Attribute the target to the SAE's latents, token by token."""
        with self._shown():
            if not self.prompt.strip():
                raise ValueError("Type a prompt to attribute.")
            if not self.target:
                raise ValueError("Type the target continuation, e.g. ' Paris' (with its leading space).")
            if not self.saes:
                raise ValueError("No SAE is registered on this workbench: load one with bench.saes.load_path(...).")
            attribution_mod.check_k(self.k)
        bench, prompt, target, sae, k = self.bench, self.prompt, self.target, self.sae or None, self.k

        def work(cancel: threading.Event, progress: Any) -> Any:
            progress(0, 1)
            result = attribution_mod.attribute(bench, prompt, target, sae=sae, k=k)
            progress(1, 1)
            return result

        self._launch(work, status=f"attributing {target!r} to the latents of {sae!r}…", replace=True, total=1,
                     wait=wait, timeout=timeout)
        return self

    def run_patching(self, wait: bool = False, timeout: float | None = None) -> CausalPanel:
        """Patch every layer × position of the site from the clean run into the corrupted one."""
        with self._shown():
            if not self.clean.strip() or not self.corrupted.strip():
                raise ValueError("Type a clean and a corrupted prompt (the same number of tokens).")
            patching_mod.site_kind(self.bench, self.site)
        bench, clean, corrupted, site = self.bench, self.clean, self.corrupted, self.site
        target, batch_size, layers = self.patch_target or None, self.batch_size, self.layers
        total = len(layers or range(bench.n_layers)) * len(bench.tokenizer(clean)["input_ids"])

        def work(cancel: threading.Event, progress: Any) -> Any:
            return patching_mod.patch(bench, clean, corrupted, target, site=site, layers=layers,
                                      batch_size=batch_size, cancel=cancel, progress=progress)

        self._launch(work, status=f"patching {site} layer by layer, token by token (Cancel stops it)…",
                     replace=True, total=total, wait=wait, timeout=timeout)
        return self

    def _on_done(self, result: Any) -> str:
        if isinstance(result, patching_mod.Patching):
            self._show_patching(result)
            layer, position = result.best()
            return (f"patched {len(result.layers)} layers × {len(result.positions)} positions: p({result.target!r}) "
                    f"{result.p_corrupted:.3f} corrupted, {result.p_clean:.3f} clean; most restored at layer {layer}, "
                    f"token {position} ({result.tokens[position]!r})")
        self._show_attribution(result)
        return (f"attributed {result.target!r} (log-prob {result.logprob:.3f}) to {result.sae!r} at layer "
                f"{result.layer}: click a latent to zero it")

    def _show_attribution(self, result: attribution_mod.Attribution) -> None:
        self._attribution = result
        rows = [{"position": int(r.position), "latent": int(r.latent), "activation": float(r.activation),
                 "attribution": float(r.attribution)} for r in result.frame.itertuples()]
        with self.hold_sync():
            self.attribution_result = {"tokens": list(result.tokens), "target": result.target,
                                       "logprob": float(result.logprob), "sae": result.sae, "layer": result.layer,
                                       "site": result.site}
            self.attribution_rows = rows
            self.ablation = {}

    def _show_patching(self, result: patching_mod.Patching) -> None:
        self._patching = result
        with self.hold_sync():
            self.patching_result = {"tokens": list(result.tokens), "corrupted_tokens": list(result.corrupted_tokens),
                                    "layers": list(result.layers), "positions": list(result.positions),
                                    "target": result.target, "p_clean": result.p_clean,
                                    "p_corrupted": result.p_corrupted, "site": result.site,
                                    "best": list(result.best())}
            self.effect = np.asarray(result.effect, dtype=np.float32)
            self.cell = {}
        self._redraw_chart()

    # -- clicks -------------------------------------------------------------------------

    def ablate(self, position: int, latent: int) -> dict:
        """Zero one latent at one token and show the measured change beside the attribution's prediction."""
        result = self._attribution
        if result is None:
            raise ValueError("Run an attribution first.")
        with self._model():
            measured = result.ablate([(int(position), int(latent))])
        row = result.frame[(result.frame.position == position) & (result.frame.latent == latent)]
        predicted = float(row.attribution.iloc[0]) if len(row) else None
        self.ablation = {"position": int(position), "latent": int(latent), "token": result.tokens[int(position)],
                         "attribution": predicted, "change": float(measured.change[0]),
                         "logprob": float(measured.logprob[0])}
        return dict(self.ablation)

    def cell_text(self, layer: int, position: int, max_new_tokens: int = 12) -> dict:
        """The patched run's greedy text for one cell, shown in the panel."""
        result = self._patching
        if result is None:
            raise ValueError("Run a patching first.")
        with self._model():
            text = result.text(int(layer), int(position), max_new_tokens=max_new_tokens)
        i, j = result.layers.index(int(layer)), result.positions.index(int(position))
        self.cell = {"layer": int(layer), "position": int(position), "text": text,
                     "effect": float(result.effect[i, j]), "prob": float(result.probs[i, j]),
                     "token": result.tokens[int(position)], "corrupted_token": result.corrupted_tokens[int(position)]}
        return dict(self.cell)

    # -- the chart ------------------------------------------------------------------

    def _current_chart(self) -> Any | None:
        return None if self._patching is None else self._patching.chart()

    # -- requests from the front-end ------------------------------------------------

    @request
    def start(self) -> dict:
        """The Run button."""
        self.run()
        return {"started": True}

    @request
    def ablate_latent(self, position: int, latent: int) -> dict:
        """A click on a latent."""
        return self.ablate(position, latent)

    @request
    def patched_text(self, layer: int, position: int) -> dict:
        """A click on a heat-map cell."""
        return self.cell_text(layer, position)


__all__ = ["CausalPanel"]
