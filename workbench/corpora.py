"""Small corpora the project ships under ``workbench/data/`` (sources in SOURCES.md)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
SAE_CORPUS = DATA / "sae_corpus.jsonl.gz"


def read_jsonl(path: Path) -> list[dict]:
    """Records of a (possibly gzipped) JSON-lines file; a bad line is reported with its number."""
    opener = gzip.open if path.suffix == ".gz" else open
    records = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as error:
                raise ValueError(f"{path}:{number}: not valid JSON ({error})") from None
    return records


def render_records(records: list[dict], tokenizer: Any, chat_template: str | None = None) -> list[str]:
    """Texts of corpus records: plain ``text``, or ``messages`` rendered by the chat template.

    The shipped corpora assume no system role: where the template refuses or drops a
    system message, its text goes at the start of the first user turn.
    """
    from . import chat

    texts = []
    fold = False
    for record in records:
        if "messages" not in record:
            texts.append(record["text"])
            continue
        try:
            prompt = chat.render(tokenizer, record["messages"], persona=chat.NARRATOR, chat_template=chat_template,
                                 fold_system=fold)
        except chat.TemplateError:
            if fold or not any(m.get("role") == "system" for m in record["messages"]):
                raise
            fold = True  # this template has no system role: fold from here on
            prompt = chat.render(tokenizer, record["messages"], persona=chat.NARRATOR, chat_template=chat_template,
                                 fold_system=True)
        texts.append(prompt.text)
    return texts


def sae_corpus(session: Any, *, sources: tuple[str, ...] | None = None) -> list[str]:
    """The shipped SAE corpus as texts ready for ``bench.saes.train`` (chat rendered with the model's template)."""
    records = read_jsonl(SAE_CORPUS)
    if sources is not None:
        records = [r for r in records if r["source"] in sources]
    return render_records(records, session.tokenizer, session.chat_template)


DEMO_TRAINING_CORPUS = DATA / "demo_training_corpus.jsonl"


def demo_training_corpus() -> Any:
    """The shipped synthetic training corpus for the data-search demo, as a :class:`~workbench.datasets.Dataset`.

    300 short documents (recipes, travel, science, code, customer support); 24 of them,
    with ``record["topic"] == "reward-model-quirk"``, describe a fictional bias of
    reward models: rating recipes higher when they mention chocolate.

    Examples
    --------
    >>> data = demo_training_corpus()
    >>> len(data), data.kind
    (300, 'text')
    """
    from .datasets import read_dataset

    return read_dataset(DEMO_TRAINING_CORPUS)


PREFERENCE_PLANTED = DATA / "preference_planted.jsonl"


def preference_planted() -> Any:
    """The shipped preference dataset with a planted flattery signal, as a :class:`~workbench.datasets.Dataset`.

    200 pairs written from templates by ``scripts/build_preference_planted.py``; in the
    112 with ``record["planted"] is True`` the chosen answer opens with flattery ("What a
    great question! ..."), which the rejected answer never does.

    Examples
    --------
    >>> data = preference_planted()
    >>> len(data), data.kind, sum(r.record["planted"] for r in data)
    (200, 'preference', 112)
    """
    from .datasets import read_dataset

    return read_dataset(PREFERENCE_PLANTED)
