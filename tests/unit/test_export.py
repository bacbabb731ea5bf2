"""Sharing an audit: the standalone HTML page and the notebook converter (no browser here)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

import workbench as wb
from workbench import export

XSS = "<img src=x onerror=alert(1)>"


class Page(HTMLParser):
    """The tags of a page and its visible text (script and style contents apart)."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in: str | None = None
        self._attrs: dict = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in, self._attrs = tag, dict(attrs)

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append((self._attrs, data))
        elif self._in is None:
            self.text.append(data)

    def named(self, tag: str) -> list[dict]:
        return [attrs for t, attrs in self.tags if t == tag]


@pytest.fixture
def journal():
    journal = wb.Journal(None)
    journal._write({"type": "entry", "id": "e1", "time": "2026-01-01T10:00:00.000+00:00", "technique": "sample",
                    "function": "workbench.techniques.sampling:sample", "inputs": {"conversation": f"say {XSS}"},
                    "summary": {"n": 1, "texts": [f"sure: {XSS}"]}, "seed": 3, "duration_s": 0.5})
    journal.mark_finding("e1", f"the model wrote {XSS}")
    journal.note("free note </script><script>alert(2)</script>", tags=["<b>tag</b>"])
    journal.tag("e1", "prefill")
    return journal


def test_journal_page_shows_model_text_as_text_never_markup(journal, tmp_path):
    path = export.export_html(tmp_path / "audit.html", journal=journal, widgets=[])
    page = Page(path.read_text(encoding="utf-8"))
    assert page.named("img") == [] and page.named("b") == []
    assert page.scripts == [], "the journal alone needs no script at all"
    text = "".join(page.text)
    assert f"the model wrote {XSS}" in text          # the finding, as text
    assert "free note </script><script>alert(2)</script>" in text
    assert f"sure: {XSS}" in text                    # the sample, in the summary line
    assert "<b>tag</b>" in text and "prefill" in text
    # findings come first, then the notes, then the entries
    assert text.index("Findings (1)") < text.index("Notes") < text.index("Journal (1 entries)")


def test_page_with_panels_carries_their_state_and_loads_nothing(journal, tiny_bench, tmp_path):
    panel = wb.ActivationPanel(tiny_bench, f"The fox {XSS}")
    try:
        path = export.export_html(tmp_path / "audit.html", journal=journal, widgets=[panel])
        raw = path.read_text(encoding="utf-8")
        panel_id = panel.model_id
    finally:
        panel.close()
    page = Page(raw)
    assert page.named("img") == [] and page.named("link") == []
    assert all("src" not in attrs for attrs in page.named("script")), "every script is inline"
    assert not re.search(r"""(src|href)=["']?https?:""", raw)
    states = [json.loads(body) for attrs, body in page.scripts if attrs.get("type") == export.STATE_MIME]
    views = [json.loads(body) for attrs, body in page.scripts if attrs.get("type") == export.VIEW_MIME]
    assert len(states) == 1 and [v["model_id"] for v in views] == [panel_id]
    saved = states[0]["state"][panel_id]
    assert saved["model_module"] == "anywidget" and saved["state"]["text"] == f"The fox {XSS}"
    assert "_esm" in saved["state"], "the panel's front-end travels in its state"
    renderer = [body for attrs, body in page.scripts if not attrs]
    assert len(renderer) == 1 and "</script" not in renderer[0].lower()


def test_bench_export_takes_its_own_panels_once(tiny_bench, tmp_path):
    alone = wb.ActivationPanel(tiny_bench, "standalone text")
    assert alone in export.panel_widgets(journal=tiny_bench.journal)
    assert alone not in export.panel_widgets(journal=wb.Journal(None))
    box = wb.AttackBox(tiny_bench, "What is your goal?", n=2)  # shows its own activation panel under it
    try:
        assert {alone, box} <= set(export.panel_widgets(tiny_bench))
        path = tiny_bench.export_html(tmp_path / "bench.html")
        page = Page(path.read_text(encoding="utf-8"))
        alone_id, box_id, own_id = alone.model_id, box.model_id, box.panel.model_id
    finally:
        for widget in (box.panel, box, alone):
            widget.close()
    state = next(json.loads(b) for a, b in page.scripts if a.get("type") == export.STATE_MIME)["state"]
    views = [json.loads(b)["model_id"] for a, b in page.scripts if a.get("type") == export.VIEW_MIME]
    assert alone_id in views and box_id in state and own_id in state
    assert box_id not in views, "the box is shown as it displays itself: in a box with its panel"
    assert own_id not in views, "a panel shown inside the attack box's display appears once"


def test_notebook_command_refuses_a_missing_notebook(tmp_path):
    done = subprocess.run([sys.executable, "-m", "workbench.export", str(tmp_path / "none.ipynb")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "No notebook at" in done.stderr


def test_notebook_html_points_the_widget_renderer_at_the_inlined_bundle(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {XSS}")]
    nb.metadata["widgets"] = {export.STATE_MIME: {"version_major": 2, "version_minor": 0, "state": {}}}
    source = tmp_path / "n.ipynb"
    nbformat.write(nb, str(source))
    out = export.export_notebook(source)
    raw = out.read_text(encoding="utf-8")
    assert out == tmp_path / "n.html"
    assert "data:text/javascript;base64," in raw
    assert not re.search(r"""(unpkg\.com|cdn\.jsdelivr|cdnjs)[^"']*(html-manager|require\.js|mathjax)""", raw)


def test_export_says_what_it_cannot_show(journal, tiny_bench, tmp_path):
    with pytest.raises(TypeError, match="widgets= takes ipywidgets"):
        export.export_html(tmp_path / "x.html", journal=journal, widgets=["not a widget"])
    panel = wb.ActivationPanel(tiny_bench, "closed")
    panel.close()
    with pytest.raises(ValueError, match="was closed"):
        export.export_html(tmp_path / "x.html", journal=journal, widgets=[panel])
