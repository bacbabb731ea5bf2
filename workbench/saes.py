"""Sparse autoencoders on the session: load, check, register, train (all through sae-lens).

Every SAE reads the residual stream after one decoder layer. ``bench.saes`` holds
them by name:

>>> corpus = wb.corpora.demo_training_corpus().texts()
>>> bench.saes.train(1, corpus, d_sae=32, k=4, tokens=2000, context=32, batch_size=256,
...                  save_to=tmp / "sae", name="demo", progress=False)   # the defaults take minutes
SAE('demo', layer=1, d_sae=32, EV ..., L0 4.0, dead ...%)
>>> bench.saes.load_path(tmp / "sae", name="demo-again")
SAE('demo-again', layer=1, d_sae=32, EV ..., L0 4.0, dead ...%)

Training collects activations through nnsight (stopping the forward pass at the
hooked layer) and hands them to sae-lens's ``SAETrainer``; the result is saved in
sae-lens's disk format and evaluated on held-out text.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import models, residual
from .errors import Cancelled
from .layout import check_layer, hook_name
from .registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .session import Session

REPORT = "workbench_report.json"
_HOOK_PATTERNS = (
    (re.compile(r"^blocks\.(\d+)\.hook_resid_post$"), 0),
    (re.compile(r"^blocks\.(\d+)\.hook_resid_pre$"), -1),
    (re.compile(r"^(?:model\.layers|transformer\.h|gpt_neox\.layers|model\.decoder\.layers)\.(\d+)(?:\.output)?$"), 0),
)


class SAEEntry:
    """A registered SAE and where it reads the model.

    Attributes
    ----------
    name : str
    sae : sae_lens.SAE
        Loaded (with sae-lens) on first use when the SAE was registered from a folder
        with :meth:`SAERegistry.register_path`.
    layer : int
        Reads the residual stream after this decoder layer.
    hook : str
        The module path of that layer in the loaded model.
    source : str
        Where it came from (release/id, folder, "trained", "object").
    report : SAEReport or None
        Held-out figures, when known.
    d_sae : int
        Its number of latents (known without loading it).
    """

    def __init__(self, name: str, sae: Any, layer: int, hook: str, source: str, report: SAEReport | None = None,
                 *, d_sae: int | None = None, loader: Callable[[], Any] | None = None) -> None:
        if sae is None and loader is None:
            raise ValueError("An SAE entry needs an SAE or a loader for one.")
        self.name, self.layer, self.hook, self.source, self.report = name, layer, hook, source, report
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

    def __repr__(self) -> str:
        figures = f", {self.report.summary()}" if self.report else ""
        return f"SAE({self.name!r}, layer={self.layer}, d_sae={self.d_sae}{figures})"


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
    """The decoder layer a hook name reads after (TransformerLens or module-path style)."""
    if not name:
        return None
    for pattern, offset in _HOOK_PATTERNS:
        match = pattern.match(name)
        if match:
            return int(match.group(1)) + offset
    return None


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

    def _placement(self, hook: str | None, layer: int | None, d_in: int, reshape: Any) -> int:
        """The decoder layer an SAE reads, checked against the loaded model (from its config alone)."""
        session = self._session
        if layer is None:
            layer = layer_from_hook(hook)
            if layer is None:
                raise ValueError(
                    f"Cannot tell which layer this SAE reads (hook name {hook!r}); pass "
                    f"layer=... (0..{session.n_layers - 1}). Hook names understood: "
                    "'blocks.N.hook_resid_post', 'blocks.N.hook_resid_pre', "
                    f"'{hook_name(session, 0).rsplit('.', 1)[0]}.N'."
                )
            if layer < 0:
                raise ValueError(
                    f"SAE hook {hook!r} reads the embeddings, before any decoder layer; "
                    "the workbench reads the residual stream after a layer."
                )
        check_layer(session, layer)
        if int(d_in) != session.hidden_size:
            raise ValueError(
                f"This SAE takes inputs of size {d_in}, but {session.model_name} has hidden "
                f"size {session.hidden_size}: it was trained on another model."
            )
        if (reshape or "none") != "none":
            raise ValueError("SAEs on attention-head outputs (hook_z) are not supported; use a residual-stream SAE.")
        return layer

    def _ready(self, sae: Any) -> Any:
        import torch

        sae.to(self._session.device, torch.float32)  # encoding runs in float32 whatever the model's dtype
        sae.eval()
        return sae

    def add(self, sae: Any, *, layer: int | None = None, name: str | None = None,
            source: str = "object", report: SAEReport | None = None) -> SAEEntry:
        """Register an sae-lens SAE object after checking it fits the loaded model.

        Parameters
        ----------
        sae : sae_lens.SAE
        layer : int, optional
            The decoder layer it reads after; default: read from
            ``sae.cfg.metadata.hook_name``.
        name : str, optional
            Default: ``"layer{layer}-{d_sae}"``.
        """
        from sae_lens import SAE

        if not isinstance(sae, SAE):
            raise TypeError(f"Expected an sae_lens SAE, got {type(sae).__name__}.")
        hook = getattr(sae.cfg.metadata, "hook_name", None)
        layer = self._placement(hook, layer, sae.cfg.d_in, getattr(sae.cfg, "reshape_activations", "none"))
        name = name or f"layer{layer}-{sae.cfg.d_sae}"
        entry = SAEEntry(name, self._ready(sae), layer, hook_name(self._session, layer), source, report)
        self.register(name, entry)
        return entry

    def load(self, release: str, sae_id: str, *, layer: int | None = None, name: str | None = None) -> SAEEntry:
        """Load an SAE from the sae-lens registry (needs a network), e.g. Gemma Scope."""
        from sae_lens import SAE

        sae = SAE.from_pretrained(release, sae_id, device="cpu")
        return self.add(sae, layer=layer, name=name or sae_id, source=f"{release}/{sae_id}")

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
    def _report(folder: Path) -> SAEReport | None:
        if (folder / REPORT).is_file():
            return SAEReport(**json.loads((folder / REPORT).read_text()))
        return None

    def load_path(self, folder: str | Path, *, layer: int | None = None, name: str | None = None) -> SAEEntry:
        """Load an SAE saved in sae-lens's disk format (cfg.json + safetensors)."""
        from sae_lens import SAE

        folder = self._folder(folder)
        sae = SAE.load_from_disk(folder, device="cpu")
        return self.add(sae, layer=layer, name=name or folder.name, source=str(folder), report=self._report(folder))

    def register_path(self, folder: str | Path, *, layer: int | None = None, name: str | None = None) -> SAEEntry:
        """Register an SAE folder in sae-lens's disk format, loading it (and sae-lens) only when first used.

        Its ``cfg.json`` is read and checked against the loaded model now (layer, input
        size), so a mismatched SAE is refused at once; the weights are read the first
        time ``entry.sae`` is, through sae-lens, and checked again then.
        """
        folder = self._folder(folder)
        try:
            cfg = json.loads((folder / "cfg.json").read_text())
            hook = (cfg.get("metadata") or {}).get("hook_name", cfg.get("hook_name"))
            d_in, d_sae = int(cfg["d_in"]), int(cfg["d_sae"])
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{folder / 'cfg.json'} is not an sae-lens SAE config ({error}).") from None
        layer = self._placement(hook, layer, d_in, cfg.get("reshape_activations", "none"))
        name = name or folder.name

        def load() -> Any:
            from sae_lens import SAE

            sae = SAE.load_from_disk(folder, device="cpu")
            if int(sae.cfg.d_sae) != d_sae or int(sae.cfg.d_in) != d_in:
                raise ValueError(f"The SAE in {folder} changed since it was registered as {name!r}; register it again.")
            return self._ready(sae)

        entry = SAEEntry(name, None, layer, hook_name(self._session, layer), str(folder), self._report(folder),
                         d_sae=d_sae, loader=load)
        self.register(name, entry)
        return entry

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
        import torch
        from sae_lens import SAE, TopKTrainingSAE, TopKTrainingSAEConfig
        from sae_lens.config import SAETrainerConfig
        from sae_lens.training.sae_trainer import SAETrainer

        session = self._session
        check_layer(session, layer)
        if not 0 < k < d_sae:
            raise ValueError(f"k must be between 1 and d_sae - 1 ({d_sae - 1}), not {k}.")
        start = time.perf_counter()
        rows = self.corpus_windows(corpus, context)
        generator = torch.Generator().manual_seed(seed)
        rows = rows[torch.randperm(rows.shape[0], generator=generator)]
        n_eval = max(1, int(rows.shape[0] * eval_fraction))
        eval_rows, train_rows = rows[:n_eval], rows[n_eval:]
        per_row = context - 1  # the first position of each window is left out
        train_rows = train_rows[: max(1, -(-tokens // per_row))]
        acts = self.collect(layer, train_rows, batch=forward_batch, cancel=cancel, progress=progress,
                            description=f"collecting layer {layer}")
        n_train = acts.shape[0]

        cfg = TopKTrainingSAEConfig(
            d_in=session.hidden_size, d_sae=d_sae, k=k, dtype="float32", device="cpu",
            normalize_activations="expected_average_only_in", decoder_init_norm=0.1,
        )
        cfg.metadata.hook_name = hook_name(session, layer)
        cfg.metadata.model_name = session.model_name
        torch.manual_seed(seed)
        sae = TopKTrainingSAE(cfg)
        total = n_train * epochs
        trainer_cfg = SAETrainerConfig(
            total_training_samples=total, train_batch_size_samples=batch_size, lr=lr, lr_end=lr / 10,
            lr_warm_up_steps=max(1, total // batch_size // 20), lr_decay_steps=max(1, total // batch_size // 5),
            lr_scheduler_name="constant", device="cpu",
            n_batches_for_norm_estimate=min(50, max(1, n_train // batch_size)),
            dead_feature_window=max(50, total // batch_size // 4), feature_sampling_window=10**9,
        )

        def provider() -> Iterator[torch.Tensor]:
            while True:
                order = torch.randperm(n_train, generator=generator)
                for i in range(0, n_train - batch_size + 1, batch_size):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("SAE training was cancelled; nothing was saved.")
                    yield acts[order[i : i + batch_size]]

        trainer = SAETrainer(cfg=trainer_cfg, sae=sae, data_provider=provider())
        trainer.fit()  # sae-lens shows its own progress bar
        acts = None  # the collected activations are no longer needed

        folder = Path(save_to) if save_to else models.cache_dir() / "saes" / (
            f"{session.model_name.lower()}-layer{layer}-{d_sae}-k{k}"
        )
        if folder.exists():  # retraining replaces the previous SAE of that name
            import shutil

            shutil.rmtree(folder)
        models.ensure_converted(folder, sae.save_inference_model, source={"trained": True})
        loaded = SAE.load_from_disk(folder, device="cpu")
        report = self.evaluate(loaded, layer, eval_rows, batch=forward_batch, progress=progress)
        report.n_train_tokens = n_train
        report.train_seconds = round(time.perf_counter() - start, 1)
        report.settings = {"layer": layer, "d_sae": d_sae, "k": k, "tokens": tokens, "epochs": epochs,
                           "context": context, "batch_size": batch_size, "lr": lr, "seed": seed}
        (folder / REPORT).write_text(json.dumps(asdict(report), indent=1))
        return self.add(loaded, layer=layer, name=name or folder.name, source=str(folder), report=report)

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

    def collect(self, layer: int, rows: torch.Tensor, *, batch: int = 16,
                cancel: threading.Event | None = None, progress: bool = True,
                description: str = "collecting") -> torch.Tensor:
        """Residual activations after ``layer`` for token windows, first position dropped: ``[n, d]``."""
        import torch
        from tqdm.auto import tqdm

        out = []
        bar = tqdm(total=rows.shape[0] * (rows.shape[1] - 1), desc=description, unit="tok",
                   disable=not progress, delay=0.5)
        try:
            for chunk in residual.batches(rows, batch):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("Activation collection was cancelled; nothing was saved.")
                acts = residual.layer_outputs(self._session, chunk, layers=[layer])[layer]
                out.append(acts[:, 1:].reshape(-1, acts.shape[-1]).cpu())
                bar.update(out[-1].shape[0])
        finally:
            bar.close()
        return torch.cat(out)

    def evaluate(self, sae: Any, layer: int, rows: torch.Tensor, *, batch: int = 16,
                 progress: bool = True) -> SAEReport:
        """Explained variance, mean L0 and dead-latent fraction on held-out windows."""
        import torch

        acts = self.collect(layer, rows, batch=batch, progress=progress, description="evaluating")
        with torch.inference_mode():
            latents = encode(sae, acts)
            recon = sae.decode(latents).float()
        residual_var = ((acts - recon) ** 2).sum()
        total_var = ((acts - acts.mean(0)) ** 2).sum()
        fired = (latents > 0)
        return SAEReport(
            explained_variance=round(float(1 - residual_var / total_var), 4),
            mean_l0=round(float(fired.sum(1).float().mean()), 2),
            dead_fraction=round(float((~fired.any(0)).float().mean()), 4),
            n_eval_tokens=int(acts.shape[0]),
        )

    def __repr__(self) -> str:
        return f"SAEs[{', '.join(repr(self[n]) for n in self.names())}]"
