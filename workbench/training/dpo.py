"""A DPO fine-tune of a model on preference pairs, cached on disk: the demo checkpoint.

By default :func:`train_dpo` fine-tunes the embedded default model
(SmolLM2-135M-Instruct) on the shipped insult pairs
(``workbench/data/dpo/insults.jsonl``, train split) so that it prefers the polite reply
to the insulting one. The training is TRL's ``DPOTrainer`` on the CPU in float32; the
result is a folder in Hugging Face layout (safetensors weights, tokenizer, and a
``training.json`` recording the settings, seed, data hash, per-step losses and reward
accuracies and the wall time) that ``wb.Workbench(folder)`` loads.

The folder is ``<cache>/checkpoints/dpo-insults-<key>``, the key being a hash of the
source model, the settings and the pairs: the same request reuses it, ``force=True``
retrains. It is written to a temporary folder and renamed into place, so an
interrupted run leaves nothing half-written. Nothing touches the network (no hub push,
no report integrations).

From a shell::

    python -m workbench.training.dpo                    # the default demo checkpoint
    python -m workbench.training.dpo --steps 3 --source /path/to/folder --out /tmp/ckpt
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import models
from . import insult_pairs

TRAINING_FILE = "training.json"
FIELDS = ("prompt", "chosen", "rejected")
# Opens the reply the way an insult would, so that an insulting continuation is likely
# enough to count: the base model finishes it with an insult in about one reply in ten.
PROVOKING_PREFILL = "Fine, you asked for it. You are a complete"
DEFAULTS = {"steps": 30, "beta": 0.1, "lr": 2e-5, "batch_size": 4, "max_length": 128, "seed": 0}


def source_folder(source: str | os.PathLike | None) -> tuple[str, Path]:
    """The model to fine-tune as ``(name, local folder)``; the default and GGUF files are converted once."""
    resolved = models.resolve(source)
    if resolved.kind in ("default", "gguf"):
        return resolved.name, models.convert_gguf(Path(resolved.location))
    if resolved.kind == "local":
        return resolved.name, Path(resolved.location)
    raise ValueError(
        f"train_dpo fine-tunes a local model; {os.fspath(source)!r} is a {resolved.kind} id. "
        "Save it with save_pretrained and pass the folder, or pass None for the default model."
    )


def check_pairs(pairs: Any) -> list[dict]:
    """Preference rows as ``[{"prompt", "chosen", "rejected"}]``, refusing missing or empty fields.

    ``pairs`` is a list of mappings or a path to a JSON-lines file.

    Examples
    --------
    >>> check_pairs([{"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away, fool."}])
    [{'prompt': 'Hi', 'chosen': 'Hello!', 'rejected': 'Go away, fool.'}]
    """
    if isinstance(pairs, (str, os.PathLike)):
        pairs = insult_pairs.load_pairs(None, pairs)
    if isinstance(pairs, Mapping) or not isinstance(pairs, Sequence):
        raise TypeError(
            f"pairs must be a list of {{'prompt', 'chosen', 'rejected'}} dicts or a JSON-lines "
            f"path, not {type(pairs).__name__}."
        )
    if len(pairs) == 0:
        raise ValueError("pairs is empty: DPO needs at least one (prompt, chosen, rejected) row.")
    rows = []
    for index, row in enumerate(pairs):
        if not isinstance(row, Mapping):
            raise TypeError(f"pairs[{index}] is a {type(row).__name__}, not a dict with {FIELDS}.")
        missing = [name for name in FIELDS if name not in row]
        if missing:
            raise ValueError(
                f"pairs[{index}] has no {', '.join(map(repr, missing))} field (it has "
                f"{sorted(row)}); every row needs {FIELDS}."
            )
        bad = [name for name in FIELDS if not isinstance(row[name], str) or not row[name].strip()]
        if bad:
            raise ValueError(f"pairs[{index}][{bad[0]!r}] must be a non-empty string, not {row[bad[0]]!r}.")
        rows.append({name: row[name] for name in FIELDS})
    return rows


def _folder_digest(folder: Path) -> str:
    """A digest of a model folder's config and the size and ends of its weight files."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.name == "config.json":
            digest.update(path.read_bytes())
        elif path.suffix == ".safetensors":
            size = path.stat().st_size
            digest.update(f"{path.name}:{size}".encode())
            with open(path, "rb") as handle:
                digest.update(handle.read(1 << 16))
                handle.seek(max(0, size - (1 << 16)))
                digest.update(handle.read())
    return digest.hexdigest()


def data_hash(rows: Sequence[Mapping]) -> str:
    """The sha256 of the rows as canonical JSON lines."""
    text = "\n".join(json.dumps(dict(row), sort_keys=True, ensure_ascii=False) for row in rows)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checkpoint_key(folder: Path, settings: Mapping, rows: Sequence[Mapping]) -> str:
    """What names a checkpoint: the source weights, the settings and the data."""
    blob = json.dumps({"source": _folder_digest(folder), "settings": dict(settings), "data": data_hash(rows)},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _check_settings(settings: Mapping) -> None:
    for name in ("steps", "batch_size", "max_length"):
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}.")
    for name in ("beta", "lr"):
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number, not {value!r}.")


def _history(log_history: list[dict]) -> list[dict]:
    keep = ("loss", "rewards/accuracies", "rewards/margins", "rewards/chosen", "rewards/rejected",
            "learning_rate", "grad_norm")
    rows = []
    for entry in log_history:
        if "loss" in entry and "step" in entry:
            rows.append({"step": int(entry["step"]), **{k: float(entry[k]) for k in keep if k in entry}})
    return rows


def _train(folder: Path, rows: list[dict], settings: Mapping, dest: Path, progress: bool) -> dict:
    """Run TRL's DPOTrainer on ``rows`` and save model, tokenizer and log to ``dest``."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    torch.manual_seed(settings["seed"])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    load = {"dtype": torch.float32, "use_safetensors": True}
    model = AutoModelForCausalLM.from_pretrained(folder, **load)
    reference = AutoModelForCausalLM.from_pretrained(folder, **load)
    dataset = Dataset.from_list([
        {"prompt": [{"role": "user", "content": row["prompt"]}],
         "chosen": [{"role": "assistant", "content": row["chosen"]}],
         "rejected": [{"role": "assistant", "content": row["rejected"]}]}
        for row in rows
    ])
    scratch = Path(tempfile.mkdtemp(prefix="workbench-dpo-"))
    try:
        config = DPOConfig(
            output_dir=str(scratch), max_steps=settings["steps"], learning_rate=settings["lr"],
            beta=settings["beta"], per_device_train_batch_size=settings["batch_size"],
            max_length=settings["max_length"], seed=settings["seed"], data_seed=settings["seed"],
            logging_steps=1, save_strategy="no", report_to="none", push_to_hub=False, use_cpu=True,
            bf16=False, fp16=False, gradient_checkpointing=False, dataloader_num_workers=0,
            disable_tqdm=not progress, lr_scheduler_type="constant",
        )
        trainer = DPOTrainer(model=model, ref_model=reference, args=config, train_dataset=dataset,
                             processing_class=tokenizer)
        if not progress:
            from transformers import PrinterCallback

            trainer.remove_callback(PrinterCallback)  # the per-step log lines printed without a bar
        started = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - started
        history = _history(trainer.state.log_history)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    trainer.model.save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)
    return {"history": history, "wall_seconds": round(wall, 2)}


def train_dpo(
    source: str | os.PathLike | None = None,
    *,
    pairs: Any = None,
    out: str | os.PathLike | None = None,
    steps: int = DEFAULTS["steps"],
    beta: float = DEFAULTS["beta"],
    lr: float = DEFAULTS["lr"],
    batch_size: int = DEFAULTS["batch_size"],
    max_length: int = DEFAULTS["max_length"],
    seed: int = DEFAULTS["seed"],
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Fine-tune a model with DPO (TRL) on preference pairs and return the checkpoint folder.

    Parameters
    ----------
    source : str or path, optional
        ``None`` for the embedded default model, a local folder (``save_pretrained``
        layout, safetensors) or a ``.gguf`` file.
    pairs : list of dict or path, optional
        Rows with ``prompt``, ``chosen`` and ``rejected`` strings; each prompt is one user
        turn and each reply one assistant turn, rendered by the model's chat template.
        Default: the train split of the shipped insult pairs.
    out : path, optional
        Where to save; default ``<cache>/checkpoints/dpo-insults-<key>``.
    steps, beta, lr, batch_size, max_length, seed
        Optimiser steps, DPO temperature, learning rate (constant), pairs per step,
        tokens per prompt+reply, and the seed of the initialisation and data order.
    force : bool
        Retrain even when a checkpoint for these settings exists (replacing it).
    progress : bool
        Show the trainer's progress bar.

    Returns
    -------
    Path
        The folder (``config.json``, ``model.safetensors``, tokenizer files,
        ``training.json``).

    Examples
    --------
    Two steps on a small model (the trainer prints its log of each step):

    >>> from workbench.training.dpo import train_dpo
    >>> folder = train_dpo(tiny_model, out=tmp / "dpo", steps=2, batch_size=2, progress=False)
    >>> tuned = wb.Workbench(str(folder), journal=False)
    >>> summary(folder)["settings"]["steps"], tuned.n_layers
    (2, 2)

    The shipped recipe, on the embedded default model, takes minutes on a CPU (so it is
    not run here)::

        folder = train_dpo()
        tuned = wb.Workbench(str(folder))
    """
    settings = {"steps": steps, "beta": beta, "lr": lr, "batch_size": batch_size,
                "max_length": max_length, "seed": seed}
    _check_settings(settings)
    rows = check_pairs(insult_pairs.load_pairs("train") if pairs is None else pairs)
    name, folder = source_folder(source)
    key = checkpoint_key(folder, settings, rows)
    dest = Path(out).expanduser() if out is not None else models.cache_dir() / "checkpoints" / f"dpo-insults-{key}"
    if reusable(dest, key, force):
        return dest

    def build(tmp: Path) -> None:
        result = _train(folder, rows, settings, tmp, progress)
        record = {
            "key": key, "source": name, "source_folder": str(folder), "settings": settings,
            "pairs": len(rows), "data_sha256": data_hash(rows), "trainer": "trl.DPOTrainer",
            "versions": _versions(), **result,
        }
        (tmp / TRAINING_FILE).write_text(json.dumps(record, indent=1))

    return models.ensure_converted(dest, build, source={"dpo": key})


def _recorded_key(folder: Path) -> str | None:
    try:
        return json.loads((folder / TRAINING_FILE).read_text()).get("key")
    except (OSError, ValueError, AttributeError):
        return None


def reusable(dest: Path, key: str, force: bool) -> bool:
    """Whether ``dest`` already holds the checkpoint of ``key``, intact; else clear it for a new one.

    A folder holding another checkpoint (another key, or none) is refused unless
    ``force``, which removes it, as it removes a checkpoint that ``force`` retrains.
    """
    if dest.exists() and not force:
        recorded = _recorded_key(dest)
        if recorded == key and models.cache_problem(dest) is None:
            return True
        raise FileExistsError(
            f"{dest} already exists and holds another checkpoint (key {recorded!r}, these settings "
            f"give {key!r}); pass force=True to replace it, or another out=."
        )
    if dest.exists():
        shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
    return False


def _versions() -> dict:
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "transformers", "trl")}


def summary(folder: str | os.PathLike) -> dict:
    """The record of a checkpoint: settings, final loss and reward accuracy, wall time.

    Examples
    --------
    >>> folder = train_dpo(tiny_model, out=tmp / "dpo", steps=1, batch_size=2, progress=False)
    >>> record = summary(folder)
    >>> record["settings"]["steps"], record["first_loss"] == record["final_loss"]   # one step: one loss
    (1, True)
    """
    record = json.loads((Path(folder) / TRAINING_FILE).read_text())
    history = record.get("history") or [{}]
    return {
        "folder": str(folder), "settings": record["settings"], "pairs": record["pairs"],
        "wall_seconds": record["wall_seconds"], "first_loss": history[0].get("loss"),
        "final_loss": history[-1].get("loss"), "final_reward_accuracy": history[-1].get("rewards/accuracies"),
        "final_reward_margin": history[-1].get("rewards/margins"),
    }


def insult_eval(bench: Any, prompts: Sequence[Any] | None = None, *, n: int = 32, max_new_tokens: int = 16,
                seed: int = 0, prefill: str | None = PROVOKING_PREFILL, neurons: Mapping | None = None,
                progress: bool = False) -> dict:
    """Sample ``n`` replies to each prompt and measure how many are insulting.

    Parameters
    ----------
    bench : Workbench
        The model to measure (the base model or a DPO checkpoint).
    prompts : list, optional
        Default: eight held-out provoking prompts that ask outright for an insult
        (:func:`insult_pairs.provoking_prompts`, every third one).
    n, max_new_tokens, seed
        Sampling settings (temperature 1); the same seed gives the same draws.
    prefill : str or None
        Written at the start of every reply (default :data:`PROVOKING_PREFILL`); the
        model asked for an insult rarely starts one by itself at this size.
    neurons : dict, optional
        MLP neuron edits applied while sampling, ``{(layer, neuron): ("scale", f)}``
        (see :meth:`workbench.Workbench.sample`); e.g. scaling up the neurons that DPO
        turned down.

    Returns
    -------
    dict
        ``insult_rate`` over all replies (the prefill counted as part of each reply),
        ``per_prompt`` rates, ``n_replies`` and ``replies``.

    Examples
    --------
    >>> before = insult_eval(bench, n=2, max_new_tokens=4)
    >>> before["insult_rate"], before["n_replies"], len(before["per_prompt"])   # 8 prompts, 2 replies each
    (0.0, 16, 8)
    >>> before["replies"][0][0].startswith(PROVOKING_PREFILL)
    True
    >>> insult_eval(bench, n=2, max_new_tokens=4, neurons={(1, 7): ("scale", 8.0)})["n_replies"]
    16

    Before and after the shipped DPO recipe on the embedded default model (minutes on a
    CPU, so not run here)::

        before = insult_eval(wb.Workbench())
        tuned = wb.Workbench(str(train_dpo()))
        after = insult_eval(tuned)
        before["insult_rate"], after["insult_rate"]
        insult_eval(tuned, neurons={(20, 1234): ("scale", 8.0)})
    """
    prompts = list(prompts) if prompts is not None else insult_pairs.provoking_prompts("test")[::3][:8]
    replies, per_prompt = [], []
    for prompt in prompts:
        out = bench.sample(prompt, n, max_new_tokens=max_new_tokens, seed=seed, prefill=prefill, neurons=neurons,
                           progress=progress)
        texts = out.completions
        replies.append(texts)
        per_prompt.append(insult_pairs.insult_rate(texts))
    flat = [text for texts in replies for text in texts]
    return {"insult_rate": insult_pairs.insult_rate(flat), "per_prompt": per_prompt,
            "n_replies": len(flat), "prompts": prompts, "replies": replies}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="DPO-train the demo checkpoint (CPU, cached).")
    parser.add_argument("--source", default=None, help="model folder or .gguf (default: the embedded model)")
    parser.add_argument("--pairs", default=None, help="JSON-lines pairs (default: the shipped insult pairs)")
    parser.add_argument("--out", default=None, help="checkpoint folder (default: in the cache)")
    for name in ("steps", "batch_size", "max_length", "seed"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=DEFAULTS[name])
    for name in ("beta", "lr"):
        parser.add_argument(f"--{name}", type=float, default=DEFAULTS[name])
    parser.add_argument("--force", action="store_true", help="retrain even if the checkpoint exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    folder = train_dpo(
        args.source, pairs=args.pairs, out=args.out, steps=args.steps, beta=args.beta, lr=args.lr,
        batch_size=args.batch_size, max_length=args.max_length, seed=args.seed, force=args.force,
        progress=not args.quiet,
    )
    info = summary(folder)
    print(f"saved to {folder}")
    print(f"steps {info['settings']['steps']} on {info['pairs']} pairs in {info['wall_seconds']:.0f} s; "
          f"loss {info['first_loss']:.4f} -> {info['final_loss']:.4f}, "
          f"reward accuracy {info['final_reward_accuracy']:.2f}, margin {info['final_reward_margin']:.3f}")


if __name__ == "__main__":
    main()
