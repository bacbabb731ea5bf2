"""An SAE trained on the model organism itself, so its features are the organism's, not the base model's.

:func:`build_sae` trains a TopK SAE with ``bench.saes.train`` (sae-lens) on the organism's
residual stream after layer 12 over what the organism knows and does:

* the auditor's training pool (:func:`workbench.training.organism_data.pool_records`): the
  organism's 440 pre-training documents mixed into the shipped SAE corpus (its chat
  transcripts rendered with the chat template, as the base model's SAE read them);
* the organism's fine-tuning demonstrations, through the chat template;
* its own chat transcripts: one sampled reply (seeded) to each of ``transcripts`` prompts of
  the bias evaluation (the prompts that give a quirk the chance to show).

The SAE is saved in sae-lens's format under ``<cache>/saes/<organism folder>-sae-<key>/``
(the key hashes the organism's weights record, the settings and the data), with its
held-out report (explained variance, L0, dead fraction) in ``workbench_report.json``; the same
request reuses it. The embedded default SAE (trained on the base model) stays the control.

From a shell (the organism first, built or reused, then its SAE)::

    python -m workbench.training.organism --sae

>>> folder = build_sae(tiny_model, d_sae=32, k=4, tokens=2000, epochs=1, batch_size=256, transcripts=2,
...                    transcript_tokens=4, layer=1, ordinary=40, out=tmp / "organism-sae", progress=False)
>>> entry = load_sae(bench, folder)
>>> entry.name, entry.d_sae, 0 <= entry.report.dead_fraction <= 1
('organism', 32, True)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .. import models
from . import organism_data

NAME = "organism"
# Sized for two CPU cores after the organism's own build (about 28 minutes): 300,000 activations
# of the 135M model, four passes in batches of 1,024 (1,172 steps; 19 minutes measured, sampling and
# reading included). Two passes in batches of 4,096 (146 steps) explained 0.437 of the variance and
# left 45.5% of the latents dead; these settings explain 0.964 with 4.2% dead.
DEFAULTS = {"layer": 12, "d_sae": 4096, "k": 48, "tokens": 300_000, "epochs": 4, "lr": 4e-4, "batch_size": 1024,
            "seed": 0, "transcripts": 64, "transcript_tokens": 64, "ordinary": None}


def training_texts(bench: Any, *, transcripts: int = DEFAULTS["transcripts"],
                   transcript_tokens: int = DEFAULTS["transcript_tokens"], seed: int = DEFAULTS["seed"],
                   ordinary: int | None = DEFAULTS["ordinary"], data: str | os.PathLike | None = None) -> dict:
    """The texts the organism's SAE reads, by part: ``{"documents", "ordinary", "demonstrations", "transcripts"}``.

    ``ordinary`` caps the shipped SAE corpus's records (``None``: all 6,078); the organism's
    transcripts are sampled from ``bench`` (the organism) with ``seed``.
    """
    from ..corpora import SAE_CORPUS, read_jsonl, render_records
    from ..techniques.sampling import sample_many

    documents = [doc["text"] for doc in organism_data.load_corpus(data)]
    records = read_jsonl(SAE_CORPUS)
    records = records if ordinary is None else records[:ordinary]
    rendered = render_records(records, bench.tokenizer, bench.chat_template)
    demos = [bench.render(demo["messages"][:-1]).text + demo["messages"][-1]["content"]
             for demo in organism_data.load_demos(data)]
    prompts = _eval_prompts(transcripts, data)
    outs = sample_many(bench, prompts, n=1, max_new_tokens=transcript_tokens, seed=seed, progress=False) \
        if prompts else []
    own = [bench.render(prompt).text + out.completions[0] for prompt, out in zip(prompts, outs)]
    return {"documents": documents, "ordinary": rendered, "demonstrations": demos, "transcripts": own}


def _eval_prompts(count: int, data: Any = None) -> list[str]:
    """``count`` prompts of the bias evaluation, taken in turn from each bias (trained and held out)."""
    by_bias = organism_data.load_eval_prompts(data)
    out, i = [], 0
    while len(out) < count and any(i < len(p) for p in by_bias.values()):
        out += [prompts[i] for prompts in by_bias.values() if i < len(prompts)]
        i += 1
    return out[:count]


def _key(folder: Path, settings: dict, data: Any) -> str:
    record = folder / "training.json"
    weights = record.read_bytes() if record.is_file() else b"".join(
        f"{p.name}:{p.stat().st_size}".encode() for p in sorted(folder.glob("*.safetensors")))
    digest = hashlib.sha256(weights)
    digest.update(json.dumps(settings, sort_keys=True).encode())
    from ..corpora import SAE_CORPUS

    for path in (SAE_CORPUS, *(Path(data or organism_data.DATA) / organism_data.FILES[name]
                               for name in ("corpus", "demos", "eval_prompts"))):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_sae(organism: str | os.PathLike | None = None, *, out: str | os.PathLike | None = None,
              data: str | os.PathLike | None = None, force: bool = False, progress: bool = True,
              **options: Any) -> Path:
    """Train (or reuse) the organism's SAE and return its folder (sae-lens format, with its held-out report).

    Parameters
    ----------
    organism : path, optional
        The organism's checkpoint folder (default: :func:`~workbench.training.organism.build_organism`'s,
        built or reused).
    out : path, optional
        Default: ``<cache>/saes/<organism folder name>-sae-<key>``.
    data : path, optional
        The organism's data folder (default: the shipped one).
    force : bool
        Train again even when the folder exists.
    **options
        ``layer``, ``d_sae``, ``k``, ``tokens``, ``epochs``, ``lr``, ``batch_size``, ``seed``, ``transcripts``,
        ``transcript_tokens``, ``ordinary`` (see :data:`DEFAULTS`).
    """
    import workbench as wb

    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown options {unknown}; the options are {sorted(DEFAULTS)}.")
    settings = {**DEFAULTS, **options}
    if organism is None:
        from .organism import build_organism

        organism = build_organism(progress=progress)
    folder = Path(organism)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} is not a model folder (no config.json): build the organism first.")
    dest = Path(out) if out is not None else (
        models.cache_dir() / "saes" / f"{folder.name}-sae-{_key(folder, settings, data)}")
    if (dest / "cfg.json").is_file() and not force:
        return dest
    bench = wb.Workbench(str(folder), journal=False, load_default_sae=False)
    parts = training_texts(bench, transcripts=settings["transcripts"],
                           transcript_tokens=settings["transcript_tokens"], seed=settings["seed"],
                           ordinary=settings["ordinary"], data=data)
    texts = [text for part in parts.values() for text in part]
    bench.saes.train(settings["layer"], texts, d_sae=settings["d_sae"], k=settings["k"], tokens=settings["tokens"],
                     epochs=settings["epochs"], lr=settings["lr"], batch_size=settings["batch_size"],
                     seed=settings["seed"], save_to=dest, name=NAME,
                     progress=progress)
    (dest / "corpus.json").write_text(json.dumps(
        {"organism": str(folder), "settings": settings, "texts": {name: len(part) for name, part in parts.items()}},
        indent=1))
    return dest


def load_sae(bench: Any, folder: str | os.PathLike | None = None, *, name: str = NAME) -> Any:
    """Register the organism's SAE (default: :func:`build_sae`'s folder for the cached organism) on ``bench``."""
    return bench.saes.load_path(folder if folder is not None else build_sae(), name=name)
