"""The activation panel: tokens coloured by a feature, token and feature details, logit lens.

>>> panel = wb.ActivationPanel(bench, "The cat sat on the mat")   # shown by ending a notebook cell with it
>>> panel.activations
TokenActivations(11 tokens, sae='tiny', layer=1, k=32)
>>> panel.tokens[:3], sorted(panel.token(2))   # what clicking token 2 asks for
(['The', ' c', 'at'], ['features', 'index', 'token'])
>>> panel.show_probe("polite").shape   # colour the tokens by a probe's score
(11,)
>>> sorted(panel.feature(3)["neighbours"]), panel.span(1, 3)["text"]   # a feature's dashboard; a span's features
(['coactivation', 'decoder'], ' cat')

State travels as traits (tokens, and the per-token top latents as binary payloads);
details are requests the front-end makes when the auditor clicks: a token's top
features; a feature's dashboard (its activation over the text, a histogram of its
activations over the corpus, its top examples and examples binned by activation
quantile, the tokens it promotes and suppresses, its neighbours by decoder cosine and
by co-activation, each with its explanation); the features of a span of tokens
(shift-click or drag over the strip); the logit-lens grid. "Steer with this" appends the feature to
``steer_requests`` and calls the ``on_steer`` callbacks, for the steering panel.
A probe registered on the session (``bench.probe(...)``) can colour the tokens by
its score instead of a feature (the probe menu, or :meth:`ActivationPanel.show_probe`).
With ``follow_agent`` on (the "follow agent" box), the panel shows what an auditing agent
reads over MCP (``bench.serve()``) as it reads it: the conversation of its ``top_features``
call with those features listed and the first one colouring the tokens, or the feature it
looked up (``agent_focus`` says which call, by whom).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import traitlets

from ._base import STATIC, Panel, request
from ._buffers import Array, array_serialization, to_buffer

NEIGHBOURS = 5       # neighbours of each kind in the feature view
SPAN_FEATURES = 10   # latents listed for a span

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..techniques.activations import TokenActivations
    from ..workbench import Workbench


class ActivationPanel(Panel):
    """Live activations of one text or conversation on a Workbench.

    Parameters
    ----------
    bench : Workbench
    text : str or list of dict, optional
        What to show first; the panel's text box runs new text.
    sae : str, optional
        A registered SAE (default: the first one).
    k : int
        Latents kept per token.
    follow_agent : bool
        Show what an auditing agent reads over MCP as it reads it (see the module's text).
    """

    _esm = STATIC / "activations.js"

    text = traitlets.Unicode("").tag(sync=True)
    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    sae = traitlets.Unicode("").tag(sync=True)
    layer = traitlets.Int(-1).tag(sync=True)
    n_layers = traitlets.Int(0).tag(sync=True)
    selected_token = traitlets.Int(-1).tag(sync=True)
    selected_feature = traitlets.Int(-1).tag(sync=True)
    steer_requests = traitlets.List(traitlets.Int()).tag(sync=True)
    probes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected_probe = traitlets.Unicode("").tag(sync=True)
    follow_agent = traitlets.Bool(False).tag(sync=True)
    agent_focus = traitlets.Dict().tag(sync=True)
    _top_latents = Array().tag(sync=True, **array_serialization)
    _top_values = Array().tag(sync=True, **array_serialization)

    def __init__(self, bench: Workbench, text: Any = None, *, sae: str | None = None, k: int = 32,
                 follow_agent: bool = False, **kwargs: Any) -> None:
        from .._agent_focus import agent_focus

        super().__init__(bench, follow_agent=follow_agent, **kwargs)
        self.k = k
        self._sae_name = sae
        self._acts: TokenActivations | None = None
        self._steer_callbacks: list[Callable[[int, str], None]] = []
        self._show_callbacks: list[Callable[[TokenActivations], None]] = []
        self.n_layers = bench.n_layers
        self.probes = bench.probes.names()
        bench.probes.observe(self._on_probe_registered)
        self._focus_seq = 0
        agent_focus(bench).observe(self._on_agent_focus)
        if text is not None:
            self.show(text)

    # -- Python side -------------------------------------------------------------

    @property
    def activations(self) -> TokenActivations | None:
        """The :class:`TokenActivations` on display."""
        return self._acts

    def show(self, text: Any) -> TokenActivations:
        """Run ``text`` (a string or a conversation) and display it."""
        with self._model():
            acts = self.bench.activations(text, sae=self._sae_name, k=self.k)
        self._display(acts)
        for callback in self._show_callbacks:
            callback(acts)
        return acts

    def _display(self, acts: TokenActivations, **traits: Any) -> None:
        self._acts = acts
        with self.hold_sync():
            self.text = acts.text
            self.tokens = acts.tokens
            self.sae = acts.sae or ""
            self.layer = acts.layer if acts.layer is not None else -1
            self._top_latents = acts.top_latents
            self._top_values = acts.top_values
            self.selected_token = -1
            self.error = ""
            for name, value in traits.items():
                setattr(self, name, value)

    def _on_agent_focus(self, focus: Any) -> None:
        """A look of the agent's (see :mod:`workbench._agent_focus`): shown when following.

        Runs in the server's thread; the activations are the agent call's own, so nothing
        runs on the model here.
        """
        if not self.follow_agent:
            return
        self._focus_seq += 1
        shown = focus.activations is not None
        # a feature by id alone is coloured on the text on display only when it is of that text's SAE
        selectable = shown or (self._acts is not None and focus.sae in (None, self.sae))
        state = {"seq": self._focus_seq, "actor": focus.actor or "", "tool": focus.tool,
                 "latents": list(focus.latents), "conversation_id": focus.conversation_id or "",
                 "sae": focus.sae or "", "text_shown": shown, "selectable": bool(selectable and focus.latents)}
        if shown:
            self._display(focus.activations, agent_focus=state)
        else:
            self.agent_focus = state

    def show_probe(self, probe: Any = None) -> np.ndarray | None:
        """Colour the tokens by a registered probe's score (``None``: back to features).

        Returns the scores (``[positions]``, in [0, 1]) of the text on display.
        """
        if probe is None or probe == "":
            self.selected_probe = ""
            return None
        name = probe if isinstance(probe, str) else getattr(probe, "name", None)
        if name not in self.bench.probes:
            known = ", ".join(self.bench.probes.names()) or "none yet"
            raise ValueError(f"No probe named {name!r} is registered on the session (registered: {known}).")
        scores = self._require().probe_scores(name)
        self.selected_probe = name
        return scores

    def _on_probe_registered(self, name: str) -> None:
        self.probes = self.bench.probes.names()

    def on_show(self, callback: Callable[[TokenActivations], None]) -> None:
        """Call ``callback(activations)`` each time the panel shows a text (e.g. to bring its tab forward)."""
        self._show_callbacks.append(callback)

    def on_steer(self, callback: Callable[[int, str], None]) -> None:
        """Call ``callback(latent, sae_name)`` when the auditor clicks "steer with this"."""
        self._steer_callbacks.append(callback)

    def _stats(self):
        if not self.sae:
            return None
        with self._model():
            return self.bench.feature_stats(self.sae, progress=False)

    # -- requests from the front-end -----------------------------------------------

    @request
    def run(self, text: str) -> dict:
        """Run new text typed in the panel."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("Type some text to run.")
        acts = self.show(text)
        return {"tokens": len(acts.tokens)}

    @request
    def token(self, index: int) -> dict:
        """The top features of one token, with density and promoted tokens."""
        acts = self._require()
        if not 0 <= index < len(acts.tokens):
            raise ValueError(f"token index must be in 0..{len(acts.tokens) - 1}, not {index}.")
        self.selected_token = index
        stats = self._stats()
        rows = []
        for latent, value in zip(acts.top_latents[index], acts.top_values[index]):
            if value <= 0:
                break
            row = {"latent": int(latent), "activation": float(value)}
            if stats is not None:
                row["density"] = float(stats.density[int(latent)])
                row["promoted"] = [t for t, _ in stats.promoted(int(latent))[:5]]
            rows.append(row)
        if stats is not None and rows:
            texts = self._explanation_texts(stats, [row["latent"] for row in rows])
            for row in rows:
                row["explanation"] = texts.get(row["latent"], "")
        return {"index": index, "token": acts.tokens[index], "features": rows}

    def _explanation_texts(self, stats, latents: list[int]) -> dict[int, str]:
        """Rule-based explanations of the latents (cached after the first time), ``{}`` if they cannot be had."""
        from ..techniques import explain

        try:
            with self._model():
                return {e.latent: e.text for e in explain.explanations_for(self.bench, stats, latents)}
        except Exception:  # an explanation is a courtesy: the token view still shows
            return {}

    @request
    def feature(self, latent: int) -> dict:
        """One feature: its activation over every token, corpus examples, promoted tokens."""
        acts = self._require()
        values = acts.feature(int(latent))
        self.selected_feature = int(latent)
        out: dict = {"latent": int(latent), "values": to_buffer(values), "max": float(values.max(initial=0.0))}
        stats = self._stats()
        if stats is not None:
            detail = stats.feature(int(latent))
            counts, edges = stats.activation_histogram(int(latent))
            out.update(density=detail.density, promoted=[list(p) for p in detail.promoted],
                       suppressed=[list(p) for p in detail.suppressed], examples=detail.examples[:8],
                       quantiles=[{**b, "quantiles": list(b["quantiles"]), "examples": b["examples"][:3]}
                                  for b in detail.quantiles],
                       histogram={"counts": to_buffer(counts), "edges": to_buffer(edges)})
            out.update(self._explanation(stats, int(latent)))
            out["neighbours"] = self._neighbours(stats, int(latent))
        return out

    def _neighbours(self, stats, latent: int, k: int = NEIGHBOURS) -> dict:
        """The nearest latents by decoder cosine and by co-activation over the corpus, each with its rule-based
        explanation (``{by: [{latent, similarity, explanation}]}``; a part that fails is left empty)."""
        from ..techniques import feature_search

        out: dict = {}
        for by in feature_search.BY:
            try:
                with self._model():
                    latents, similarity, _ = feature_search.nearest_latents(stats, latent, by=by, k=k)
            except Exception:  # neighbours are a courtesy: the feature view still shows
                latents, similarity = [], []
            texts = self._explanation_texts(stats, latents) if latents else {}
            out[by] = [{"latent": la, "similarity": round(s, 4), "explanation": texts.get(la, "")}
                       for la, s in zip(latents, similarity)]
        return out

    @request
    def span(self, start: int, stop: int) -> dict:
        """The features that fire on tokens ``start:stop`` more than on the rest of the text (a selection over
        the token strip), each with its explanation."""
        from ..techniques import feature_search

        acts = self._require()
        with self._model():
            found = feature_search.span_features(self.bench, acts, int(start), int(stop), k=SPAN_FEATURES)
        rows = [{"latent": int(r.latent), "span": float(r.span), "elsewhere": float(r.elsewhere),
                 "contrast": float(r.similarity), "explanation": str(r.explanation)}
                for r in found.frame.itertuples()]
        return {"start": int(start), "stop": int(stop), "text": found.query["text"], "features": rows}

    def _explanation(self, stats, latent: int) -> dict:
        """The latent's rule-based explanation with its detection score, and a published one if imported (text
        only: the front-end shows both with ``textContent``)."""
        from ..techniques import explain, published

        try:
            with self._model():
                found = explain.explanations_for(self.bench, stats, [latent])[0]
        except Exception as error:  # an explanation is a courtesy: the feature view still shows
            return {"explanation": {"text": "", "explainer": "rules", "score": None, "scorer": None,
                                    "note": f"no explanation: {type(error).__name__}: {str(error)[:200]}"}}
        out: dict = {"explanation": {"text": found.text, "explainer": found.explainer, "score": found.score,
                                     "scorer": found.scorer, "note": found.note}}
        imported = published.imported(self.bench, stats.entry).get(latent)
        if imported:
            out["published"] = imported
        return out

    @request
    def probe(self, name: str) -> dict:
        """A registered probe's score at every token of the text on display."""
        scores = self.show_probe(name)
        if scores is None:
            return {"name": ""}
        found = self.bench.probes[name]
        return {"name": name, "layer": int(found.layer), "values": to_buffer(scores),
                "accuracy": float(getattr(found, "accuracy", float("nan")))}

    @request
    def lens(self) -> dict:
        """The logit-lens grid: top token and probability per layer and position."""
        acts = self._require()
        with self._model():
            lens = acts.lens
        return {
            "layers": lens.layers,
            "ids": to_buffer(lens.token_ids[:, :, 0]),
            "probs": to_buffer(lens.probs[:, :, 0]),
            "strings": {str(i): s for i, s in _strings(lens).items()},
        }

    @request
    def steer(self, latent: int) -> dict:
        """Hand a feature to steering: recorded in ``steer_requests`` and sent to callbacks."""
        self._require()
        latent = int(latent)
        self.steer_requests = [*self.steer_requests, latent]
        for callback in self._steer_callbacks:
            callback(latent, self.sae)
        return {"latent": latent, "sae": self.sae}

    def _require(self) -> TokenActivations:
        if self._acts is None:
            raise ValueError("Nothing is shown yet: type some text and press Run.")
        return self._acts


def _strings(lens) -> dict[int, str]:
    out: dict[int, str] = {}
    for layer_ids, layer_tokens in zip(lens.token_ids, lens.tokens):
        for ids, strings in zip(layer_ids, layer_tokens):
            out[int(ids[0])] = strings[0]
    return out


def payload_bytes(panel: ActivationPanel) -> int:
    """Bytes of the synced state of a panel (binary payloads plus JSON text)."""
    import json

    binary = sum(int(a.nbytes) for a in (panel._top_latents, panel._top_values) if a is not None)
    text = len(json.dumps({"tokens": panel.tokens, "text": panel.text}).encode())
    return binary + text


__all__ = ["ActivationPanel", "payload_bytes"]
