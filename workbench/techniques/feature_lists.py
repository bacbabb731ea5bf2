"""Named lists of latents with notes, kept in the investigation journal.

An auditor collects the features worth a second look ("sycophancy candidates", "fires on
the hidden objective") as she goes: :func:`feature_list` saves a list under a name, each
latent with its explanation, detection score, density and an optional note, as a journal
entry (so it is in the journal file, its replay and the exported HTML page), and
:func:`feature_lists` reads the lists back from a journal, the latest of each name.

>>> found = bench.feature_list("worth a look", [3, 7], notes={3: "fires on fox"})
>>> found.name, found.latents, found.to_pandas().columns.tolist()
('worth a look', [3, 7], ['latent', 'explanation', 'score', 'density', 'note'])
>>> feature_lists(bench.journal)["worth a look"].items[0]["note"]
'fires on fox'
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import saes
from ..recording import recorded
from .explain import explainer_id, explanations_for

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..journal import Journal
    from ..session import Session

COLUMNS = ["latent", "explanation", "score", "density", "note"]
MAX_NOTE = 500      # characters a note keeps
MAX_LATENTS = 500   # latents one list holds (its journal summary stays under the journal's budget)
SUMMARY_TEXT = 160  # characters of each explanation in the journal summary (the whole result keeps them all)


@dataclass
class FeatureList:
    """A named list of latents of one SAE, each ``{"latent", "explanation", "score", "density", "note"}``.

    Explanations may be model-written: render them as text (``_repr_html_`` escapes every cell).
    """

    name: str
    sae: str
    notes: str = ""
    items: list[dict] = field(default_factory=list)

    @property
    def latents(self) -> list[int]:
        return [int(item["latent"]) for item in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{c: item.get(c) for c in COLUMNS} for item in self.items], columns=COLUMNS)

    def _journal_summary(self) -> dict:
        items = [{**{c: item.get(c) for c in COLUMNS}, "explanation": str(item.get("explanation"))[:SUMMARY_TEXT]}
                 for item in self.items]
        return {"name": self.name, "sae": self.sae, "notes": self.notes, "latents": len(self), "items": items}

    def _repr_html_(self) -> str:
        notes = f"<p>{html.escape(self.notes)}</p>" if self.notes else ""
        return (f"<p><b>{html.escape(self.name)}</b> ({len(self)} latents of {html.escape(self.sae)})</p>{notes}"
                + self.to_pandas().to_html(index=False, escape=True))

    def __repr__(self) -> str:
        return f"FeatureList({self.name!r}, sae={self.sae!r}: {self.latents[:10]}{'…' if len(self) > 10 else ''})"


def _note_for(notes: Any, latent: int) -> str:
    if isinstance(notes, Mapping):
        value = notes.get(latent, notes.get(str(latent), ""))
        return str(value)[:MAX_NOTE]
    return ""


@recorded("feature_list")
def feature_list(session: Session, name: str, latents: Sequence[int], sae: str | None = None, *,
                 notes: str | Mapping[int, str] = "", explainer: Any = "rules",
                 corpus: Sequence[str] | None = None) -> FeatureList:
    """Save a named list of latents, each with its explanation and score, to the journal.

    Parameters
    ----------
    name : str
        What the list is called (saving a name again replaces it in :func:`feature_lists`).
    latents : sequence of int
    notes : str or mapping of latent to str
        A note on the whole list, or one per latent.
    explainer : as in :func:`workbench.techniques.explain.explain`

    Examples
    --------
    >>> bench.feature_list("refusals", [5], notes="seen on the prefill samples").notes
    'seen on the prefill samples'
    """
    from .features import feature_stats

    if not isinstance(name, str) or not name.strip():
        raise ValueError("A feature list needs a name, e.g. bench.feature_list('sycophancy', [12, 40]).")
    if isinstance(latents, (int, str)) or not isinstance(latents, Sequence):
        raise TypeError(f"latents must be a list of latent indices, not {latents!r}.")
    if len(latents) > MAX_LATENTS:
        raise ValueError(f"A feature list holds at most {MAX_LATENTS} latents, not {len(latents)}.")
    if not isinstance(notes, (str, Mapping)):
        raise TypeError(f"notes must be a string or a mapping of latent to note, not {type(notes).__name__}.")
    explainer_id(explainer)
    stats = feature_stats(session, sae, corpus, progress=False)
    checked = list(dict.fromkeys(saes.check_latent(latent, stats.d_sae) for latent in latents))
    found = {e.latent: e for e in explanations_for(session, stats, checked, explainer)} if checked else {}
    items = [{"latent": latent, "explanation": found[latent].text, "score": found[latent].score,
              "density": round(float(stats.density[latent]), 6), "note": _note_for(notes, latent)}
             for latent in checked]
    return FeatureList(name.strip(), stats.entry.name, notes[:MAX_NOTE] if isinstance(notes, str) else "", items)


def feature_lists(journal: Journal) -> dict[str, FeatureList]:
    """The feature lists saved in a journal (a loaded file's too), the latest of each name, in saving order.

    Read from each entry's kept result, else its summary (which holds every latent, each explanation cut to
    :data:`SUMMARY_TEXT` characters); the file is untrusted, so only well-formed items are kept, as plain values.
    """
    out: dict[str, FeatureList] = {}
    for entry in journal.entries:
        if entry.technique != "feature_list" or entry.error:
            continue
        record = entry.result if isinstance(entry.result, dict) and "items" in entry.result else entry.summary
        if not isinstance(record, dict) or not isinstance(record.get("name"), str):
            continue
        items = []
        for item in record.get("items") or []:
            if isinstance(item, dict) and isinstance(item.get("latent"), int):
                items.append({"latent": item["latent"], "explanation": str(item.get("explanation") or ""),
                              "score": item.get("score") if isinstance(item.get("score"), (int, float)) else None,
                              "density": item.get("density") if isinstance(item.get("density"), (int, float))
                              else None, "note": str(item.get("note") or "")[:MAX_NOTE]})
        out.pop(record["name"], None)  # a name saved again moves to the end
        out[record["name"]] = FeatureList(record["name"], str(record.get("sae") or ""),
                                          str(record.get("notes") or "")[:MAX_NOTE], items)
    return out
