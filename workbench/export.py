"""Share an audit: one standalone HTML page, or a notebook converted to HTML, that render offline.

:func:`export_html` (``bench.export_html``, or ``wb.export_html(path, journal=...)``) writes one file
with the findings first, the notes, the journal's entries and the panels of the
session as they were last left, rendered live from their saved widget state. Every
script and style is inlined: the page fetches nothing, so it opens from disk with the
network off. Journal text (samples are model output, so untrusted) is escaped, never
injected as markup.

:func:`export_notebook` (``python -m workbench.export notebook.ipynb``) converts a
notebook whose widget state was saved (executed with nbclient, or saved from
JupyterLab with *Save Widget State Automatically* on) into HTML whose widgets render
offline: nbconvert's widget renderer is pointed at the workbench's own bundle,
inlined, instead of a CDN.

>>> bench = wb.Workbench(tiny_model, journal=tmp / "audit.jsonl")
>>> out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False)
>>> finding = bench.journal.mark_finding(-1, "answers a greeting")
>>> bench.export_html(tmp / "audit.html").name
'audit.html'
>>> page = wb.export_html(tmp / "journal.html", journal=wb.Journal.load(tmp / "audit.jsonl"))
>>> "answers a greeting" in page.read_text()
True
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .journal import Entry, Journal, Note

__all__ = ["embed_script", "export_html", "export_notebook", "main", "panel_widgets"]

#: The offline widget renderer (built from ``widgets_js/embed/embed.ts``).
EMBED_JS = Path(__file__).resolve().parent / "static" / "embed" / "embed.js"
STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def embed_script() -> str:
    """The offline widget renderer's source (HTML manager + anywidget front-end, one script)."""
    if not EMBED_JS.is_file():
        raise FileNotFoundError(f"{EMBED_JS} is missing; build it with `cd widgets_js && npm ci && npm run build`.")
    return EMBED_JS.read_text(encoding="utf-8")


def _inline_script(source: str) -> str:
    """``source`` made safe inside an inline ``<script>`` (only string contents change)."""
    source = re.sub(r"</(script)", r"<\\/\1", source, flags=re.IGNORECASE)
    return source.replace("<!--", "<\\!--")


def _json_for_script(value: Any) -> str:
    """JSON that cannot end or confuse the ``<script>`` element holding it."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


# -- the panels ------------------------------------------------------------------------


def panel_widgets(bench: Any = None, journal: Any = None) -> list[Any]:
    """The workbench panels alive in this Python process, oldest first: of ``bench`` only, or of the
    sessions recording in ``journal`` only, when given."""
    from ipywidgets.widgets.widget import _instances

    from .widgets._base import WorkbenchWidget

    def mine(widget: Any) -> bool:
        owner = getattr(widget, "bench", None)
        if bench is not None and owner is not bench:
            return False
        return journal is None or getattr(owner, "journal", None) is journal

    return [w for w in list(_instances.values()) if isinstance(w, WorkbenchWidget) and mine(w)]


def _displayed(widget: Any) -> tuple[Any, bool]:
    """The widget a panel shows itself as (a box with its chart or linked panel), and whether it is new."""
    from ipywidgets.widgets.widget import _instances

    before = set(_instances)
    try:
        bundle = widget._repr_mimebundle_()
        model_id = (bundle or {}).get(VIEW_MIME, {}).get("model_id")
    except Exception:
        model_id = None
    shown = _instances.get(model_id) if model_id else None
    if shown is None:
        return widget, False
    return shown, model_id not in before


def _widget_payload(widgets: Sequence[Any]) -> tuple[dict, list[tuple[str, dict]]]:
    """(manager state, [(title, view spec)]) of the panels and every widget they contain."""
    from ipywidgets import Widget
    from ipywidgets.embed import dependency_state

    for widget in widgets:
        if isinstance(widget, Widget) and getattr(widget, "comm", None) is None:
            raise ValueError(f"The {type(widget).__name__} passed in widgets= was closed, so it has no state to "
                             "export; pass a live widget, or leave widgets= out to take every live panel.")
    shown, transient = [], []
    for widget in dict.fromkeys(widgets):
        view, new = _displayed(widget)  # a widget, or what shows one (bench.show()'s view)
        if not isinstance(view, Widget):
            raise TypeError(f"widgets= takes ipywidgets (panels, charts) or objects that display one, not "
                            f"{type(widget).__name__}: {widget!r:.80}")
        shown.append((widget, view))
        if new:
            transient.append(view)
    inside = {view.model_id: set(dependency_state([view])) for _, view in shown}
    # a panel shown inside another one (an activation panel under an attack box) appears once
    keep = [(w, v) for w, v in shown
            if not any(o is not w and (v.model_id in inside[ov.model_id] or getattr(w, "model_id", None)
                                       in inside[ov.model_id]) for o, ov in shown)]
    state = dependency_state([v for _, v in keep], drop_defaults=False)
    manager = {"version_major": 2, "version_minor": 0, "state": state}
    specs = [(type(w).__name__, {"version_major": 2, "version_minor": 0, "model_id": v.model_id}) for w, v in keep]
    for box in transient:  # the boxes made only to be exported
        box.close()
    return manager, specs


# -- the journal -----------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #1b1b1b; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
.wb-meta { color: #555; font-size: 0.9em; }
.wb-finding { background: #fff7e0; border-left: 4px solid #e0a000; padding: 6px 10px; margin: 6px 0; }
.wb-finding .wb-text, .wb-note .wb-text { white-space: pre-wrap; margin: 0 0 4px; }
.wb-note { border-left: 4px solid #8aa8d8; padding: 6px 10px; margin: 6px 0; background: #f3f6fb; }
table.wb-entries { border-collapse: collapse; width: 100%; font-size: 0.88em; }
table.wb-entries th,
table.wb-entries td { border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left; }
table.wb-entries td.wb-summary { white-space: pre-wrap; word-break: break-word; }
tr.wb-has-finding { background: #fffaf0; }
.wb-tag { display: inline-block; background: #e7eef9; border-radius: 3px; padding: 0 4px; margin: 1px; }
details pre {
  white-space: pre-wrap; word-break: break-word; background: #f7f7f7; padding: 6px; max-height: 24em; overflow: auto;
}
.wb-panel { border: 1px solid #ddd; border-radius: 4px; padding: 8px; margin: 12px 0; }
.wb-panel > figcaption { font-weight: 600; margin-bottom: 6px; }
"""


def _tags(tags: Iterable[str]) -> str:
    return " ".join(f'<span class="wb-tag">{_e(t)}</span>' for t in tags)


def _where(note: Note, index: dict[str, int], entries: dict[str, Entry]) -> str:
    entry = entries.get(note.entry or "")
    if entry is None:
        return f"about the investigation, {_e(note.time[:19].replace('T', ' '))}"
    return (f'on <a href="#entry-{_e(entry.id)}">[{index[entry.id]}] {_e(entry.technique)}</a> '
            f"({_e(entry.line())}), {_e(note.time[:19].replace('T', ' '))}")


def _notes_html(notes: Sequence[Note], css: str, index: dict, entries: dict) -> str:
    return "\n".join(
        f'<div class="{css}"><p class="wb-text">{_e(n.text)}</p>'
        f'<p class="wb-meta">{_where(n, index, entries)}{_by(n)} {_tags(n.tags)}</p></div>' for n in notes)


def _by(note: Note) -> str:
    return f", by {_e(note.actor)}" if note.actor else ""


def _pretty(value: Any) -> str:
    return _e(json.dumps(value, indent=1, ensure_ascii=False, default=str))


def _entry_row(i: int, entry: Entry) -> str:
    notes = "".join(f'<p class="wb-text">{_e(n.text)}</p>' for n in entry.notes)
    findings = "".join(f'<p class="wb-text">★ {_e(f.text)}</p>' for f in entry.findings)
    payload = {"inputs": entry.inputs, "summary": entry.summary, "error": entry.error, "model": entry.model,
               "sae": entry.sae}
    details = f"<details><summary>inputs and result</summary><pre>{_pretty(payload)}</pre></details>"
    css = ' class="wb-has-finding"' if entry.findings else ""
    return (f'<tr id="entry-{_e(entry.id)}"{css}><td>{i}</td><td>{_e(entry.time[:19].replace("T", " "))}</td>'
            f"<td>{_e(entry.actor or 'person')}</td>"
            f"<td>{_e(entry.technique)}</td><td>{entry.duration_s:.2f} s</td><td>{_e(entry.seed)}</td>"
            f'<td class="wb-summary">{_e(entry.line())}{details}</td><td>{_tags(entry.tags)}</td>'
            f"<td>{findings}{notes}</td></tr>")


_EXPLAINING = ("explain", "explain_all", "import_explanations")


def _explanations(journal: Journal) -> list[dict]:
    """The explanations the journal's explain / explain_all / import_explanations entries returned, the latest
    of each (SAE, latent, explainer); from the whole result when it was kept, else the summary's first ones."""
    found: dict[tuple, dict] = {}
    for entry in journal.entries:
        if entry.technique not in _EXPLAINING or entry.error:
            continue
        result = entry.result if isinstance(entry.result, dict) else {}
        items = result.get("items") if "items" in result else [result] if "text" in result else None
        if items is None:
            items = (entry.summary or {}).get("top") or ([entry.summary] if "text" in (entry.summary or {}) else [])
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                sae = item.get("sae") or result.get("sae") or (entry.summary or {}).get("sae") or ""
                found[(str(sae), str(item.get("latent")), str(item.get("explainer")))] = {**item, "sae": sae}
    return list(found.values())


def _explanations_html(journal: Journal) -> str:
    rows = "".join(
        f"<tr><td>{_e(x['sae'])}</td><td>{_e(x.get('latent'))}</td><td class=\"wb-text\">{_e(x['text'])}</td>"
        f"<td>{_e(x.get('explainer'))}</td><td>{_e(x.get('score'))}</td><td>{_e(x.get('scorer'))}</td></tr>"
        for x in _explanations(journal))
    if not rows:
        return ""
    return ('<section id="explanations"><h2>Explanations of features</h2><table class="wb-entries"><thead><tr>'
            "<th>SAE</th><th>latent</th><th>explanation</th><th>explainer</th><th>detection score</th>"
            f"<th>scorer</th></tr></thead><tbody>{rows}</tbody></table></section>")


def _feature_lists_html(journal: Journal) -> str:
    from .techniques.feature_lists import feature_lists

    found = feature_lists(journal)
    if not found:
        return ""
    parts = ['<section id="feature-lists"><h2>Feature lists</h2>']
    for name, saved in found.items():
        rows = "".join(
            f"<tr><td>{_e(item['latent'])}</td><td class=\"wb-text\">{_e(item['explanation'])}</td>"
            f"<td>{_e(item['score'])}</td><td>{_e(item['density'])}</td><td class=\"wb-text\">{_e(item['note'])}</td>"
            "</tr>" for item in saved.items)
        notes = f'<p class="wb-text">{_e(saved.notes)}</p>' if saved.notes else ""
        parts.append(f'<h3 class="wb-feature-list">{_e(name)} <span class="wb-meta">({len(saved)} latents of '
                     f"{_e(saved.sae)})</span></h3>{notes}"
                     '<table class="wb-entries"><thead><tr><th>latent</th><th>explanation</th><th>detection score</th>'
                     f"<th>density</th><th>note</th></tr></thead><tbody>{rows}</tbody></table>")
    parts.append("</section>")
    return "".join(parts)


def journal_html(journal: Journal) -> str:
    """The journal as escaped HTML: findings, notes about the investigation, the explanations of features and
    the feature lists it holds, then every entry."""
    entries = {e.id: e for e in journal.entries}
    index = {e.id: i for i, e in enumerate(journal.entries)}
    findings = journal.findings
    free = [n for n in journal.free_notes if n.kind == "note"]
    rows = "\n".join(_entry_row(i, e) for i, e in enumerate(journal.entries))
    parts = [f'<section id="findings"><h2>Findings ({len(findings)})</h2>',
             _notes_html(findings, "wb-finding", index, entries) or '<p class="wb-meta">No findings marked.</p>',
             "</section>"]
    if free:
        parts += ['<section id="notes"><h2>Notes</h2>', _notes_html(free, "wb-note", index, entries), "</section>"]
    table = ('<table class="wb-entries"><thead><tr><th>#</th><th>time</th><th>who</th><th>technique</th><th>took</th>'
             "<th>seed</th><th>summary</th><th>tags</th><th>findings and notes</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>") if rows else '<p class="wb-meta">No technique calls recorded.</p>'
    explained = _explanations_html(journal)
    if explained:
        parts.append(explained)
    listed = _feature_lists_html(journal)
    if listed:
        parts.append(listed)
    parts += [f'<section id="journal"><h2>Journal ({len(journal.entries)} entries)</h2>', table, "</section>"]
    return "\n".join(parts)


# -- the page --------------------------------------------------------------------------


def export_html(path: str | os.PathLike, journal: Journal | None = None, widgets: Sequence[Any] | None = None,
                bench: Any = None, title: str | None = None) -> Path:
    """Write one standalone HTML page: findings, notes, the journal, and the panels as last left.

    Parameters
    ----------
    path : str or path
        The ``.html`` file to write (its folder is created).
    journal : Journal, optional
        Default: ``bench.journal``.
    widgets : sequence of widgets, optional
        The panels to show; default every workbench panel alive of ``bench`` (or, without
        one, of the sessions recording into ``journal``). ``[]`` exports the journal alone.
    bench : Workbench, optional
        The session: its journal, its panels and its model name in the title.
    title : str, optional

    Returns
    -------
    Path
        The file written. It loads nothing from the network (scripts, styles and the
        panels' state are inside it).

    Examples
    --------
    >>> page = wb.export.export_html(tmp / "audit.html", bench=bench, widgets=[])   # the journal alone
    >>> page.read_text().startswith("<!doctype html>")
    True
    """
    from .journal import Journal

    if journal is None:
        journal = getattr(bench, "journal", None) or Journal(None)
    if widgets is None:
        widgets = panel_widgets(bench) if bench is not None else panel_widgets(journal=journal)
    widgets = list(widgets)
    model = getattr(bench, "model_name", None) or next(
        (e.model.get("name") for e in journal.entries if isinstance(e.model, dict) and e.model.get("name")), None)
    title = title or "Workbench audit" + (f": {model}" if model else "")
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    source = f" from {_e(journal.path)}" if journal.path else ""
    header = (f'<header><h1>{_e(title)}</h1><p class="wb-meta">Exported {_e(now)}{source}; '
              f"{len(journal.entries)} journal entries, {len(journal.findings)} findings, {len(widgets)} panels.</p>"
              "</header>")
    body = [header, journal_html(journal)]
    if widgets:
        manager, specs = _widget_payload(widgets)
        figures = "\n".join(
            f'<figure class="wb-panel" data-panel="{_e(t)}"><figcaption>{_e(t)}</figcaption>'
            f'<script type="{VIEW_MIME}">{_json_for_script(spec)}</script></figure>' for t, spec in specs)
        body += ['<section id="panels"><h2>Panels, as last left</h2>', figures, "</section>",
                 f'<script type="{STATE_MIME}">{_json_for_script(manager)}</script>',
                 f"<script>{_inline_script(embed_script())}</script>"]
    page = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


# -- notebooks -------------------------------------------------------------------------


def export_notebook(notebook: str | os.PathLike, output: str | os.PathLike | None = None) -> Path:
    """Convert a notebook to HTML whose saved widgets render offline; returns the ``.html`` path.

    nbconvert's lab template with its CDN URLs replaced: the widget renderer
    (``HTMLExporter.widget_renderer_url``) is the workbench's bundle inlined as a
    ``data:`` URL, and require.js and MathJax are left out. The widgets shown are
    the state saved in the notebook's metadata (``application/vnd.jupyter.widget-state+json``).

    Examples
    --------
    >>> import nbformat
    >>> nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), tmp / "nb.ipynb")
    >>> export_notebook(tmp / "nb.ipynb").name
    'nb.html'
    """
    import nbformat
    from nbconvert import HTMLExporter

    source = Path(notebook).expanduser()
    if not source.is_file():
        raise FileNotFoundError(f"No notebook at {str(source)!r}; pass the path of an .ipynb file.")
    nb = nbformat.read(str(source), as_version=4)
    if STATE_MIME not in nb.metadata.get("widgets", {}):
        print(f"{source}: no widget state is saved in this notebook, so its widgets will not show; run it with "
              "nbclient (it stores the state) or turn on Settings > Save Widget State Automatically in "
              "JupyterLab and save it again.", file=sys.stderr)
    exporter = HTMLExporter(template_name="lab")
    exporter.widget_renderer_url = "data:text/javascript;base64," + base64.b64encode(
        embed_script().encode("utf-8")).decode("ascii")
    exporter.require_js_url = ""
    exporter.mathjax_url = ""
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": source.stem}})
    out = Path(output).expanduser() if output is not None else source.with_suffix(".html")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m workbench.export notebook.ipynb [-o out.html]``."""
    parser = argparse.ArgumentParser(
        prog="python -m workbench.export",
        description="Convert a notebook with saved widget state to HTML whose widgets render offline.")
    parser.add_argument("notebook", help="the .ipynb file (its widget state saved)")
    parser.add_argument("-o", "--output", help="the .html file (default: beside the notebook)")
    args = parser.parse_args(argv)
    try:
        out = export_notebook(args.notebook, args.output)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
