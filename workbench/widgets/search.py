"""The data-search panel: a search box over a dataset, four modes, results with highlights.

>>> _ = (tmp / "train.jsonl").write_text('{"text": "Chocolate cake."}\\n{"text": "A walk in Lisbon."}\\n'
...                                        '{"text": "Dark chocolate and chocolate milk."}\\n')
>>> data = wb.read_dataset(tmp / "train.jsonl")
>>> view = wb.SearchPanel(bench, data, "chocolate")   # searches at once; shown by ending a cell with it
>>> view.result
SearchResult(keyword, 'chocolate': 2 results; documents=3, documents_matched=2, matches=3)
>>> view.results[0]["text"], view.results[0]["spans"]   # the spans the panel highlights
('Dark chocolate and chocolate milk.', [[5, 14], [19, 28]])

Modes are those of :func:`workbench.techniques.data_search.search`: ``keyword`` and
``regex`` (one query per line), ``semantic`` (a text; the model's own hidden states,
index cached on disk) and ``feature`` (an SAE latent id: the documents that fire it
most; or several ids, "3450, 24": the documents where they fire together). The search
runs in a worker thread, so Cancel stops a long index build between batches.
"activations" opens a document in the activation panel.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

import traitlets

from ..techniques import data_search
from ._base import STATIC, Panel, request, utf16_index
from ._links import ActivationLink

if TYPE_CHECKING:  # pragma: no cover
    from ..workbench import Workbench
    from .activations import ActivationPanel

MODES = ("keyword", "regex", "semantic", "feature")


class SearchPanel(ActivationLink, Panel):
    """Search one dataset from a box, with a mode switch.

    Parameters
    ----------
    bench : Workbench
    dataset : Dataset or anything :func:`workbench.read_dataset` reads
    query : str or int, optional
        Searched at once when given.
    mode : {"keyword", "regex", "semantic", "feature"}
    k : int
        Results kept.
    panel : ActivationPanel, optional
        Where "activations" opens a document (default: the panel's own, shown under it).
    **options
        Passed to the search (``field``, ``layer``, ``sae``, ``max_tokens``…).
    """

    _esm = STATIC / "search.js"

    query = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Unicode("keyword").tag(sync=True)
    k = traitlets.Int(20).tag(sync=True)
    dataset_name = traitlets.Unicode("").tag(sync=True)
    results = traitlets.List(traitlets.Dict()).tag(sync=True)
    summary = traitlets.Dict().tag(sync=True)

    def __init__(self, bench: Workbench, dataset: Any, query: Any = None, *, mode: str = "keyword", k: int = 20,
                 panel: ActivationPanel | None = None, **options: Any) -> None:
        from ..datasets import Dataset, read_dataset

        data = dataset if isinstance(dataset, Dataset) else read_dataset(dataset)
        super().__init__(bench, mode=mode, k=k, query="" if query is None else str(query),
                         dataset_name=f"{data.source} · {len(data.rows)} {data.kind} rows")
        self.dataset = data
        self.options = options
        self._panel = panel
        self._result: data_search.SearchResult | None = None
        if query is not None:
            self.search(wait=True)

    @property
    def result(self) -> data_search.SearchResult | None:
        """The last :class:`~workbench.techniques.data_search.SearchResult`."""
        return self._result

    def _query(self) -> Any:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}.")
        text = self.query.strip()
        if not text:
            raise ValueError("Type something to search for.")
        if self.mode == "feature":  # one latent id, or several (commas or spaces): documents where they fire together
            parts = [part for part in re.split(r"[\s,]+", text) if part]
            try:
                latents = [int(part) for part in parts]
            except ValueError:
                raise ValueError(f"feature mode searches by an SAE latent id (a whole number) or several ids "
                                 f"separated by commas, not {text!r}.") from None
            return latents[0] if len(latents) == 1 else latents
        if self.mode in ("keyword", "regex"):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            return lines if len(lines) > 1 else lines[0]
        return text

    def search(self, wait: bool = False, timeout: float | None = None) -> SearchPanel:
        """Search with the box's query and mode (as the Search button does)."""
        with self._shown():
            query = self._query()
        bench, dataset, mode, k, options = self.bench, self.dataset, self.mode, self.k, dict(self.options)

        def work(cancel: threading.Event, _progress: Any) -> Any:
            return data_search.search(bench, dataset, query, mode=mode, k=k, cancel=cancel, progress=False,
                                      **options)

        status = "searching…" if mode in ("keyword", "regex") else "encoding documents (Cancel stops it)…"
        self._launch(work, status=status, replace=True, wait=wait, timeout=timeout)
        return self

    def _on_done(self, result: data_search.SearchResult) -> str:
        self._result = result
        rows = []
        for row in result.frame.itertuples(index=False):
            text = row.text
            rows.append({
                "rank": int(row.rank), "id": str(row.id), "row": int(row.row), "score": round(float(row.score), 4),
                "count": int(row.count), "text": text,
                "spans": [[utf16_index(text, a), utf16_index(text, b)] for a, b in row.spans],
                "tokens": [[str(t), round(float(v), 3)] for t, v in row.tokens],
            })
        with self.hold_sync():
            self.results = rows
            self.summary = {k: v for k, v in result.summary.items() if isinstance(v, (int, float, str, bool))}
        return f"{len(rows)} results · " + ", ".join(f"{k} {v}" for k, v in self.summary.items())

    def show_result(self, rank: int) -> ActivationPanel:
        """Show result ``rank`` (1 = best) in the activation panel."""
        if self._result is None or not 1 <= rank <= len(self._result):
            n = 0 if self._result is None else len(self._result)
            raise ValueError(f"rank must be in 1..{n}, not {rank}." if n else "Search first: there are no results.")
        return self._show_in_panel(self._result.frame.iloc[rank - 1]["text"])

    # -- requests from the front-end -------------------------------------------------

    @request
    def run(self) -> dict:
        """The Search button."""
        self.search()
        return {"started": True}

    @request
    def to_panel(self, rank: int) -> dict:
        """Open a result in the activation panel."""
        panel = self.show_result(int(rank))
        return {"tokens": len(panel.tokens), "own_panel": self._panel is None}


__all__ = ["MODES", "SearchPanel"]
