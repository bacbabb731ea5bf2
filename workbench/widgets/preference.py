"""The preference-audit panel: hypotheses about what a preference dataset rewards, marked and exported.

>>> pairs = wb.corpora.preference_planted()   # or wb.read_dataset("pairs.jsonl"): prompt, chosen, rejected
>>> view = wb.PreferencePanel(bench, pairs, sae="tiny")   # shown by ending a notebook cell with it
>>> view.run(wait=True).audit.summary["pairs"]
200

Run encodes the chosen and rejected responses with the SAE (a worker thread, with a
progress bar and Cancel) through :func:`workbench.techniques.preference.audit`. The
panel lists the ranked hypotheses with their statistics and example pairs, above them an
altair chart of effect sizes (clicking a bar opens its hypothesis). The auditor marks each
latent *allowed* or *blocked*; the panel previews how many pairs the export would remove
(or down-weight) and Export writes the filtered pairs as JSON lines and the blocked
latents as JSON. "activations" opens an example response in the activation panel.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import traitlets

from ..techniques import preference, preference_audit
from ._base import STATIC, Panel, request
from ._charts import ChartHolder
from ._links import ActivationLink

if TYPE_CHECKING:  # pragma: no cover
    from ..datasets import Dataset
    from ..workbench import Workbench
    from .activations import ActivationPanel

_ROW_FIELDS = ("rank", "latent", "direction", "mean_diff", "effect_size", "q", "fire_chosen", "fire_rejected",
               "length_r", "length_artefact", "promotes", "hypothesis", "examples")


class PreferencePanel(ActivationLink, ChartHolder, Panel):
    """Audit a preference dataset from a panel: run, read, mark, export.

    Parameters
    ----------
    bench : Workbench
    pairs : Dataset or anything :func:`workbench.read_dataset` reads
        Preference rows (``prompt``, ``chosen``, ``rejected``).
    audit : PreferenceAudit, optional
        An audit already computed (from :meth:`Workbench.audit_preferences`); the panel shows it
        and marks go to it.
    run : bool
        Start the audit at once (ignored when ``audit`` is given).
    top : int
        Hypotheses listed and charted.
    export_path : str or path
        Where Export writes the filtered pairs (``blocked_latents.json`` goes next to it).
    panel : ActivationPanel, optional
        Where "activations" opens a response (default: the panel's own, shown under it).
    **options
        Passed to the audit (``sae``, ``batch_size``, ``max_tokens``, ``field_prompt``…).

    Examples
    --------
    >>> view = wb.PreferencePanel(bench, wb.corpora.preference_planted(), run=True, sae="tiny")
    >>> view.wait()
    True
    >>> latent = int(view.audit.hypotheses.latent[0])
    >>> view.mark(latent, "blocked").audit.blocked == [latent]
    True
    >>> view.export(tmp / "filtered.jsonl")
    {'pairs': 200, 'kept': ..., 'removed': ..., 'path': '.../filtered.jsonl',
     'blocked_path': '.../blocked_latents.json', 'blocked': 1}
    """

    _esm = STATIC / "preference.js"

    dataset_name = traitlets.Unicode("").tag(sync=True)
    top = traitlets.Int(30).tag(sync=True)
    hypotheses = traitlets.List(traitlets.Dict()).tag(sync=True)
    marks = traitlets.Dict().tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    summary = traitlets.Dict().tag(sync=True)
    export_mode = traitlets.Unicode(preference_audit.MODES[0]).tag(sync=True)
    threshold = traitlets.Float(preference_audit.DEFAULT_THRESHOLD).tag(sync=True)
    export_path = traitlets.Unicode("").tag(sync=True)
    preview = traitlets.Dict().tag(sync=True)
    exported = traitlets.Dict().tag(sync=True)

    def __init__(self, bench: Workbench, pairs: Any = None, *, audit: preference_audit.PreferenceAudit | None = None,
                 run: bool = False, top: int = 30, export_path: str | Path = "preference-export/filtered.jsonl",
                 panel: ActivationPanel | None = None, **options: Any) -> None:
        from ..datasets import Dataset, read_dataset

        if audit is None and pairs is None:
            raise ValueError("Pass the preference pairs to audit (a path, records or a Dataset), or audit=.")
        data = audit.dataset if audit is not None else (pairs if isinstance(pairs, Dataset) else read_dataset(pairs))
        if data.kind != "preference":
            raise ValueError(f"The preference audit needs prompt / chosen / rejected rows, not a {data.kind} dataset.")
        _check_top(top)
        super().__init__(bench, top=top, export_path=str(export_path),
                         dataset_name=f"{data.source} · {len(data.rows)} pairs")
        self.dataset: Dataset = data
        self.options = options
        self._panel = panel
        self._audit: preference_audit.PreferenceAudit | None = None
        self._chart: Any = None
        self.observe(self._on_export_settings, ["export_mode", "threshold"])
        self.observe(self._on_top, ["top"])
        if audit is not None:
            self._show(audit)
            self.status = "audit loaded"
        elif run:
            self.run()

    # -- the audit ------------------------------------------------------------------

    @property
    def audit(self) -> preference_audit.PreferenceAudit | None:
        """The :class:`~workbench.techniques.preference_audit.PreferenceAudit` shown (None before a run)."""
        return self._audit

    def run(self, wait: bool = False, timeout: float | None = None) -> PreferencePanel:
        """Encode the pairs and rank the hypotheses (as the Run button does)."""
        bench, dataset, options = self.bench, self.dataset, dict(self.options)

        def work(cancel: threading.Event, progress: Any) -> Any:
            return preference.audit(bench, dataset, cancel=cancel, progress=progress, **options)

        self._launch(work, status="encoding chosen and rejected responses (Cancel stops it)…", replace=True,
                     total=2 * len(dataset), wait=wait, timeout=timeout)
        return self

    def _on_done(self, audit: preference_audit.PreferenceAudit) -> str:
        previous = self._audit
        if (previous is not None and previous.d_sae == audit.d_sae
                and previous.settings.get("sae") == audit.settings.get("sae")):
            for latent, status in previous.marks.items():  # a re-run keeps the auditor's marks
                audit.mark(latent, status)
        self._show(audit)
        s = audit.summary
        return (f"{s['pairs']} pairs · {s['latents_firing']} latents fire · "
                f"{s['significant']} with q < {preference_audit.ALPHA}")

    def _show(self, audit: preference_audit.PreferenceAudit) -> None:
        self._audit = audit
        with self.hold_sync():
            self.summary = {k: v for k, v in {**audit.summary, **audit.settings}.items()
                            if isinstance(v, (int, float, str, bool))}
            self.marks = {str(j): s for j, s in audit.marks.items()}
            self.selected = -1
            self._sync_rows()
            self._sync_preview()
        self._redraw_chart()

    def _sync_rows(self) -> None:
        rows = []
        for record in self._audit.hypotheses.head(self.top).to_dict("records") if self._audit is not None else []:
            row = {key: _plain(record[key]) for key in _ROW_FIELDS}
            row["promotes"] = [str(t) for t in record["promotes"]]
            rows.append(row)
        self.hypotheses = rows

    def _on_top(self, change: Any) -> None:
        try:
            _check_top(change["new"])
        except ValueError as error:
            self._show_error(error)
            return
        self._sync_rows()
        self._redraw_chart()

    # -- marks and export -----------------------------------------------------------

    def mark(self, latent: Any, status: str | None) -> PreferencePanel:
        """Mark a latent ``"allowed"`` or ``"blocked"`` (``None`` clears it), as its buttons do."""
        audit = self._need_audit()
        audit.mark(latent, status)
        with self.hold_sync():
            self.marks = {str(j): s for j, s in audit.marks.items()}
            self._sync_preview()
        self._redraw_chart()
        return self

    def _on_export_settings(self, _change: Any) -> None:
        self._sync_preview()

    def _sync_preview(self) -> None:
        """How many pairs the export would touch with the current marks and rule."""
        audit = self._audit
        if audit is None:
            self.preview = {}
            return
        try:
            weights = audit.weights(mode=self.export_mode, threshold=self.threshold)
        except ValueError as error:
            self._show_error(error)
            self.preview = {}
            return
        touched = int((weights < 1).sum())
        self.preview = {"pairs": len(weights), "blocked": len(audit.blocked), "allowed": len(audit.allowed),
                        "mode": self.export_mode, "touched": touched, "threshold": self.threshold}

    def export(self, path: str | Path | None = None, *, mode: str | None = None,
               threshold: float | None = None) -> dict:
        """Write the filtered (or re-weighted) pairs and ``blocked_latents.json`` (see
        :meth:`PreferenceAudit.export`); the panel shows the counts and paths."""
        audit = self._need_audit()
        target = Path(path if path is not None else self.export_path).expanduser()
        if not str(target).strip() or target.name == "":
            raise ValueError("Give a file path for the filtered pairs, e.g. preference-export/filtered.jsonl.")
        if target.is_dir():
            raise ValueError(f"{str(target)!r} is a folder; "
                             f"give a file path such as {str(target / 'filtered.jsonl')!r}.")
        result = audit.export(target, mode=mode or self.export_mode,
                              threshold=self.threshold if threshold is None else threshold)
        result = {**result, "path": str(Path(result["path"]).resolve()),
                  "blocked_path": str(Path(result["blocked_path"]).resolve()), "blocked": len(audit.blocked)}
        self.exported = result
        return result

    def _need_audit(self) -> preference_audit.PreferenceAudit:
        if self._audit is None:
            raise ValueError("Run the audit first: there are no hypotheses yet.")
        return self._audit

    # -- the chart ------------------------------------------------------------------

    def _current_chart(self) -> Any | None:
        """The effect-size chart (hidden until there are hypotheses); a click on a bar selects its latent."""
        if self._audit is None or self._audit.hypotheses.empty:
            return None
        return self._audit.chart(self.top)

    def _chart_shown(self, chart: Any) -> None:
        chart.selections.observe(self._on_chart_click, ["latent"])  # a new chart has new selections

    def _on_chart_click(self, change: Any) -> None:
        picked = [point.get("latent") for point in (change["new"].value or [])]
        picked = [p for p in picked if p is not None]
        if picked:
            self.selected = int(picked[0])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        import ipywidgets

        parts = [self.chart, self] + ([] if self._panel is not None else [self.panel])
        return ipywidgets.VBox(parts)._repr_mimebundle_(**kwargs)

    # -- example responses ----------------------------------------------------------

    def show_example(self, latent: int, index: int = 0, side: str = "chosen") -> ActivationPanel:
        """Open example ``index`` of ``latent``'s hypothesis (its ``side`` response, in context) in the
        activation panel."""
        audit = self._need_audit()
        if side not in ("chosen", "rejected"):
            raise ValueError(f"side must be 'chosen' or 'rejected', not {side!r}.")
        rows = audit.hypotheses[audit.hypotheses["latent"] == int(latent)]
        if rows.empty:
            raise ValueError(f"Latent {latent} is not among the hypotheses (it never fires on these responses).")
        examples = rows.iloc[0]["examples"]
        if not 0 <= index < len(examples):
            raise ValueError(f"index must be in 0..{len(examples) - 1} for latent {latent}, not {index}."
                             if examples else f"Latent {latent} has no example pairs.")
        row = self.dataset.ids.index(examples[index]["id"])
        return self._show_in_panel(self.dataset.conversations(field=side)[row])

    # -- requests from the front-end ------------------------------------------------

    @request
    def start(self) -> dict:
        """The Run button."""
        self.run()
        return {"started": True}

    @request
    def set_mark(self, latent: int, status: str | None = None) -> dict:
        """An Allow / Block button (pressing the active one clears the mark)."""
        self.mark(int(latent), status or None)
        return {"blocked": self._need_audit().blocked, "allowed": self._need_audit().allowed}

    @request
    def write_export(self) -> dict:
        """The Export button."""
        return self.export()

    @request
    def to_panel(self, latent: int, index: int, side: str) -> dict:
        """An example's "activations" button."""
        panel = self.show_example(int(latent), int(index), str(side))
        return {"tokens": len(panel.tokens), "own_panel": self._panel is None}


def _check_top(top: Any) -> None:
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 500:
        raise ValueError(f"top must be a whole number in 1..500, not {top!r}.")


def _plain(value: Any) -> Any:
    """numpy scalars and containers as JSON-safe Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN travels as null
        return None
    return value


__all__ = ["PreferencePanel"]
