"""Steering vectors: build them and register them on the session.

A :class:`SteeringVector` is a unit direction in the residual stream after one
decoder layer, with its *natural scale* recorded: the median residual-stream norm at
that layer over a few texts of the shipped corpus (:func:`workbench.residual.natural_scale`).
Steering with coefficient ``c`` adds ``c * scale * direction`` to the residual
stream, so ``c = 0.5`` means "half a typical residual norm" for every vector,
whatever it was built from.

Vectors come from an SAE latent's decoder direction (:func:`from_latent`), from
contrast pairs (:func:`from_contrast`: mean difference of activations between
behaviour-matching and behaviour-opposing answers) or from any direction or probe
(:func:`from_direction`). All of them land in ``session.vectors`` by name; sampling
with ``steer={name: coefficient}`` adds them on every decoding step
(:mod:`workbench.techniques.interventions`).

>>> vector = from_contrast(bench, "sycophancy", layer=1, limit=2)
>>> bench.vectors["sycophancy"] is vector, vector.layer
(True, 1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import chat, corpora, residual
from ..layout import check_layer
from ..recording import recorded

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..session import Session

CONTRAST = corpora.DATA / "contrast"
LETTERS = ("A", "B")


@dataclass(eq=False)  # compared and hashed by identity: a key of ``steer``
class SteeringVector:
    """A unit direction in the residual stream after ``layer``, with its natural scale.

    Attributes
    ----------
    name : str
        Its name in ``bench.vectors``.
    direction : torch.Tensor
        Unit-norm float32 vector of the model's hidden size (on the CPU).
    layer : int
        The decoder layer whose output it is added to.
    scale : float
        The natural scale: median residual norm at ``layer`` (see :func:`natural_scale`).
        Coefficient ``c`` adds ``c * scale * direction``.
    source : str
        Where it came from (``"sae:default/123"``, ``"contrast:sycophancy"``, ``"tensor"``…).
    raw_norm : float
        The norm of the direction before it was normalised.
    metadata : dict
        Anything else worth keeping (the pairs used, the latent, …).
    """

    name: str
    direction: Any
    layer: int
    scale: float
    source: str
    raw_norm: float = 1.0
    metadata: dict = field(default_factory=dict)

    @property
    def d_model(self) -> int:
        return int(self.direction.shape[0])

    def delta(self, coefficient: float, scale: float | None = None) -> torch.Tensor:
        """``coefficient * scale * direction`` (``scale`` defaults to the vector's own)."""
        return float(coefficient) * float(self.scale if scale is None else scale) * self.direction

    def _journal_summary(self) -> dict:
        return {"name": self.name, "layer": self.layer, "scale": self.scale, "source": self.source,
                "raw_norm": self.raw_norm}

    def __repr__(self) -> str:
        return (
            f"SteeringVector({self.name!r}, layer={self.layer}, d={self.d_model}, "
            f"scale={self.scale:.3g}, source={self.source!r})"
        )


# -- contrast pairs ----------------------------------------------------------------


def contrast_sets() -> list[str]:
    """Names of the contrast-pair sets shipped under ``workbench/data/contrast``."""
    return sorted(p.stem for p in CONTRAST.glob("*.jsonl"))


def contrast_pairs(pairs: str | Path | Sequence[Mapping], split: str | None = None) -> list[dict]:
    """The items of a contrast-pair set: ``{"question", "matching", "opposing", ...}``.

    Parameters
    ----------
    pairs : str, path or list of dict
        A shipped set name (:func:`contrast_sets`), a JSONL file, or the items themselves.
    split : {"train", "test"}, optional
        Keep only that split (items without a ``split`` field belong to both).

    Examples
    --------
    >>> len(contrast_pairs("sycophancy", split="test")) > 0
    True
    """
    if isinstance(pairs, (str, Path)):
        path = Path(pairs)
        if not path.suffix:
            path = CONTRAST / f"{pairs}.jsonl"
            if not path.is_file():
                raise ValueError(f"No contrast set named {pairs!r}; shipped: {', '.join(contrast_sets())}.")
        items = corpora.read_jsonl(path)
    else:
        items = [dict(item) for item in pairs]
    for number, item in enumerate(items):
        missing = [key for key in ("question", "matching", "opposing") if not isinstance(item.get(key), str)]
        if missing:
            raise ValueError(f"Contrast item {number} lacks the text field(s) {missing}; "
                             "each needs question, matching, opposing.")
    if split is not None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train', 'test' or None, not {split!r}.")
        items = [item for item in items if item.get("split", split) == split]
    if not items:
        raise ValueError("The contrast set is empty (for that split).")
    return items


def ab_prompt(session: Session, item: Mapping, matching_first: bool, answer: str | None = None) -> chat.RenderedPrompt:
    """An item as an A/B question, the assistant's reply prefilled with ``"("`` (+ ``answer`` letter).

    The behaviour-matching answer is option A when ``matching_first`` else option B.
    """
    a, b = (item["matching"], item["opposing"]) if matching_first else (item["opposing"], item["matching"])
    question = f"{item['question']}\n\nChoices:\n(A) {a}\n(B) {b}\n\nAnswer with A or B."
    return session.render(question, prefill="(" + (answer or ""))


def letter_ids(session: Session) -> tuple[int, int]:
    """Token ids of ``"A"`` and ``"B"`` right after the ``"("`` that opens the reply."""
    prompt = ab_prompt(session, {"question": "?", "matching": "x", "opposing": "y"}, True)
    ids = []
    for letter in LETTERS:
        full = session.tokenizer(prompt.text + letter, add_special_tokens=False)["input_ids"]
        if full[:-1] != prompt.input_ids:
            raise ValueError(
                f"The tokenizer of {session.model_name} merges {letter!r} with the '(' before it, so "
                "A/B answers cannot be read from one next-token distribution."
            )
        ids.append(full[-1])
    return ids[0], ids[1]


# -- building vectors --------------------------------------------------------------


def add(session: Session, direction: Any, layer: int, *, name: str, source: str = "tensor",
        metadata: dict | None = None) -> SteeringVector:
    """Normalise ``direction``, record the natural scale at ``layer``, register it as ``name``."""
    layer = check_layer(session, layer)
    if not isinstance(name, str) or not name:
        raise ValueError(f"A steering vector needs a non-empty string name, not {name!r}.")
    unit, norm = residual.unit_direction(session, direction, f"The direction for {name!r}")
    scale = residual.natural_scale(session, layer)
    vector = SteeringVector(name, unit, layer, scale, source, norm, dict(metadata or {}))
    session.vectors.register(name, vector)
    return vector


@recorded("from_latent")
def from_latent(session: Session, latent: int, *, sae: str | None = None, name: str | None = None) -> SteeringVector:
    """A steering vector along an SAE latent's decoder direction, where the SAE writes.

    Steering adds to the residual stream after a decoder layer, so the direction goes
    where adding it is exactly what the SAE's decoder would do:

    * an SAE on the residual stream after layer L (``resid_post``): at layer L;
    * an SAE on layer L's MLP output, or a transcoder that writes it (``mlp_out``): at
      layer L too, since the MLP's output is added to the residual stream at the end of
      the layer, so adding the direction to one is adding it to the other;
    * an SAE on an attention output (``attn_out``) or on the stream between the blocks
      (``resid_mid``) writes before layer L's MLP, which a vector after the layer would
      skip: refused, naming the choice (``from_direction`` at a layer of your own).

    Parameters
    ----------
    latent : int
        The feature id.
    sae : str, optional
        A registered SAE (default: the first one).
    name : str, optional
        Default ``"<sae>:<latent>"``.

    Examples
    --------
    >>> from_latent(bench, 3)
    SteeringVector('tiny:3', layer=1, d=64, scale=..., source='sae:tiny/3')
    """
    from .. import saes

    entry = session.saes.get(sae)
    latent = saes.check_latent(latent, entry.d_sae)
    written = entry.site_out
    if written.kind not in ("resid_post", "mlp_out"):
        raise ValueError(
            f"SAE {entry.name!r} writes {written.describe()}: its decoder directions live there, before layer "
            f"{written.layer}'s MLP, and a steering vector is added to the residual stream after a layer, so "
            "it cannot be added where this SAE writes. To steer after the layer anyway, use "
            f"vectors.from_direction(bench, bench.saes[{entry.name!r}].sae.W_dec[{latent}], layer={written.layer}, "
            "name=...)."
        )
    direction = entry.sae.W_dec[latent].detach()
    metadata = {"sae": entry.name, "latent": latent}
    if written.kind != "resid_post":
        metadata["site"] = written.kind
    return add(session, direction, written.layer, name=name or f"{entry.name}:{latent}",
               source=f"sae:{entry.name}/{latent}", metadata=metadata)


def contrast_activations(session: Session, items: Sequence[Mapping], layer: int, *,
                         batch_size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Residuals after ``layer`` at the answer letter, for the matching and the opposing answer.

    Each item is asked both ways round (matching answer as A, then as B), so a
    letter's own direction cancels out of the difference. Returns two
    ``[2 * len(items), d]`` tensors.
    """
    import torch

    from ..generation import left_pad

    rows, kinds = [], []
    for item in items:
        for first in (True, False):
            match, oppose = ("A", "B") if first else ("B", "A")
            rows.append(ab_prompt(session, item, first, match).input_ids)
            rows.append(ab_prompt(session, item, first, oppose).input_ids)
            kinds += [True, False]
    outs = []
    padded = [left_pad(rows[start : start + batch_size], session.pad_token_id)
              for start in range(0, len(rows), batch_size)]
    # a remote session: one request for all, each row's last position taken on the server
    read = residual.layer_batches(session, padded, layers=[layer], reduce="last")
    for n, (ids, mask) in enumerate(padded):
        if read is not None:
            outs.append(read[n][layer].cpu())
        else:
            hidden = residual.layer_outputs(session, ids, mask, layers=[layer])[layer]
            outs.append(hidden[:, -1].cpu())  # left padding: the last position is each row's letter
    acts = torch.cat(outs)
    kinds_t = torch.tensor(kinds)
    return acts[kinds_t], acts[~kinds_t]


@recorded("from_contrast")
def from_contrast(session: Session, pairs: str | Path | Sequence[Mapping], layer: int, *,
                  name: str | None = None, split: str | None = "train",
                  limit: int | None = None) -> SteeringVector:
    """Mean difference of activations between behaviour-matching and -opposing answers.

    Each item is rendered as an A/B question with the assistant's reply ``"(A"`` or
    ``"(B"``; the residual after ``layer`` at the letter is averaged over the
    matching answers and over the opposing ones, both orders of the options (the
    method of contrastive activation addition).

    Parameters
    ----------
    pairs : str, path or list of dict
        A shipped set (``"sycophancy"``, ``"refusal"``, ``"power_seeking"``), a JSONL
        file or items ``{"question", "matching", "opposing"}``.
    layer : int
    name : str, optional
        Default: the set's name (or ``"contrast"`` for items given directly).
    split : str, optional
        Which split to build from (default ``"train"``; the ``"test"`` items are kept
        for scoring, see :func:`workbench.techniques.sweep.alignment_score`).
    limit : int, optional
        Use only the first ``limit`` items (a quicker, noisier vector).

    Examples
    --------
    >>> vec = from_contrast(bench, "sycophancy", layer=1, limit=4)
    >>> bench.vectors["sycophancy"] is vec, vec.source
    (True, 'contrast:sycophancy')
    """
    layer = check_layer(session, layer)
    items = contrast_pairs(pairs, split=split)[:limit]
    matching, opposing = contrast_activations(session, items, layer)
    label = pairs if isinstance(pairs, str) and not Path(pairs).suffix else (
        Path(pairs).stem if isinstance(pairs, (str, Path)) else "contrast")
    return add(session, matching.mean(0) - opposing.mean(0), layer, name=name or label,
               source=f"contrast:{label}", metadata={"n_items": len(items), "split": split})


@recorded("from_direction")
def from_direction(session: Session, direction: Any, layer: int | None = None, *,
                   name: str) -> SteeringVector:
    """A steering vector from any tensor or array, or from a probe.

    Parameters
    ----------
    direction : tensor, array, str or object
        A vector of the model's hidden size; the name of a probe in
        ``bench.probes``; or an object with a ``direction`` (or ``weight``/``coef_``)
        and, optionally, a ``layer`` attribute.
    layer : int, optional
        Needed unless the probe records its layer.

    Examples
    --------
    >>> from_direction(bench, torch.randn(64), layer=1, name="random")
    SteeringVector('random', layer=1, d=64, scale=..., source='tensor')
    >>> from_direction(bench, "polite", name="polite-direction")   # a probe: at its own layer
    SteeringVector('polite-direction', layer=1, d=64, scale=..., source='probe:polite')
    """
    source = "tensor"
    if isinstance(direction, str):
        source = f"probe:{direction}"
        direction = session.probes[direction]
    for attribute in ("direction", "weight", "coef_"):
        if hasattr(direction, attribute) and not hasattr(direction, "__array__") and not _is_tensor(direction):
            if layer is None:
                layer = getattr(direction, "layer", None)
            source = source if source != "tensor" else type(direction).__name__
            direction = getattr(direction, attribute)
            break
    if layer is None:
        raise ValueError(f"Pass layer=... (0..{session.n_layers - 1}): the direction does not say which layer "
                         "it reads.")
    return add(session, direction, layer, name=name, source=source)


def _is_tensor(value: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, torch.Tensor)
