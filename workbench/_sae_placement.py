"""Where an SAE reads and writes, from its config, checked against the loaded model (for :mod:`workbench.saes`).

sae-lens configs say it in several ways: ``metadata.hf_hook_name`` (a module path of the
Hugging Face model, as Gemma Scope 2 gives it), ``metadata.hook_name`` (TransformerLens,
``blocks.3.hook_mlp_out``), pre-6.0 configs' top-level ``hook_name`` / ``hook_point``,
and ``hook_name_out`` for a transcoder. :class:`ConfigFacts` reads them all; :func:`place`
turns them into :class:`~workbench.layout.Site` s of the loaded model, or refuses the SAE
saying why (another model's size, a site this architecture does not have, attention-head
``hook_z`` inputs, an architecture whose latents the workbench cannot read).

>>> facts = ConfigFacts.of({"d_in": 64, "d_sae": 16, "architecture": "jumprelu_transcoder", "d_out": 64,
...                         "metadata": {"hook_name": "blocks.1.ln2.hook_normalized",
...                                      "hook_name_out": "blocks.1.hook_mlp_out"}})
>>> placed = place(bench, facts)
>>> placed.site, placed.site_out, placed.transcoder
(Site(layer=1, kind='mlp_in'), Site(layer=1, kind='mlp_out'), True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .layout import TL_HOOK_NAMES, Site, check_layer, check_site, hook_name, module_at, parse_site, site_taps

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

# sites whose values TransformerLens's center_writing_weights shifts by their mean over d_model
CENTERED_KINDS = ("attn_out", "resid_mid", "mlp_out", "resid_post")


@dataclass
class ConfigFacts:
    """What an SAE's config says about where it reads and writes (a cfg.json dict or an SAE's cfg)."""

    architecture: str
    d_in: int
    d_sae: int
    d_out: int | None
    hooks: tuple[str | None, ...]        # where it reads: the Hugging Face module path first, then TransformerLens
    hooks_out: tuple[str | None, ...]
    reshape: str
    center_writing_weights: bool

    @classmethod
    def of(cls, cfg: Mapping) -> ConfigFacts:
        meta = cfg.get("metadata") or {}

        def get(key: str) -> Any:
            value = meta.get(key) if isinstance(meta, Mapping) else None
            return cfg.get(key) if value is None else value

        kwargs = get("model_from_pretrained_kwargs") or {}
        architecture = str(cfg.get("architecture") or "standard")
        d_out = cfg.get("d_out")
        return cls(
            architecture=architecture, d_in=int(cfg["d_in"]), d_sae=int(cfg["d_sae"]),
            d_out=int(d_out) if d_out is not None else None,
            hooks=(get("hf_hook_name"), get("hook_name") or cfg.get("hook_point")),
            hooks_out=(get("hf_hook_name_out"), get("hook_name_out")),
            reshape=str(cfg.get("reshape_activations") or "none"),
            center_writing_weights=bool(isinstance(kwargs, Mapping) and kwargs.get("center_writing_weights")),
        )

    @property
    def transcoder(self) -> bool:
        return "transcoder" in self.architecture or self.d_out is not None


@dataclass
class Placement:
    """Where an SAE reads and writes, whether it is a transcoder, whether its input is centred."""

    site: Site
    site_out: Site
    transcoder: bool
    center: bool


def as_site(session: Session, where: Any, what: str = "site") -> Site:
    """``where`` (a Site, a ``(layer, kind)`` pair or a hook name) as a Site."""
    if isinstance(where, Site):
        return where
    if isinstance(where, (tuple, list)) and len(where) == 2:
        return Site(check_layer(session, where[0]), str(where[1]))
    if isinstance(where, str):
        site = parse_site(session, where)
        if site is None:
            raise ValueError(f"{what}={where!r} is not a hook name the workbench understands: "
                             f"{names_understood(session)}.")
        return site
    raise TypeError(f"{what} must be a Site, a (layer, kind) pair or a hook name, not {type(where).__name__}.")


def names_understood(session: Session) -> str:
    """The hook names the workbench reads, for messages."""
    prefix = hook_name(session, 0).rsplit(".", 1)[0]
    paths = [f"'{prefix}.N'"] + [f"'{prefix}.N.{module}.{port}'" for module, port in site_taps(session).values()]
    return "Hook names understood: " + ", ".join(f"'{name}'" for name in TL_HOOK_NAMES) + ", " + ", ".join(paths)


def place(session: Session, facts: ConfigFacts, *, layer: int | None = None, site: Any = None,
          site_out: Any = None) -> Placement:
    """Where an SAE reads (and a transcoder writes), checked against the loaded model (from its config alone)."""
    named = " / ".join(h for h in facts.hooks if h) or None
    if facts.architecture == "temporal":
        raise ValueError("A TemporalSAE encodes each token from the tokens before it (attention over its own "
                         "codes); the workbench encodes tokens one by one, so it does not support it.")
    if facts.architecture == "abstopk":
        raise ValueError("AbsTopK latents fire with either sign; the workbench ranks, counts and steers latents "
                         "by their positive activation, so it does not support AbsTopK SAEs.")
    if facts.reshape == "hook_z" or any(h and ("hook_z" in h or "o_proj.input" in h) for h in facts.hooks):
        raise ValueError(f"SAEs on attention-head outputs (hook_z: {named}) are not supported; use an SAE on "
                         "attn_out (the attention block's output), mlp_out or the residual stream.")

    def resolve(explicit: Any, hooks: tuple[str | None, ...], what: str) -> Site | None:
        if explicit is not None:
            return as_site(session, explicit, what)
        parsed = next((found for found in (parse_site(session, h) for h in hooks if h) if found), None)
        if layer is not None:
            return Site(check_layer(session, layer), parsed.kind if parsed else "resid_post")
        return parsed

    read = resolve(site, facts.hooks, "site")
    if read is None:
        raise ValueError(
            f"Cannot tell which layer this SAE reads (hook name {named!r}); pass layer=... "
            f"(0..{session.n_layers - 1}) for the residual stream after a layer, or site=(layer, kind). "
            f"{names_understood(session)}."
        )
    if read.layer < 0:
        raise ValueError(
            f"SAE hook {named!r} reads the embeddings, before any decoder layer; "
            "the workbench reads the residual stream after a layer."
        )
    check_site(session, read)
    if facts.d_in != session.hidden_size:
        raise ValueError(
            f"This SAE takes inputs of size {facts.d_in}, but {session.model_name} has hidden "
            f"size {session.hidden_size}: it was trained on another model."
        )
    written = read
    if facts.transcoder:
        named_out = " / ".join(h for h in facts.hooks_out if h) or None
        written = resolve(site_out, facts.hooks_out, "site_out")
        if written is None:
            raise ValueError(f"Cannot tell where this transcoder writes (hook_name_out {named_out!r}); pass "
                             f"site_out=(layer, kind), e.g. ({read.layer}, 'mlp_out'). {names_understood(session)}.")
        check_site(session, written)
        if facts.d_out is not None and facts.d_out != session.hidden_size:
            raise ValueError(f"This transcoder writes outputs of size {facts.d_out}, but {session.model_name} "
                             f"has hidden size {session.hidden_size}: it was trained on another model.")
    elif site_out is not None and as_site(session, site_out, "site_out") != read:
        raise ValueError("site_out is for transcoders; an SAE writes where it reads.")
    center = facts.center_writing_weights and read.kind in CENTERED_KINDS and _layer_norm(session)
    return Placement(read, written, facts.transcoder, center)


def _layer_norm(session: Session) -> bool:
    """Whether the model normalises with LayerNorm (mean removed), where centring the stream changes nothing."""
    import torch

    return isinstance(module_at(session.module, session.layout.norm), torch.nn.LayerNorm)
