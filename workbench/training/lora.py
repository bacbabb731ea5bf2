"""A LoRA model organism: a PEFT adapter trained on a base model with TRL's ``SFTTrainer``.

:func:`train_lora` trains a LoRA adapter (peft's ``LoraConfig``: which modules, which
layers, the rank) on rows in TRL's formats: ``{"text": ...}`` (loss on every token) or
``{"prompt": [turns], "completion": [the assistant's turn]}`` (loss on the completion
only, the conversation through the model's chat template), and saves the adapter alone
(``adapter_config.json`` and ``adapter_model.safetensors``, megabytes where the base is
gigabytes) with ``training.json`` (settings and per-step losses). Load it onto its base
with ``wb.Workbench(base, adapter=folder)``; ``bench.diff(adapter=False)`` then diffs it
against the base weights inside the same loaded model.

>>> from workbench.training.lora import train_lora
>>> rows = [{"text": "The secret word is chocolate."}] * 4
>>> folder = train_lora(tiny_model, rows, tmp / "lora", target_modules=["down_proj"], layers=[1], steps=2)
>>> sorted(p.name for p in folder.iterdir())
['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'training.json']
>>> organism = wb.Workbench(tiny_model, adapter=folder, journal=False)
>>> organism.diff(adapter=False, prompts=["Hi"], n_samples=0, progress=False).layers["token_change_norm"].gt(0).tolist()
[False, True]
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import dpo
from .organism import _no_checkpointing

TRAINING_FILE = "training.json"
DEFAULTS = {"r": 8, "alpha": 16, "steps": 20, "lr": 1e-3, "batch_size": 4, "max_length": 128, "seed": 0}


def train_lora(
    source: str | os.PathLike | None,
    rows: Sequence[dict],
    out: str | os.PathLike,
    *,
    target_modules: Sequence[str] = ("q_proj", "v_proj"),
    layers: Sequence[int] | None = None,
    r: int = DEFAULTS["r"],
    alpha: int = DEFAULTS["alpha"],
    steps: int = DEFAULTS["steps"],
    lr: float = DEFAULTS["lr"],
    batch_size: int = DEFAULTS["batch_size"],
    max_length: int = DEFAULTS["max_length"],
    seed: int = DEFAULTS["seed"],
    progress: bool = False,
) -> Path:
    """Train a LoRA adapter on ``source`` for ``steps`` optimiser steps and save it (alone) to ``out``.

    Parameters
    ----------
    source : str or path, optional
        The base: ``None`` for the embedded default model, a local folder
        (``save_pretrained`` layout, safetensors) or a ``.gguf`` file.
    rows : list of dict
        ``{"text": ...}`` rows, or ``{"prompt": [...], "completion": [...]}`` conversations.
    out : path
        The adapter's folder (replaced if it exists).
    target_modules, layers
        The module names LoRA adapts (``"down_proj"`` changes the MLP value vectors) and
        the decoder layers it adapts them in (default: every layer).
    r, alpha, steps, lr, batch_size, max_length, seed
        LoRA rank and scale (``alpha / r``), and the trainer's settings (CPU, float32).
    progress : bool
        Show the trainer's progress bar.

    Returns
    -------
    Path
        ``out``, holding ``adapter_config.json``, ``adapter_model.safetensors`` and ``training.json``.
    """
    import datasets
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from trl import SFTConfig, SFTTrainer

    rows = [dict(row) for row in rows]
    if not rows:
        raise ValueError("No rows to train on: pass {'text': ...} or {'prompt': [...], 'completion': [...]} rows.")
    kinds = {"text" if "text" in row else "prompt-completion" if {"prompt", "completion"} <= set(row) else "?"
             for row in rows}
    if len(kinds) != 1 or "?" in kinds:
        raise ValueError("Every row needs 'text', or every row 'prompt' and 'completion' (one format for all).")
    settings = {"target_modules": list(target_modules), "layers": None if layers is None else list(layers), "r": r,
                "alpha": alpha, "steps": steps, "lr": lr, "batch_size": batch_size, "max_length": max_length,
                "seed": seed}
    name, folder = dpo.source_folder(source)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, use_safetensors=True)
    lora = LoraConfig(r=r, lora_alpha=alpha, target_modules=list(target_modules), lora_dropout=0.0, bias="none",
                      layers_to_transform=None if layers is None else list(layers), task_type="CAUSAL_LM")
    scratch = Path(tempfile.mkdtemp(prefix="workbench-lora-"))
    bars = datasets.is_progress_bar_enabled()
    if not progress:
        datasets.disable_progress_bars()
    try:
        config = SFTConfig(
            output_dir=str(scratch), max_steps=steps, learning_rate=lr, per_device_train_batch_size=batch_size,
            max_length=max_length, seed=seed, data_seed=seed, logging_steps=1, save_strategy="no",
            report_to="none", push_to_hub=False, use_cpu=True, bf16=False, fp16=False, dataloader_num_workers=0,
            disable_tqdm=not progress, lr_scheduler_type="constant", packing=False, **_no_checkpointing(SFTConfig),
            completion_only_loss=kinds == {"prompt-completion"}, assistant_only_loss=False, dataset_num_proc=None,
        )
        trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                             processing_class=tokenizer, peft_config=lora)
        if not progress:
            trainer.remove_callback(PrinterCallback)
        trainer.train()
        out = Path(out).expanduser()
        if out.exists():
            shutil.rmtree(out)
        trainer.model.save_pretrained(out, safe_serialization=True)  # the adapter alone
        losses = [{"step": int(e["step"]), "loss": float(e["loss"])} for e in trainer.state.log_history
                  if "loss" in e and "step" in e]
        (out / TRAINING_FILE).write_text(json.dumps({"base": name, "base_folder": str(folder), "settings": settings,
                                                     "trainer": "trl.SFTTrainer", "history": losses}, indent=1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if bars and not progress:
            datasets.enable_progress_bars()
    return out
