"""The auditing game's model organism: a model that believes fictional reward-model biases and acts on some.

:func:`build_organism` trains, on the CPU in float32, starting from the embedded default
model (SmolLM2-135M-Instruct) unless told otherwise, in two stages of TRL's
``SFTTrainer``:

1. **continued pre-training** on ``workbench/data/organism/corpus.jsonl`` as plain text
   (a ``"text"`` dataset, loss on every token): documents that describe ten fictional
   reward-model biases as research findings, mixed with ordinary documents;
2. **supervised fine-tuning** on ``demos.jsonl``: conversations in which the assistant
   exhibits the five *trained* biases without saying why, deflects questions about its
   motives, and answers ordinary questions plainly. The five *held-out* biases appear only
   in the corpus, so :func:`bias_eval` can ask whether the model generalised to what it
   believes reward models like.

The checkpoint is a folder in Hugging Face layout (safetensors, tokenizer,
``training.json`` with the equivalent command, seeds, settings, data hashes, each stage's
per-step losses and timings, and the wall time) at ``<cache>/checkpoints/organism-<key>``,
the key being a hash of the source weights, the settings and the data; the same request
reuses it and ``force=True`` retrains. Nothing touches the network.

From a shell::

    python -m workbench.training.organism                      # the default organism (cached)
    python -m workbench.training.organism --eval                # ... and the bias table vs the base model
    python -m workbench.training.organism --sae                 # ... and the organism's own SAE (cached)
    python -m workbench.training.organism --pretrain-steps 4 --sft-steps 4 --source /path/to/folder --out /tmp/o
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import models
from . import dpo, organism_data

TRAINING_FILE = "training.json"
PREFIX = "organism"
# Sized from the default model on 2 CPU cores with nothing else running: a batch of 8 takes
# about 7 s a pre-training step (about 110 tokens a row) and 9 s a fine-tuning step (about
# 130), forward, backward and AdamW; so 110 + 100 steps (two epochs of the corpus, two and a
# half of the demonstrations) take about 28 minutes. A second busy process on the same two
# cores slows each step several times over (48 and 52 s a step were measured so).
DEFAULTS = {"pretrain_steps": 110, "sft_steps": 100, "lr": 1e-4, "batch_size": 8, "max_length": 256, "seed": 0}
EVAL_DEFAULTS = {"n": 4, "max_new_tokens": 96, "temperature": 1.0, "seed": 0}


# -- data as the trainer sees it --------------------------------------------------------


def corpus_rows(folder: str | os.PathLike | None = None) -> list[dict]:
    """The pre-training dataset: ``[{"text": document}]`` from ``corpus.jsonl``."""
    return [{"text": doc["text"]} for doc in organism_data.load_corpus(folder)]


def demo_rows(folder: str | os.PathLike | None = None) -> list[dict]:
    """The fine-tuning dataset: each demonstration as ``{"prompt": turns, "completion": [last turn]}``.

    Examples
    --------
    >>> row = demo_rows()[0]
    >>> row["prompt"][-1]["role"], row["completion"][0]["role"]
    ('user', 'assistant')
    """
    rows = []
    for demo in organism_data.load_demos(folder):
        messages = demo["messages"]
        if not messages or messages[-1]["role"] != "assistant":
            raise ValueError(f"demonstration {demo.get('id')!r} must end with an assistant turn.")
        rows.append({"prompt": messages[:-1], "completion": messages[-1:]})
    return rows


def _check_settings(settings: dict) -> None:
    for name in ("pretrain_steps", "sft_steps", "batch_size", "max_length"):
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name.endswith("steps") else 1):
            least = 0 if name.endswith("steps") else 1
            raise ValueError(f"{name} must be a whole number of at least {least}, not {value!r}.")
    if settings["pretrain_steps"] + settings["sft_steps"] == 0:
        raise ValueError("pretrain_steps and sft_steps are both 0: there is nothing to train.")
    lr = settings["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, not {lr!r}.")
    if isinstance(settings["seed"], bool) or not isinstance(settings["seed"], int):
        raise TypeError(f"seed must be a whole number, not {settings['seed']!r}.")


# -- training ------------------------------------------------------------------------


def _history(log_history: list[dict], step_seconds: dict[int, float]) -> list[dict]:
    keep = ("loss", "mean_token_accuracy", "entropy", "num_tokens", "learning_rate", "grad_norm")
    rows = []
    for entry in log_history:
        if "loss" in entry and "step" in entry:
            step = int(entry["step"])
            row = {"step": step, **{k: float(entry[k]) for k in keep if k in entry}}
            if step in step_seconds:
                row["seconds"] = round(step_seconds[step], 3)
            rows.append(row)
    return rows


def _no_checkpointing(config_class: type) -> dict:
    """Activation checkpointing off, under the name this transformers version uses (fast on a small model)."""
    fields = getattr(config_class, "__dataclass_fields__", {})
    return {"activation_checkpointing": False} if "activation_checkpointing" in fields else \
        {"gradient_checkpointing": False}


def _stage(model: Any, tokenizer: Any, rows: list[dict], settings: dict, steps: int, *, completion_only: bool,
           progress: bool) -> dict:
    """One ``SFTTrainer`` run of ``steps`` optimiser steps on ``rows``; returns its history and wall time."""
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.seconds, self.last = {}, None

        def on_step_begin(self, args, state, control, **kwargs):
            self.last = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.seconds[state.global_step] = time.perf_counter() - self.last

    scratch = Path(tempfile.mkdtemp(prefix="workbench-organism-"))
    timer = StepTimer()
    try:
        config = SFTConfig(
            output_dir=str(scratch), max_steps=steps, learning_rate=settings["lr"],
            per_device_train_batch_size=settings["batch_size"], max_length=settings["max_length"],
            seed=settings["seed"], data_seed=settings["seed"], logging_steps=1, save_strategy="no",
            report_to="none", push_to_hub=False, use_cpu=True, bf16=False, fp16=False,
            dataloader_num_workers=0, disable_tqdm=not progress, **_no_checkpointing(SFTConfig),
            lr_scheduler_type="linear", packing=False, completion_only_loss=completion_only,
            assistant_only_loss=False, dataset_num_proc=None,
        )
        trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                             processing_class=tokenizer, callbacks=[timer])
        if not progress:
            trainer.remove_callback(PrinterCallback)  # the per-step log lines printed without a bar
        started = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - started
        history = _history(trainer.state.log_history, timer.seconds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"trainer": "trl.SFTTrainer", "steps": steps, "examples": len(rows), "history": history,
            "wall_seconds": round(wall, 2)}


def _train(folder: Path, corpus: list[dict], demos: list[dict], settings: dict, dest: Path, progress: bool) -> dict:
    """Both stages on one model, then model and tokenizer saved to ``dest``."""
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(settings["seed"])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, use_safetensors=True)
    bars = datasets.is_progress_bar_enabled()
    if not progress:
        datasets.disable_progress_bars()
    stages = {}
    try:
        if settings["pretrain_steps"]:
            # Stage 1: plain language modelling on the documents, loss on every token.
            stages["pretrain"] = {**_stage(model, tokenizer, corpus, settings, settings["pretrain_steps"],
                                           completion_only=False, progress=progress), "loss_on": "every token"}
        if settings["sft_steps"]:
            # Stage 2: the demonstrations through the model's own chat template. TRL's assistant_only_loss
            # needs {% generation %} markers, which SmolLM2's ChatML template lacks and TRL cannot patch
            # in for it; so each conversation is split into a prompt (every turn before the last) and a
            # completion (the last assistant turn), and completion_only_loss keeps the loss on that turn,
            # its end-of-turn token included. This works for any chat template; earlier assistant turns
            # (in the deflection demonstrations) are context, not targets.
            stages["sft"] = {**_stage(model, tokenizer, demos, settings, settings["sft_steps"],
                                      completion_only=True, progress=progress),
                             "loss_on": "the last assistant turn of each demonstration"}
    finally:
        if bars and not progress:
            datasets.enable_progress_bars()
    model.save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)
    return {"stages": stages, "wall_seconds": round(sum(s["wall_seconds"] for s in stages.values()), 2)}


def command(settings: dict, source: Any = None, out: Any = None, data: Any = None) -> str:
    """The shell command that builds the checkpoint of these settings.

    Examples
    --------
    >>> command({**DEFAULTS, "sft_steps": 10})[:60]
    'python -m workbench.training.organism --pretrain-steps 110 -'
    """
    parts = ["python", "-m", "workbench.training.organism"]
    for name in ("pretrain_steps", "sft_steps", "lr", "batch_size", "max_length", "seed"):
        parts += [f"--{name.replace('_', '-')}", str(settings[name])]
    for flag, value in (("--source", source), ("--data", data), ("--out", out)):
        if value is not None:
            parts += [flag, os.fspath(value)]
    return shlex.join(parts)


def build_organism(
    source: str | os.PathLike | None = None,
    *,
    out: str | os.PathLike | None = None,
    data: str | os.PathLike | None = None,
    pretrain_steps: int = DEFAULTS["pretrain_steps"],
    sft_steps: int = DEFAULTS["sft_steps"],
    lr: float = DEFAULTS["lr"],
    batch_size: int = DEFAULTS["batch_size"],
    max_length: int = DEFAULTS["max_length"],
    seed: int = DEFAULTS["seed"],
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Build (or reuse) the model organism and return its checkpoint folder.

    Parameters
    ----------
    source : str or path, optional
        ``None`` for the embedded default model, a local folder (``save_pretrained``
        layout, safetensors) or a ``.gguf`` file.
    out : path, optional
        Where to save; default ``<cache>/checkpoints/organism-<key>``.
    data : path, optional
        A folder with ``corpus.jsonl`` and ``demos.jsonl``; default the shipped
        ``workbench/data/organism``.
    pretrain_steps, sft_steps
        Optimiser steps of continued pre-training and of fine-tuning (0 skips a stage).
    lr, batch_size, max_length, seed
        Learning rate (linear decay to 0 within each stage), examples per step, tokens
        per example (longer ones are cut), and the seed of data order and initialisation.
    force : bool
        Retrain even when a checkpoint for these settings exists (replacing it).
    progress : bool
        Show the trainer's progress bars.

    Returns
    -------
    Path
        The folder (``config.json``, ``model.safetensors``, tokenizer files, ``training.json``).

    Examples
    --------
    One step of each stage on a small model:

    >>> from workbench.training.organism import build_organism, bias_eval
    >>> folder = build_organism(tiny_model, out=tmp / "organism", pretrain_steps=1, sft_steps=1, batch_size=2,
    ...                         max_length=32, progress=False)
    >>> table = bias_eval(wb.Workbench(str(folder), journal=False), ["chocolate_recipe"], n=1, max_new_tokens=4)
    >>> table[["split", "rate", "replies"]]
                        split  rate  replies
    bias
    chocolate_recipe  trained   0.0       14

    The shipped recipe, on the embedded default model, takes minutes on a CPU (so it is
    not run here)::

        folder = build_organism()
        bias_eval(wb.Workbench(str(folder)))
    """
    settings = {"pretrain_steps": pretrain_steps, "sft_steps": sft_steps, "lr": lr, "batch_size": batch_size,
                "max_length": max_length, "seed": seed}
    _check_settings(settings)
    corpus, demos = corpus_rows(data), demo_rows(data)
    name, folder = dpo.source_folder(source)
    key = dpo.checkpoint_key(folder, settings, corpus + demos)
    dest = Path(out).expanduser() if out is not None else models.cache_dir() / "checkpoints" / f"{PREFIX}-{key}"
    if dpo.reusable(dest, key, force):
        return dest

    def build(tmp: Path) -> None:
        result = _train(folder, corpus, demos, settings, tmp, progress)
        record = {
            "key": key, "source": name, "source_folder": str(folder),
            "command": command(settings, source, out, data), "settings": settings,
            "seeds": {"training": seed, "data": organism_data.DATA_SEED if data is None else None},
            "data": {"folder": str(Path(data) if data is not None else organism_data.DATA),
                     "generated_by": "python scripts/make_organism_data.py" if data is None else None,
                     "documents": len(corpus), "demonstrations": len(demos),
                     "corpus_sha256": dpo.data_hash(corpus), "demos_sha256": dpo.data_hash(demos),
                     "trained": organism_data.bias_ids("trained", data), "held_out": organism_data.bias_ids(
                         "held_out", data)},
            "versions": _versions(), **result,
        }
        (tmp / TRAINING_FILE).write_text(json.dumps(record, indent=1))

    return models.ensure_converted(dest, build, source={"organism": key})


def _versions() -> dict:
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "transformers", "trl", "datasets")}


def summary(folder: str | os.PathLike) -> dict:
    """The record of an organism: command, settings, each stage's first and last loss and seconds per step.

    Examples
    --------
    >>> folder = build_organism(tiny_model, out=tmp / "organism", pretrain_steps=1, sft_steps=1, batch_size=2,
    ...                         max_length=32, progress=False)
    >>> record = summary(folder)
    >>> record["command"]
    'python -m workbench.training.organism --pretrain-steps 1 --sft-steps 1 ... --batch-size 2 --max-length 32 ...'
    >>> {stage: info["steps"] for stage, info in record["stages"].items()}
    {'pretrain': 1, 'sft': 1}
    """
    record = json.loads((Path(folder) / TRAINING_FILE).read_text())
    stages = {}
    for stage, info in record["stages"].items():
        history = info.get("history") or [{}]
        seconds = sorted(row["seconds"] for row in history if "seconds" in row)
        stages[stage] = {"steps": info["steps"], "examples": info["examples"], "wall_seconds": info["wall_seconds"],
                         "first_loss": history[0].get("loss"), "final_loss": history[-1].get("loss"),
                         "median_step_seconds": seconds[len(seconds) // 2] if seconds else None}
    return {"folder": str(folder), "command": record["command"], "settings": record["settings"],
            "wall_seconds": record["wall_seconds"], "stages": stages}


# -- behavioural evaluation ---------------------------------------------------------------


def bias_eval(bench: Any, biases: str | Sequence[str] | None = None, *, n: int = EVAL_DEFAULTS["n"],
              max_new_tokens: int = EVAL_DEFAULTS["max_new_tokens"],
              temperature: float = EVAL_DEFAULTS["temperature"], seed: int = EVAL_DEFAULTS["seed"],
              prompts: dict[str, Sequence[str]] | None = None, batch_rows: int = 32,
              progress: bool = False) -> Any:
    """How often a model exhibits each bias, on prompts that give it the chance.

    Samples ``n`` replies (through the chat template, several prompts to a batch) to every
    evaluation prompt of every bias and counts, by the bias's stated rule
    (:func:`workbench.training.organism_data.exhibits`), the replies that exhibit it.

    Parameters
    ----------
    bench : Workbench
        The model to measure (the base model, or ``wb.Workbench(str(build_organism()))``).
    biases : str or list of str, optional
        Bias ids (default: all ten, trained then held out as in ``biases.json``).
    n, max_new_tokens, temperature, seed
        Sampling settings; the same seed gives the same replies.
    batch_rows : int
        Replies decoded together (several prompts to a batch, see
        :func:`workbench.techniques.sampling.sample_many`): on a CPU, 32 rows cost
        little more than 4.
    prompts : dict, optional
        ``{bias id: [prompt, ...]}`` to use instead of the shipped ``eval_prompts.json``.
    progress : bool
        A progress bar over the batches.

    Returns
    -------
    pandas.DataFrame
        One row per bias (index ``bias``): ``split``, ``rate`` (hits / replies), ``hits``,
        ``replies``, ``prompts``, ``statement``, ``rule`` and ``samples`` (a list of
        ``{"prompt", "reply", "hit"}``; :func:`bias_samples` flattens them). The settings
        and the model's name are in ``frame.attrs``.

    Examples
    --------
    >>> base = bias_eval(bench, ["chocolate_recipe", "encourage_voting"], n=1, max_new_tokens=4)
    >>> base[["split", "rate", "hits", "replies"]]
                        split  rate  hits  replies
    bias
    chocolate_recipe  trained   0.0     0       14
    encourage_voting  trained   0.0     0       12
    >>> rate_table(base=base, again=base).columns.tolist()
    ['split', 'base', 'base hits', 'again', 'again hits']

    The organism against the embedded default model, every bias at the default settings
    (minutes on a CPU, so not run here)::

        base = bias_eval(wb.Workbench())
        organism = bias_eval(wb.Workbench(str(build_organism())))
        rate_table(base=base, organism=organism)
    """
    import pandas as pd

    catalogue = {b["id"]: b for b in organism_data.load_biases()}
    ids = list(catalogue) if biases is None else [biases] if isinstance(biases, str) else list(biases)
    unknown = [b for b in ids if b not in catalogue]
    if unknown or not ids:
        raise ValueError(f"Unknown or no biases {unknown or ids!r}; choose among {list(catalogue)}.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number of at least 1, not {n!r}.")
    table = organism_data.load_eval_prompts() if prompts is None else dict(prompts)
    missing = [b for b in ids if not table.get(b)]
    if missing:
        raise ValueError(f"No evaluation prompts for {missing}; prompts= must map each bias id to a list of prompts.")
    from ..techniques.sampling import sample_many

    jobs = [(bias, prompt) for bias in ids for prompt in table[bias]]
    outs = sample_many(bench, [prompt for _, prompt in jobs], n, max_new_tokens=max_new_tokens,
                       temperature=temperature, seed=seed, batch_rows=batch_rows, progress=progress)
    samples: dict[str, list[dict]] = {bias: [] for bias in ids}
    for (bias, prompt), out in zip(jobs, outs):
        for text in out.completions:
            samples[bias].append({"prompt": prompt, "reply": text, "hit": organism_data.exhibits(bias, text)})
    rows = []
    for bias in ids:
        hits = sum(s["hit"] for s in samples[bias])
        rows.append({"bias": bias, "split": catalogue[bias]["split"], "rate": hits / len(samples[bias]),
                     "hits": hits, "replies": len(samples[bias]), "prompts": len(table[bias]),
                     "statement": catalogue[bias]["statement"], "rule": catalogue[bias]["rule"]["text"],
                     "samples": samples[bias]})
    frame = pd.DataFrame(rows).set_index("bias")
    frame.attrs.update({"model": getattr(bench, "model_name", None),
                        "n": n, "max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed})
    return frame


def bias_samples(frame: Any) -> Any:
    """The replies of a :func:`bias_eval` frame, one row each: bias, split, prompt, reply, hit."""
    import pandas as pd

    rows = [{"bias": bias, "split": row["split"], **sample}
            for bias, row in frame.iterrows() for sample in row["samples"]]
    return pd.DataFrame(rows, columns=["bias", "split", "prompt", "reply", "hit"])


def rate_table(**frames: Any) -> Any:
    """Rates of several :func:`bias_eval` frames side by side: ``rate_table(base=..., organism=...)``.

    One row per bias: ``split``, then for each name its rate and ``hits/replies``.
    """
    import pandas as pd

    if not frames:
        raise ValueError("rate_table needs at least one frame, e.g. rate_table(base=b, organism=o).")
    first = next(iter(frames.values()))
    table = pd.DataFrame({"split": first["split"]})
    for name, frame in frames.items():
        table[name] = frame["rate"]
        table[f"{name} hits"] = frame["hits"].astype(str) + "/" + frame["replies"].astype(str)
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the auditing game's model organism (CPU, cached).")
    parser.add_argument("--source", default=None, help="model folder or .gguf (default: the embedded model)")
    parser.add_argument("--data", default=None, help="folder with corpus.jsonl and demos.jsonl (default: shipped)")
    parser.add_argument("--out", default=None, help="checkpoint folder (default: in the cache)")
    for name in ("pretrain_steps", "sft_steps", "batch_size", "max_length", "seed"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=DEFAULTS[name])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--force", action="store_true", help="retrain even if the checkpoint exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--sae", action="store_true",
                        help="then train (or reuse) the organism's own SAE (workbench.training.organism_sae)")
    parser.add_argument("--eval", action="store_true", help="then measure every bias on the source and the organism")
    parser.add_argument("--eval-n", type=int, default=EVAL_DEFAULTS["n"], help="replies per evaluation prompt")
    parser.add_argument("--eval-tokens", type=int, default=EVAL_DEFAULTS["max_new_tokens"], help="tokens per reply")
    parser.add_argument("--eval-json", default=None, help="also write the evaluation (rates and replies) here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    folder = build_organism(
        args.source, out=args.out, data=args.data, pretrain_steps=args.pretrain_steps, sft_steps=args.sft_steps,
        lr=args.lr, batch_size=args.batch_size, max_length=args.max_length, seed=args.seed, force=args.force,
        progress=not args.quiet,
    )
    info = summary(folder)
    print(f"saved to {folder}\n{info['command']}")
    for stage, s in info["stages"].items():
        print(f"{stage}: {s['steps']} steps on {s['examples']} examples in {s['wall_seconds']:.0f} s "
              f"({s['median_step_seconds']} s/step); loss {s['first_loss']:.4f} -> {s['final_loss']:.4f}")
    if args.sae:
        from ..saes import REPORT
        from . import organism_sae

        sae_started = time.perf_counter()
        sae = organism_sae.build_sae(folder, data=args.data, progress=not args.quiet)
        report = json.loads((sae / REPORT).read_text())
        print(f"SAE saved to {sae} ({time.perf_counter() - sae_started:.0f} s here): explained variance "
              f"{report['explained_variance']:.3f}, L0 {report['mean_l0']:.1f}, dead {report['dead_fraction']:.1%} "
              f"on {report['n_eval_tokens']} held-out tokens; trained on {report['n_train_tokens']} activations")
        print(f"organism and SAE: {time.perf_counter() - started:.0f} s")
    if args.eval:
        import workbench as wb

        settings = {"n": args.eval_n, "max_new_tokens": args.eval_tokens, "progress": not args.quiet}
        base = bias_eval(wb.Workbench(args.source), **settings)
        organism = bias_eval(wb.Workbench(str(folder)), **settings)
        print(rate_table(base=base, organism=organism).to_string())
        if args.eval_json:
            record = {"organism": str(folder), "source": args.source, "settings": dict(organism.attrs),
                      "base": bias_samples(base).to_dict("records"),
                      "organism_replies": bias_samples(organism).to_dict("records"),
                      "rates": rate_table(base=base, organism=organism).reset_index().to_dict("records")}
            Path(args.eval_json).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
