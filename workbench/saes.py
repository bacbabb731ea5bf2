"""Sparse autoencoders and transcoders on the session: load, check, register, train (all through sae-lens).

An SAE reads one :class:`~workbench.layout.Site` of the model: the residual stream after a
decoder layer (``resid_post``), an attention or MLP block's output (``attn_out``,
``mlp_out``), the residual stream between them (``resid_mid``) or what the MLP reads
(``mlp_in``). A transcoder reads one site and writes another (``mlp_in`` -> ``mlp_out``).
The site comes from the SAE's hook name (TransformerLens ``blocks.N.hook_mlp_out`` or a
module path such as ``model.layers.N.post_feedforward_layernorm.output``) and is mapped
to the loaded model's modules by :mod:`workbench.layout`. ``bench.saes`` holds them by name:

>>> corpus = wb.corpora.demo_training_corpus().texts()
>>> bench.saes.train(1, corpus, d_sae=32, k=4, tokens=2000, context=32, batch_size=256,
...                  save_to=tmp / "sae", name="demo", progress=False)   # the defaults take minutes
SAE('demo', layer=1, d_sae=32, EV ..., L0 4.0, dead ...%)
>>> bench.saes.load_path(tmp / "sae", name="demo-again")
SAE('demo-again', layer=1, d_sae=32, EV ..., L0 4.0, dead ...%)
>>> from sae_lens import JumpReLUSAE, JumpReLUSAEConfig
>>> bench.saes.add(JumpReLUSAE(JumpReLUSAEConfig(d_in=64, d_sae=128)), site="blocks.0.hook_mlp_out")
SAE('layer0-mlp_out-128', layer=0, site='mlp_out', d_sae=128)

Registry releases (``bench.saes.load(release, sae_id)``) are checked against the loaded
model's name first (:mod:`workbench._sae_hub`). Encoding is done a chunk of tokens at a
time (:meth:`SAEEntry.encode_chunks`), so no ``[tokens, d_sae]`` matrix larger than
:data:`CHUNK_ELEMENTS` values is ever held, whatever the SAE's width.

Training collects activations through nnsight (stopping the forward pass at the
hooked layer) and hands them to sae-lens's ``SAETrainer``; the result is saved in
sae-lens's disk format and evaluated on held-out text.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _sae_hub, _sae_training, residual
from ._sae_placement import ConfigFacts, Placement, place
from .errors import Cancelled
from .layout import Site, check_layer, hook_name, parse_site
from .registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .session import Session

REPORT = "workbench_report.json"
CHUNK_ELEMENTS = 1 << 22  # latent values per encoded chunk: 16 MB of float32, whatever the SAE's width


class SAEEntry:
    """A registered SAE and where it reads the model.

    Attributes
    ----------
    name : str
    sae : sae_lens.SAE
        Loaded (with sae-lens) on first use when the SAE was registered from a folder
        with :meth:`SAERegistry.register_path`.
    site : Site
        Where it reads: ``site.layer`` and ``site.kind`` (``"resid_post"``, ``"mlp_out"``, ...).
    site_out : Site
        Where its decoder writes: ``site`` for an SAE, the output site for a transcoder.
    layer : int
        ``site.layer``: for a residual-stream SAE, the decoder layer it reads after.
    hook : str
        The module path of ``site`` in the loaded model (``"model.layers.3"``,
        ``"model.layers.3.mlp.output"``).
    source : str
        Where it came from (release/id, folder, "trained", "object").
    report : SAEReport or None
        Held-out figures, when known.
    d_sae : int
        Its number of latents (known without loading it).
    transcoder : bool
        Whether it is a transcoder (reads ``site``, writes ``site_out``).
    center : bool
        It was trained on TransformerLens activations with ``center_writing_weights``: each
        activation is centred over its ``d_model`` values before encoding, which is exactly what
        that processing does to the stream of a LayerNorm model (the model's outputs are unchanged).
    """

    def __init__(self, name: str, sae: Any, layer: int | Site, hook: str, source: str,
                 report: SAEReport | None = None, *, d_sae: int | None = None,
                 loader: Callable[[], Any] | None = None, site_out: Site | None = None,
                 transcoder: bool = False, center: bool = False) -> None:
        if sae is None and loader is None:
            raise ValueError("An SAE entry needs an SAE or a loader for one.")
        self.site = layer if isinstance(layer, Site) else Site(int(layer))
        self.site_out = site_out or self.site
        self.layer, self.hook, self.source, self.report = self.site.layer, hook, source, report
        self.name, self.transcoder, self.center = name, transcoder, center
        self._sae, self._loader = sae, loader
        self.d_sae = int(d_sae if d_sae is not None else sae.cfg.d_sae)
        self._lock = threading.Lock()

    @property
    def sae(self) -> Any:
        """The sae-lens SAE, loaded now if it has not been yet."""
        if self._sae is None:
            with self._lock:
                if self._sae is None:
                    self._sae = self._loader()
                    self._loader = None
        return self._sae

    @property
    def loaded(self) -> bool:
        """Whether the SAE's weights are in memory."""
        return self._sae is not None

    # -- encoding ----------------------------------------------------------------

    def encode(self, acts: torch.Tensor) -> torch.Tensor:
        """Dense latents ``[..., d_sae]`` (float32, on the SAE's device) of activations read at :attr:`site`.

        Holds every latent of every row: for many tokens of a wide SAE use
        :meth:`encode_chunks`, :meth:`top_k` or :meth:`column`.
        """
        import torch

        acts = acts.to(next(self.sae.parameters()).device)
        if self.center:
            acts = acts - acts.mean(-1, keepdim=True)
        return encode(self.sae, acts) if acts.numel() else torch.zeros(*acts.shape[:-1], self.d_sae)

    def chunk_rows(self) -> int:
        """Rows encoded at a time: :data:`CHUNK_ELEMENTS` latent values."""
        return max(1, CHUNK_ELEMENTS // self.d_sae)

    def encode_chunks(self, acts: torch.Tensor) -> Iterator[tuple[int, torch.Tensor]]:
        """``(first row, dense latents [rows, d_sae])`` over ``acts`` (``[..., d_in]``, flattened to rows),
        :meth:`chunk_rows` rows at a time."""
        flat = acts.reshape(-1, acts.shape[-1])
        step = self.chunk_rows()
        for start in range(0, flat.shape[0], step):
            yield start, self.encode(flat[start : start + step])

    def top_k(self, acts: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``k`` strongest latents of each row of ``acts``: ``(values, indices)`` ``[rows, k]`` on the CPU
        (values clamped at 0: where fewer than ``k`` fire, the rest are 0)."""
        import torch

        k = min(int(k), self.d_sae)
        values, indices = [], []
        for _, latents in self.encode_chunks(acts):
            top = latents.topk(k, dim=-1)
            values.append(top.values.clamp_min(0).cpu())
            indices.append(top.indices.cpu())
        if not values:
            return torch.zeros(0, k), torch.zeros(0, k, dtype=torch.long)
        return torch.cat(values), torch.cat(indices)

    def columns(self, acts: torch.Tensor, latents: Sequence[int]) -> torch.Tensor:
        """Some latents' activations at each row of ``acts``: ``[rows, len(latents)]`` float32 on the CPU."""
        import torch

        picked = [check_latent(latent, self.d_sae) for latent in latents]
        parts = [latents_[:, picked].cpu().float() for _, latents_ in self.encode_chunks(acts)]
        return torch.cat(parts) if parts else torch.zeros(0, len(picked))

    def column(self, acts: torch.Tensor, latent: int) -> torch.Tensor:
        """One latent's activation at each row of ``acts``: ``[rows]`` float32 on the CPU."""
        return self.columns(acts, [latent])[:, 0]

    def __repr__(self) -> str:
        figures = f", {self.report.summary()}" if self.report else ""
        where = "" if self.site.kind == "resid_post" and not self.transcoder else f", site={self.site.kind!r}"
        if self.transcoder:
            layer_out = f" of layer {self.site_out.layer}" if self.site_out.layer != self.layer else ""
            where += f", writes={self.site_out.kind + layer_out!r}"
        return f"SAE({self.name!r}, layer={self.layer}{where}, d_sae={self.d_sae}{figures})"


@dataclass
class SAEReport:
    """How well an SAE reconstructs held-out activations."""

    explained_variance: float
    mean_l0: float
    dead_fraction: float
    n_eval_tokens: int
    n_train_tokens: int = 0
    train_seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"EV {self.explained_variance:.3f}, L0 {self.mean_l0:.1f}, "
            f"dead {self.dead_fraction:.1%}"
        )


def layer_from_hook(name: str | None) -> int | None:
    """The decoder layer a residual-stream hook name reads after (TransformerLens or module-path style);
    None for another site (see :func:`workbench.layout.parse_site`)."""
    site = parse_site(None, name)
    return site.layer if site is not None and site.kind == "resid_post" else None


def check_latent(latent: Any, d_sae: int) -> int:
    """Return ``latent`` as an int, or refuse it naming the valid range."""
    import operator

    try:
        value = None if isinstance(latent, bool) else operator.index(latent)  # ints and numpy ints
    except TypeError:
        value = None
    if value is None or not 0 <= value < d_sae:
        raise ValueError(f"latent must be a whole number in 0..{d_sae - 1}, not {latent!r}.")
    return value


def encode(sae: Any, acts: torch.Tensor) -> torch.Tensor:
    """SAE latents for ``[..., d_in]`` activations, encoded in float32 whatever the model's dtype (inference mode).

    The activations go to the SAE's device (a sharded model's layers live on several);
    an SAE held in another dtype is put in float32 first (registered ones already are).

    Examples
    --------
    >>> encode(bench.saes["tiny"].sae, torch.ones(3, 64, dtype=torch.bfloat16)).dtype
    torch.float32
    """
    import torch

    with torch.inference_mode():
        weight = next(sae.parameters())
        if weight.dtype != torch.float32:
            sae.to(torch.float32)
        return sae.encode(acts.to(weight.device, torch.float32)).float()


class SAERegistry(Registry):
    """The SAEs registered on one session, by name."""

    def __init__(self, session: Session) -> None:
        super().__init__("SAE")
        self._session = session

    # -- registering -----------------------------------------------------------

    def _ready(self, sae: Any) -> Any:
        import torch

        sae.to(self._session.device, torch.float32)  # encoding runs in float32 whatever the model's dtype
        sae.eval()
        return sae

    def _entry(self, name: str | None, sae: Any, placement: Placement, source: str, report: SAEReport | None = None,
               *, d_sae: int | None = None, loader: Callable[[], Any] | None = None) -> SAEEntry:
        site = placement.site
        d_sae = int(d_sae if d_sae is not None else sae.cfg.d_sae)
        kind = "transcoder" if placement.transcoder else site.kind
        name = name or (f"layer{site.layer}-{d_sae}" if kind == "resid_post" else f"layer{site.layer}-{kind}-{d_sae}")
        entry = SAEEntry(name, sae, site, hook_name(self._session, site), source, report, d_sae=d_sae, loader=loader,
                         site_out=placement.site_out, transcoder=placement.transcoder, center=placement.center)
        self.register(name, entry)
        return entry

    def add(self, sae: Any, *, layer: int | None = None, site: Any = None, site_out: Any = None,
            name: str | None = None, source: str = "object", report: SAEReport | None = None) -> SAEEntry:
        """Register an sae-lens SAE (or transcoder) object after checking it fits the loaded model.

        Parameters
        ----------
        sae : sae_lens.SAE
        layer : int, optional
            The decoder layer it reads (at the kind of site its hook name says, else the
            residual stream after the layer); default: read from ``sae.cfg.metadata``
            (``hf_hook_name``, else ``hook_name``).
        site, site_out : Site, (layer, kind) or hook name, optional
            Where it reads, and where a transcoder writes (default: from
            ``hook_name_out``), e.g. ``site=(3, "mlp_out")`` or ``site="blocks.3.hook_mlp_out"``.
        name : str, optional
            Default: ``"layer{layer}-{d_sae}"`` (``"layer{layer}-{kind}-{d_sae}"`` off the residual stream).
        """
        from sae_lens import SAE

        if not isinstance(sae, SAE):
            raise TypeError(f"Expected an sae_lens SAE, got {type(sae).__name__}.")
        placement = place(self._session, ConfigFacts.of(sae.cfg.to_dict()), layer=layer, site=site, site_out=site_out)
        return self._entry(name, self._ready(sae), placement, source, report)

    def load(self, release: str, sae_id: str, *, layer: int | None = None, site: Any = None, site_out: Any = None,
             name: str | None = None, check_model: bool = True) -> SAEEntry:
        """Load an SAE from the sae-lens registry, e.g. Gemma Scope, through the Hugging Face cache.

        Downloads what is not cached yet (offline, with ``HF_HUB_OFFLINE=1``, a cached
        release loads without the network). The release's model is compared with the
        loaded one first, by name (see :mod:`workbench._sae_hub`); a release for another
        model is refused naming both, unless ``check_model=False``. Its config is
        checked (site, sizes) before the weights are read.
        """
        lookup = _sae_hub.release_lookup(release)
        if check_model and lookup is not None:
            _sae_hub.check_release_model(self._session, release, lookup.model)
        facts = ConfigFacts.of(_sae_hub.release_config(release, sae_id))
        place(self._session, facts, layer=layer, site=site, site_out=site_out)  # refuse before the weights are read
        sae = _sae_hub.load_release(release, sae_id)
        if check_model and lookup is None:
            _sae_hub.check_release_model(self._session, release, getattr(sae.cfg.metadata, "model_name", None))
        return self.add(sae, layer=layer, site=site, site_out=site_out, name=name or sae_id,
                        source=f"{release}/{sae_id}")

    @staticmethod
    def _folder(folder: str | Path) -> Path:
        folder = Path(folder).expanduser()
        if not (folder / "cfg.json").is_file():
            raise FileNotFoundError(
                f"{folder} is not an sae-lens SAE folder (no cfg.json); save one with "
                "sae.save_model(folder) or sae.save_inference_model(folder)."
            )
        return folder

    @staticmethod
    def _config(folder: Path) -> dict:
        try:
            cfg = json.loads((folder / "cfg.json").read_text())
            ConfigFacts.of(cfg)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{folder / 'cfg.json'} is not an sae-lens SAE config ({error}).") from None
        return cfg

    @staticmethod
    def _report(folder: Path) -> SAEReport | None:
        if (folder / REPORT).is_file():
            return SAEReport(**json.loads((folder / REPORT).read_text()))
        return None

    def load_path(self, folder: str | Path, *, layer: int | None = None, site: Any = None, site_out: Any = None,
                  name: str | None = None) -> SAEEntry:
        """Load an SAE saved in sae-lens's disk format (cfg.json + safetensors), any architecture sae-lens has.

        A BatchTopK or Matryoshka SAE saved by its training class's ``save_model`` is
        converted with sae-lens's ``save_inference_model`` (a JumpReLU SAE) on the way in.
        """
        folder = self._folder(folder)
        cfg = self._config(folder)
        place(self._session, ConfigFacts.of(cfg), layer=layer, site=site, site_out=site_out)
        sae = _sae_hub.load_folder(folder, cfg.get("architecture"))
        return self.add(sae, layer=layer, site=site, site_out=site_out, name=name or folder.name, source=str(folder),
                        report=self._report(folder))

    def register_path(self, folder: str | Path, *, layer: int | None = None, site: Any = None,
                      site_out: Any = None, name: str | None = None) -> SAEEntry:
        """Register an SAE folder in sae-lens's disk format, loading it (and sae-lens) only when first used.

        Its ``cfg.json`` is read and checked against the loaded model now (site, input
        size), so a mismatched SAE is refused at once; the weights are read the first
        time ``entry.sae`` is, through sae-lens, and checked again then.
        """
        folder = self._folder(folder)
        facts = ConfigFacts.of(self._config(folder))
        placement = place(self._session, facts, layer=layer, site=site, site_out=site_out)
        name = name or folder.name

        def load() -> Any:
            sae = _sae_hub.load_folder(folder, facts.architecture)
            if int(sae.cfg.d_sae) != facts.d_sae or int(sae.cfg.d_in) != facts.d_in:
                raise ValueError(f"The SAE in {folder} changed since it was registered as {name!r}; register it again.")
            return self._ready(sae)

        return self._entry(name, None, placement, str(folder), self._report(folder), d_sae=facts.d_sae, loader=load)

    def get(self, name: str | None = None) -> SAEEntry:
        """The SAE called ``name``, or the only/first registered one when ``name`` is None."""
        if name is not None:
            return self[name]
        if not len(self):
            raise ValueError(
                "No SAE is registered on this workbench: load one with bench.saes.load_path(...) "
                "or train one with bench.saes.train(...)."
            )
        return self[self.names()[0]]

    # -- training --------------------------------------------------------------

    def train(
        self,
        layer: int,
        corpus: Sequence[str],
        *,
        d_sae: int = 4096,
        k: int = 48,
        tokens: int = 200_000,
        epochs: int = 1,
        context: int = 128,
        batch_size: int = 4096,
        lr: float = 4e-4,
        eval_fraction: float = 0.05,
        forward_batch: int = 16,
        seed: int = 0,
        name: str | None = None,
        save_to: str | Path | None = None,
        cancel: threading.Event | None = None,
        progress: bool = True,
    ) -> SAEEntry:
        """Train a TopK SAE on the residual stream after ``layer`` with sae-lens.

        Parameters
        ----------
        layer : int
        corpus : sequence of str
            Texts (already rendered: chat transcripts through the chat template).
        d_sae, k
            Latent count and active latents per token.
        tokens : int
            Training activations to collect (at most what the corpus holds).
        epochs : int
            Passes over the collected activations.
        eval_fraction : float
            Share of the corpus windows held out for the report.
        save_to : path, optional
            Default: ``<cache>/saes/<model>-layer<L>-<d_sae>``. Written atomically.
        cancel : threading.Event, optional
            Stops collection or training between batches; the SAE is then neither
            saved nor registered and :class:`workbench.Cancelled` is raised.

        Returns
        -------
        SAEEntry
            Registered under ``name``, with its held-out :class:`SAEReport`.
        """
        return _sae_training.train(self, layer, corpus, d_sae=d_sae, k=k, tokens=tokens, epochs=epochs,
                                   context=context, batch_size=batch_size, lr=lr, eval_fraction=eval_fraction,
                                   forward_batch=forward_batch, seed=seed, name=name, save_to=save_to,
                                   cancel=cancel, progress=progress)

    # -- activations -----------------------------------------------------------

    def corpus_windows(self, corpus: Sequence[str], context: int) -> torch.Tensor:
        """Tokenize texts and pack them, separated by end-of-text, into windows."""
        if isinstance(corpus, (str, bytes)):
            raise TypeError("corpus must be a sequence of texts, not a single string.")
        texts = [text for text in corpus if isinstance(text, str) and text.strip()]
        if not texts:
            raise ValueError("The corpus has no non-empty texts.")
        tokenizer = self._session.tokenizer
        encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
        return residual.windows(encoded, context, tokenizer.eos_token_id)

    def collect(self, layer: int | Site, rows: torch.Tensor, *, batch: int = 16,
                cancel: threading.Event | None = None, progress: bool = True,
                description: str = "collecting") -> torch.Tensor:
        """Activations at ``layer`` (the residual stream after it, or any :class:`~workbench.layout.Site`)
        for token windows, first position dropped: ``[n, d]``."""
        import torch
        from tqdm.auto import tqdm

        site = layer if isinstance(layer, Site) else Site(check_layer(self._session, layer))
        out = []
        bar = tqdm(total=rows.shape[0] * (rows.shape[1] - 1), desc=description, unit="tok",
                   disable=not progress, delay=0.5)
        session = self._session
        try:
            chunks = list(residual.batches(rows, batch))
            read = None
            if session.remote and len(chunks) > 1:  # one request for every batch
                if cancel is not None and cancel.is_set():
                    raise Cancelled("Activation collection was cancelled before its request was sent.")
                read = residual.read_batches(session, [(c, torch.ones_like(c)) for c in chunks], sites=[site])
            for n, chunk in enumerate(chunks):
                if read is None and cancel is not None and cancel.is_set():
                    raise Cancelled("Activation collection was cancelled; nothing was saved.")
                acts = read[n][site] if read is not None else residual.site_outputs(session, chunk, sites=[site])[site]
                out.append(acts[:, 1:].reshape(-1, acts.shape[-1]).cpu())
                bar.update(out[-1].shape[0])
        finally:
            bar.close()
        return torch.cat(out)

    def evaluate(self, sae: Any, layer: int, rows: torch.Tensor, *, batch: int = 16,
                 progress: bool = True) -> SAEReport:
        """Explained variance, mean L0 and dead-latent fraction on held-out windows."""
        return _sae_training.evaluate(self, sae, layer, rows, batch=batch, progress=progress)

    def __repr__(self) -> str:
        return f"SAEs[{', '.join(repr(self[n]) for n in self.names())}]"
