"""Linear probes: does the residual stream linearly encode a distinction between two sets of texts?

:func:`probe` runs the positive and negative texts (or conversations, rendered
through the chat template) once, saving the residual stream after every layer
asked for in the same forward pass, pools each text (mean over its tokens, or its
last token) and fits a standardised logistic regression per layer on a stratified
split. Held-out accuracy and AUROC say how well each layer separates the sets; the
best layer's probe becomes a :class:`Probe`, whose direction (in residual units)
scores text token by token, or becomes a steering vector.

>>> insults = ["You idiot.", "Shut up, fool.", "Go away, moron.", "You clueless fool.", "What a stupid idea."]
>>> polite = ["Thank you kindly.", "Please, go ahead.", "That is very kind.", "Thanks a lot!", "What a lovely idea."]
>>> p = probe(bench, insults, polite, name="rude", progress=False)
>>> p.per_layer[["layer", "n_train", "n_test"]]
   layer  n_train  n_test
0      0        7       3
1      1        7       3
>>> p.chart()
alt.LayerChart(...)
>>> p.score(bench, "You are a fool.").scores.shape   # one score per token
(10,)
>>> bench.sample("Hi", n=2, steer={p.to_vector(bench).name: 0.5}, max_new_tokens=4, progress=False).settings["steer"]
{'rude': 0.5}
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .. import residual
from .._traced import reduce_tokens
from ..errors import Cancelled
from ..layout import check_layer
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    from ..session import Session
    from .steering import SteeringVector

POSITIONS = ("mean", "last")
MIN_PER_CLASS = 4


class ProbeScores(NamedTuple):
    """Per-token probe scores of one text: ``tokens`` and ``scores`` (sigmoid of the probe logit)."""

    tokens: list
    scores: np.ndarray


@dataclass(eq=False)
class Probe:
    """A logistic-regression probe on the residual stream after one layer.

    Attributes
    ----------
    name : str
        Its name in ``bench.probes``.
    layer : int
        The layer it reads (the best one when several were probed).
    position : {"mean", "last"}
        How each text was pooled for training.
    direction : torch.Tensor
        ``[d_model]`` float32 weights in residual units: the regression's weights
        mapped back through the standardisation, so ``direction @ h + bias`` is the
        probe's logit for a raw residual ``h`` (positive: the positive set).
    bias : float
    accuracy, auroc : float
        On the held-out split.
    train_accuracy : float
    n : int
        Texts used (both sets).
    per_layer : DataFrame
        ``layer``, ``accuracy``, ``auroc``, ``log_loss`` (held-out), ``train_accuracy``,
        ``n_train``, ``n_test``.
    features : dict
        ``{layer: [n, d_model] float32 array}``: the pooled activations, kept so the
        probe can be refit without running the model again.
    labels : np.ndarray
        1 for positive, 0 for negative, in the order of ``features``.
    """

    name: str
    layer: int
    position: str
    direction: Any
    bias: float
    accuracy: float
    auroc: float
    train_accuracy: float
    n: int
    per_layer: Any
    features: dict = field(default_factory=dict, repr=False)
    labels: Any = None
    settings: dict = field(default_factory=dict)

    def chart(self):
        """Altair line chart of held-out accuracy and AUROC against layer (the chosen layer marked)."""
        import altair as alt

        long = self.per_layer.melt(id_vars="layer", value_vars=["accuracy", "auroc", "train_accuracy"],
                                   var_name="metric", value_name="value")
        lines = alt.Chart(long).mark_line(point=True).encode(
            x=alt.X("layer:Q", title="layer"),
            y=alt.Y("value:Q", title="score", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("metric:N", title=None),
            tooltip=["layer", "metric", alt.Tooltip("value:Q", format=".3f")],
        )
        chosen = alt.Chart({"values": [{"layer": self.layer}]}).mark_rule(strokeDash=[4, 4], color="gray").encode(
            x="layer:Q")
        return (lines + chosen).properties(title=f"probe {self.name!r}: held-out separation by layer", width=420)

    def logits(self, hidden: Any) -> np.ndarray:
        """Probe logits of raw residuals ``hidden`` (``[..., d_model]``)."""
        import torch

        hidden = torch.as_tensor(hidden).to("cpu", torch.float32)
        return (hidden @ self.direction + self.bias).numpy()

    def score(self, session: Session, text_or_conversation: Any) -> ProbeScores:
        """Score every token of a text or conversation (one forward pass).

        Returns
        -------
        ProbeScores
            ``tokens`` (each decoded alone) and ``scores``: the sigmoid of the probe's
            logit at each position, in [0, 1].

        Examples
        --------
        >>> tokens, scores = bench.probes["polite"].score(bench, "You are a fool.")
        >>> tokens
        ['Y', 'ou', ' ', 'ar', 'e', ' a', ' fo', 'o', 'l', '.']
        >>> len(scores), bool(((scores >= 0) & (scores <= 1)).all())
        (10, True)
        """
        import torch
        from scipy.special import expit

        from .activations import token_ids_for

        _, ids = token_ids_for(session, text_or_conversation)
        hidden = residual.layer_outputs(session, torch.tensor([ids]), layers=[self.layer])[self.layer][0].cpu()
        scores = expit(self.logits(hidden).astype(np.float64)).astype(np.float32)
        return ProbeScores([session.tokenizer.decode([i]) for i in ids], scores)

    def to_vector(self, session: Session, name: str | None = None) -> SteeringVector:
        """Register the probe's direction as a steering vector at its layer (``bench.vectors``).

        Examples
        --------
        >>> vec = bench.probes["polite"].to_vector(bench, name="polite-vector")
        >>> vec.name, vec.layer, vec.source
        ('polite-vector', 1, 'probe:polite')
        >>> bench.sample("Hi", n=2, steer={vec.name: 0.5}, max_new_tokens=4, progress=False).settings["steer"]
        {'polite-vector': 0.5}
        """
        from .vectors import from_direction

        registered = self.name in session.probes and session.probes[self.name] is self
        return from_direction(session, self.name if registered else self, name=name or self.name)

    def _journal_summary(self) -> dict:
        best = (self.per_layer.sort_values("accuracy", ascending=False).head(3) if len(self.per_layer)
                else self.per_layer)
        return {"name": self.name, "layer": self.layer, "position": self.position, "accuracy": float(self.accuracy),
                "auroc": float(self.auroc), "n": self.n, "layers_probed": len(self.per_layer),
                "best_layers": [{"layer": int(r["layer"]), "accuracy": float(r["accuracy"])}
                                for _, r in best.iterrows()]}

    def __repr__(self) -> str:
        return (f"Probe({self.name!r}, layer={self.layer}, position={self.position!r}, "
                f"accuracy={self.accuracy:.3f}, auroc={self.auroc:.3f}, n={self.n})")


def _layers(session: Session, layer: Any) -> list[int]:
    if layer is None or (isinstance(layer, str) and layer == "all"):
        return list(range(session.n_layers))
    if isinstance(layer, str):
        raise ValueError(f"layer must be None, 'all', a layer number or a list of them, not {layer!r}.")
    if isinstance(layer, Sequence):
        if not layer:
            raise ValueError("layer is an empty list: pass None (every layer) or some layer numbers.")
        return sorted({check_layer(session, at) for at in layer})
    return [check_layer(session, layer)]


def _count(texts: Any, what: str) -> list:
    if isinstance(texts, (str, dict)) or not isinstance(texts, Sequence):
        raise ValueError(f"{what} must be a list of texts or conversations, not {type(texts).__name__}.")
    if len(texts) < MIN_PER_CLASS:
        raise ValueError(
            f"{what} has {len(texts)} example(s); a probe needs at least {MIN_PER_CLASS} of each set "
            "(a few dozen for a trustworthy accuracy)."
        )
    return list(texts)


def collect(session: Session, sources: Sequence[Any], layers: Sequence[int], *, position: str = "mean",
            batch_size: int = 16, progress: bool | Callable[[int, int], None] = False,
            cancel: threading.Event | None = None) -> dict[int, np.ndarray]:
    """Pooled residuals ``{layer: [len(sources), d_model]}``: ONE forward pass per batch for all layers.

    Texts run as they are, conversations through the chat template; rows are
    left-padded, so the last position is each text's last token.

    Examples
    --------
    >>> feats = collect(bench, ["You idiot.", "Thanks!"], [0, 1])
    >>> feats[1].shape
    (2, 64)
    """
    from tqdm.auto import tqdm

    from ..generation import left_pad
    from .activations import token_ids_for

    rows = [token_ids_for(session, source)[1] for source in sources]
    report = progress if callable(progress) else None
    bar = tqdm(total=len(rows), desc="probe activations", unit="text",
               disable=report is not None or not progress, delay=0.5)
    pooled: dict[int, list] = {at: [] for at in layers}
    try:
        starts = range(0, len(rows), batch_size)
        padded = [left_pad(rows[start : start + batch_size], session.pad_token_id) for start in starts]
        how = "last" if position == "last" else "mean"
        # remote: one request, each text pooled on the server
        read = residual.layer_batches(session, padded, layers=layers, cancel=cancel, what="Probing", reduce=how)
        for n, start in enumerate(starts):
            if read is None and cancel is not None and cancel.is_set():
                raise Cancelled(f"Probing was cancelled after {start} of {len(rows)} texts.")
            ids, mask = padded[n]
            if read is not None:
                for at in layers:
                    pooled[at].append(read[n][at].cpu().numpy())
            else:
                hidden = residual.layer_outputs(session, ids, mask, layers=layers)
                for at in layers:
                    pooled[at].append(reduce_tokens(hidden[at].cpu(), mask, how).numpy())
            done = min(start + batch_size, len(rows))
            bar.update(done - start)
            if report is not None:
                report(done, len(rows))
    finally:
        bar.close()
    return {at: np.concatenate(parts).astype(np.float32) for at, parts in pooled.items()}


def fit(features: np.ndarray, labels: np.ndarray, *, test_size: float = 0.25, seed: int = 0) -> dict:
    """Standardise, fit a logistic regression on a stratified split, and score the held-out part.

    Returns ``accuracy``, ``auroc``, ``log_loss``, ``train_accuracy``, ``n_train``, ``n_test`` and the
    ``direction`` / ``bias`` in the units of ``features``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> labels = np.array([0, 1] * 20)
    >>> fit(rng.normal(size=(40, 8)), labels)["accuracy"]   # noise: chance
    0.5
    >>> fit(rng.normal(size=(40, 8)) + labels[:, None], labels)["accuracy"]   # shifted by the label: separable
    1.0
    """
    from scipy.special import expit
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=test_size, random_state=seed, stratify=labels)
    scaler = StandardScaler().fit(x_train)
    model = LogisticRegression(max_iter=2000).fit(scaler.transform(x_train), y_train)
    test_scores = model.decision_function(scaler.transform(x_test))
    weights = model.coef_[0] / scaler.scale_
    return {
        "accuracy": float(accuracy_score(y_test, test_scores > 0)),
        "auroc": float(roc_auc_score(y_test, test_scores)),
        "log_loss": float(log_loss(y_test, expit(test_scores), labels=[0, 1])),
        "train_accuracy": float(model.score(scaler.transform(x_train), y_train)),
        "n_train": len(y_train),
        "n_test": len(y_test),
        "direction": weights.astype(np.float32),
        "bias": float(model.intercept_[0] - weights @ scaler.mean_),
    }


@recorded("probe")
def probe(session: Session, positive: Sequence[Any], negative: Sequence[Any], *, layer: Any = None,
          position: str = "mean", test_size: float = 0.25, seed: int = 0, batch_size: int = 16,
          progress: bool | Callable[[int, int], None] = True, cancel: threading.Event | None = None,
          name: str | None = None, register: bool = True) -> Probe:
    """Fit a linear probe separating ``positive`` from ``negative`` texts at one or every layer.

    Parameters
    ----------
    positive, negative : list of str or conversations
        At least 4 of each (a few dozen for a trustworthy accuracy). Conversations
        are rendered through the chat template.
    layer : int, list of int, "all" or None
        ``None`` / ``"all"`` probes every layer; the best held-out layer (accuracy,
        then AUROC, then log-loss) becomes the probe's layer. All layers come from one forward
        pass per batch.
    position : {"mean", "last"}
        Pool each text by the mean over its tokens, or take its last token.
    test_size : float
        Held-out share of each set (stratified), drawn with ``seed``.
    batch_size : int
        Texts per forward pass.
    progress : bool or callable
        A ``tqdm.auto`` bar, or ``progress(done, total)`` after each batch.
    cancel : threading.Event, optional
        Checked between batches; raises :class:`workbench.Cancelled` when set.
    name : str, optional
        Default ``"probe<N>"``; with ``register=True`` stored in ``bench.probes``.

    Returns
    -------
    Probe

    Examples
    --------
    >>> p = probe(bench, ["You idiot."] * 8, ["Thank you."] * 8, layer="all", progress=False)
    >>> p.per_layer[["layer", "accuracy", "auroc", "n_train", "n_test"]]
       layer  accuracy  auroc  n_train  n_test
    0      0       1.0    1.0       12       4
    1      1       1.0    1.0       12       4
    >>> p.name in bench.probes, p.layer
    (True, 0)
    """
    import pandas as pd
    import torch

    positive = _count(positive, "positive")
    negative = _count(negative, "negative")
    if position not in POSITIONS:
        raise ValueError(f"position must be one of {', '.join(map(repr, POSITIONS))}, not {position!r}.")
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction between 0 and 1 (e.g. 0.25), not {test_size!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, not {batch_size!r}.")
    smallest = min(len(positive), len(negative))
    if round(smallest * test_size) < 1 or smallest - round(smallest * test_size) < 2:
        raise ValueError(
            f"test_size={test_size} leaves no held-out or too few training examples of the smaller set "
            f"({smallest}); pass more texts or a test_size nearer 0.25."
        )
    layers = _layers(session, layer)
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"A probe needs a non-empty string name, not {name!r}.")
    labels = np.array([1] * len(positive) + [0] * len(negative))
    features = collect(session, positive + negative, layers, position=position, batch_size=batch_size,
                       progress=progress, cancel=cancel)
    fits = {at: fit(features[at], labels, test_size=test_size, seed=seed) for at in layers}
    per_layer = pd.DataFrame([{"layer": at, **{k: v for k, v in result.items() if k not in ("direction", "bias")}}
                              for at, result in fits.items()])
    best = max(layers, key=lambda at: (fits[at]["accuracy"], fits[at]["auroc"], -fits[at]["log_loss"], -at))
    chosen = fits[best]
    result = Probe(
        name=name or f"probe{len(session.probes)}",
        layer=best,
        position=position,
        direction=torch.from_numpy(chosen["direction"]),
        bias=chosen["bias"],
        accuracy=chosen["accuracy"],
        auroc=chosen["auroc"],
        train_accuracy=chosen["train_accuracy"],
        n=len(labels),
        per_layer=per_layer,
        features=features,
        labels=labels,
        settings={"layers": layers, "test_size": test_size, "seed": seed, "n_positive": len(positive),
                  "n_negative": len(negative), "model": session.model_name},
    )
    if register:
        session.probes.register(result.name, result)
    return result
