"""Training an SAE on the session (for :meth:`workbench.saes.SAERegistry.train`): sae-lens's trainer fed by nnsight.

Activations are collected through nnsight (the forward pass stops at the layer read),
handed to sae-lens's ``SAETrainer`` for a TopK SAE, saved in sae-lens's disk format
and evaluated on held-out windows.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import models
from .errors import Cancelled
from .layout import check_layer, hook_name

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .saes import SAEEntry, SAERegistry, SAEReport


def train(registry: SAERegistry, layer: int, corpus: Sequence[str], *, d_sae: int, k: int, tokens: int, epochs: int,
          context: int, batch_size: int, lr: float, eval_fraction: float, forward_batch: int, seed: int,
          name: str | None, save_to: str | Path | None, cancel: threading.Event | None,
          progress: bool) -> SAEEntry:
    """See :meth:`workbench.saes.SAERegistry.train`."""
    import torch
    from sae_lens import SAE, TopKTrainingSAE, TopKTrainingSAEConfig
    from sae_lens.config import SAETrainerConfig
    from sae_lens.training.sae_trainer import SAETrainer

    from .saes import REPORT

    session = registry._session
    check_layer(session, layer)
    if not 0 < k < d_sae:
        raise ValueError(f"k must be between 1 and d_sae - 1 ({d_sae - 1}), not {k}.")
    start = time.perf_counter()
    rows = registry.corpus_windows(corpus, context)
    generator = torch.Generator().manual_seed(seed)
    rows = rows[torch.randperm(rows.shape[0], generator=generator)]
    n_eval = max(1, int(rows.shape[0] * eval_fraction))
    eval_rows, train_rows = rows[:n_eval], rows[n_eval:]
    per_row = context - 1  # the first position of each window is left out
    train_rows = train_rows[: max(1, -(-tokens // per_row))]
    if train_rows.shape[0] * per_row < batch_size:  # no full batch: the trainer would wait for one for ever
        raise ValueError(f"The corpus gives {train_rows.shape[0] * per_row} training activations "
                         f"({train_rows.shape[0]} windows of {context} tokens), fewer than one batch of "
                         f"{batch_size}: lower batch_size or give more text or tokens.")
    acts = registry.collect(layer, train_rows, batch=forward_batch, cancel=cancel, progress=progress,
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
    report = evaluate(registry, loaded, layer, eval_rows, batch=forward_batch, progress=progress)
    report.n_train_tokens = n_train
    report.train_seconds = round(time.perf_counter() - start, 1)
    report.settings = {"layer": layer, "d_sae": d_sae, "k": k, "tokens": tokens, "epochs": epochs,
                       "context": context, "batch_size": batch_size, "lr": lr, "seed": seed}
    (folder / REPORT).write_text(json.dumps(asdict(report), indent=1))
    return registry.add(loaded, layer=layer, name=name or folder.name, source=str(folder), report=report)


def evaluate(registry: SAERegistry, sae: Any, layer: int, rows: torch.Tensor, *, batch: int = 16,
             progress: bool = True) -> SAEReport:
    """Explained variance, mean L0 and dead-latent fraction on held-out windows."""
    import torch

    from .saes import SAEReport, encode

    acts = registry.collect(layer, rows, batch=batch, progress=progress, description="evaluating")
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
