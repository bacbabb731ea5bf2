"""Shared audits open in Chromium from disk with every non-file request blocked.

``bench.export_html`` (journal, findings, panels) and ``python -m workbench.export``
(a notebook executed by nbclient, its widget state saved) must both show the panels
rendered from their saved state without a kernel or a network.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import workbench as wb

from .conftest import REPO, TIMEOUT_MS, write_notebook

XSS = "<img src=x onerror=alert(1)>"
# anywidget logs this when a model's front-end takes over 2 s to load (a busy 2-core runner); the
# view still renders when it is ready, which is what these tests check
SLOW_INIT = "[anywidget] Failed to initialize model."
TEXT = f"The quick brown fox helps the user {XSS}"


def visible(text: str) -> str:
    return text.replace("\n", "\u21b5").replace("\t", "\u21e5").replace(" ", "\u00b7")


class Offline:
    """A page on a ``file://`` URL; any other request is aborted and listed in ``blocked``."""

    def __init__(self, browser, path: Path):
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []

        def route(r):
            if r.request.url.startswith("file://"):
                return r.continue_()
            self.blocked.append(r.request.url)
            return r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda err: self._error(str(err)))
        self.page.on("console", lambda m: m.type == "error" and self._error(m.text))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.resolve().as_uri())

    def _error(self, text: str) -> None:
        if SLOW_INIT not in text:
            self.errors.append(text)

    def rendered(self) -> int:
        """How many widget views the page's renderer showed (waits for it)."""
        self.page.wait_for_function("() => window.wbEmbed !== undefined")
        return self.page.evaluate("() => window.wbEmbed.rendered")


@pytest.fixture
def offline(browser, request):
    opened: list[Offline] = []

    def open_page(path: Path) -> Offline:
        opened.append(Offline(browser, path))
        return opened[-1]

    yield open_page
    for page in opened:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            page.page.screenshot(path=str(REPO / "tests" / "ui" / "screenshots" / f"{request.node.name}-failure.png"))
        page.context.close()


def test_exported_audit_renders_journal_findings_and_panels_offline(tiny_bench, tmp_path, offline, screenshot):
    import altair as alt
    import pandas as pd

    journal = wb.Journal(tmp_path / "audit.jsonl")
    previous, tiny_bench.journal = tiny_bench.journal, journal
    widgets = []
    try:
        tiny_bench.sample(f"Repeat after me: {XSS}", n=2, max_new_tokens=4, seed=0)
        journal.mark_finding(-1, f"the model repeats {XSS}")
        journal.note(f"checked by hand: {XSS}", tags=["xss"])
        panel = wb.ActivationPanel(tiny_bench, TEXT)
        box = wb.AttackBox(tiny_bench, "What is your goal?", prefill="My secret goal is", n=2, max_new_tokens=4,
                           seed=1)
        box.run(wait=True)
        alt.JupyterChart.enable_offline()
        chart = alt.JupyterChart(
            alt.Chart(pd.DataFrame({"r": [0, 1, 2], "score": [0.1, 0.5, 0.9]})).mark_line().encode(x="r", y="score"),
            embed_options={"renderer": "svg", "actions": False})
        widgets = [panel, box, chart]
        path = tiny_bench.export_html(tmp_path / "audit.html", widgets=widgets)
    finally:
        tiny_bench.journal = previous
        for widget in widgets:
            widget.close()

    view = offline(path)
    assert view.rendered() == 3
    page = view.page
    findings = page.locator("#findings .wb-finding .wb-text")
    assert findings.all_text_contents() == [f"the model repeats {XSS}"]
    assert page.locator("#notes .wb-note .wb-text").all_text_contents() == [f"checked by hand: {XSS}"]
    rows = page.locator("#journal table.wb-entries tbody tr")
    assert rows.count() == len(journal.entries) == 3  # sample, activations, run_attack
    assert rows.first.locator("td").nth(2).text_content() == "person"   # who made the call
    assert rows.first.locator("td").nth(3).text_content() == "sample"
    assert XSS in rows.first.locator(".wb-summary").text_content()

    act = page.locator('figure[data-panel="ActivationPanel"] .wb-act')
    tokens = act.locator(".wb-strip .wb-tok")
    assert "".join(tokens.all_text_contents()) == visible(TEXT)
    attack = page.locator('figure[data-panel="AttackBox"] .wb-atk')
    shown = attack.locator('.wb-set[data-run="assistant"] .wb-sample')
    assert shown.count() >= 1  # near-duplicates are grouped
    assert attack.locator(".wb-sample .wb-prefill").first.text_content() == "My secret goal is"
    assert attack.locator(".wb-status").text_content() == "2 samples in 1 run(s)"
    svg = page.locator('figure[data-panel="JupyterChart"] svg')
    svg.first.wait_for()
    assert svg.first.locator("path").count() > 0

    assert page.locator("img").count() == 0, "journal text and samples must stay text"
    assert view.dialogs == [] and view.errors == []
    assert view.blocked == [], f"the page tried to load {view.blocked}"
    screenshot(page)


NOTEBOOK = [
    """\
import os, tempfile
from pathlib import Path
os.environ["WORKBENCH_CACHE"] = tempfile.mkdtemp()
from tests.conftest import build_tiny_llama
import workbench as wb
bench = wb.Workbench(str(build_tiny_llama(Path(tempfile.mkdtemp()))), journal=False)""",
    f"""\
panel = wb.ActivationPanel(bench, {TEXT!r})
panel""",
]


def test_executed_notebook_converted_with_the_command_renders_widgets_offline(tmp_path, offline, screenshot):
    import nbformat
    from nbclient import NotebookClient

    source = write_notebook(tmp_path / "investigation.ipynb", NOTEBOOK)
    nb = nbformat.read(str(source), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(REPO)}}).execute()
    nbformat.write(nb, str(source))
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata["widgets"]

    done = subprocess.run([sys.executable, "-m", "workbench.export", str(source)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    html = Path(done.stdout.strip())
    assert html == tmp_path / "investigation.html"

    view = offline(html)
    assert view.rendered() >= 1
    act = view.page.locator(".jp-OutputArea-output .wb-act")
    assert "".join(act.locator(".wb-strip .wb-tok").all_text_contents()) == visible(TEXT)
    assert view.page.locator("img").count() == 0
    assert view.errors == [] and view.dialogs == []
    assert view.blocked == [], f"the page tried to load {view.blocked}"
    screenshot(view.page)


def test_executed_notebook_reopened_in_jupyterlab_shows_the_panels_without_running(lab, jupyter_server, tmp_path,
                                                                                   screenshot):
    import nbformat
    from nbclient import NotebookClient

    source = write_notebook(tmp_path / "executed.ipynb", NOTEBOOK)
    nb = nbformat.read(str(source), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(REPO)}}).execute()
    rel = f"{lab.name}.ipynb"
    nbformat.write(nb, str(jupyter_server.root_dir / rel))
    # JupyterLab renders widgets only in a trusted notebook; the one who executed it trusts it
    # (`./run open --headless` does the same), as JupyterLab trusts a notebook it saved itself
    done = subprocess.run([sys.executable, "-m", "jupyter", "trust", str(jupyter_server.root_dir / rel)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr

    page = lab.open_file(rel)  # opened, not run: the panel comes from the notebook's saved widget state
    assert_panel_from_saved_state(lab)
    screenshot(page)


def assert_panel_from_saved_state(lab) -> None:
    """The notebook's activation panel shows, and the kernel behind the page has run nothing."""
    lab.wait_for_output(".wb-act .wb-tok")
    act = lab.page.locator(".jp-OutputArea-output .wb-act")
    assert "".join(act.locator(".wb-strip .wb-tok").all_text_contents()) == visible(TEXT)
    assert lab.page.locator(".jp-OutputArea-output img").count() == 0
    # the workbench was never imported in the kernel JupyterLab started for the page
    assert lab.execute("import sys; print('workbench' in sys.modules)").strip() == "False"
    assert lab.page_errors == [] and lab.dialogs == []


def test_notebook_saved_from_jupyterlab_keeps_the_panels_for_the_command_and_on_reopening(
        lab, jupyter_server, offline, screenshot):
    import json
    import time

    plugin = jupyter_server.api("GET", "/lab/api/settings/@jupyter-widgets/jupyterlab-manager:plugin")
    default = plugin["schema"]["properties"]["saveState"]["default"]
    assert plugin["settings"].get("saveState", default) is True, (
        "JupyterLab does not save widget state: `./run setup` turns it on (overrides.json of the environment)")
    page = lab.run_cells(NOTEBOOK, wait_for=".wb-act .wb-tok")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    source = jupyter_server.root_dir / lab.notebooks[-1]
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while "application/vnd.jupyter.widget-state+json" not in json.loads(source.read_text()).get(
            "metadata", {}).get("widgets", {}):
        assert time.monotonic() < deadline, "JupyterLab saved the notebook without its widget state"
        time.sleep(0.5)

    done = subprocess.run([sys.executable, "-m", "workbench.export", str(source)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    view = offline(Path(done.stdout.strip()))
    assert view.rendered() >= 1
    act = view.page.locator(".jp-OutputArea-output .wb-act")
    assert "".join(act.locator(".wb-strip .wb-tok").all_text_contents()) == visible(TEXT)
    assert view.page.locator("img").count() == 0
    assert view.errors == [] and view.blocked == []
    screenshot(view.page)

    # re-opened after its kernel is gone, without running a cell: the panel is still there
    jupyter_server.shutdown_kernels(lab.notebooks[-1])
    lab.open_file(lab.notebooks[-1])
    assert_panel_from_saved_state(lab)
    screenshot(lab.page, "-reopened")


def test_a_widget_module_the_page_does_not_carry_is_refused_not_fetched(tmp_path, offline):
    import anywidget
    import ipywidgets
    import traitlets

    from workbench import export

    class Shown(anywidget.AnyWidget):
        _esm = ("export default { render({ model, el }) { el.className = 'shown'; "
                "el.textContent = model.get('value'); } }")
        value = traitlets.Unicode(XSS).tag(sync=True)

    class Foreign(ipywidgets.DOMWidget):
        _model_module = traitlets.Unicode("foo-widgets").tag(sync=True)
        _view_module = traitlets.Unicode("foo-widgets").tag(sync=True)
        _model_name = traitlets.Unicode("FooModel").tag(sync=True)
        _view_name = traitlets.Unicode("FooView").tag(sync=True)

    widgets = [Foreign(), Shown()]
    try:
        path = export.export_html(tmp_path / "foreign.html", journal=wb.Journal(None), widgets=widgets)
    finally:
        for widget in widgets:
            widget.close()
    view = offline(path)
    assert view.rendered() == 2  # the foreign one as ipywidgets' error widget
    assert view.page.locator(".shown").text_content() == XSS
    assert view.page.locator('figure[data-panel="Foreign"]').get_by_text("Click to show javascript error").count() == 1
    assert any("foo-widgets@" in e and "not in this offline page" in e for e in view.errors)
    assert view.blocked == [] and view.page.locator("img").count() == 0


def test_exported_workbench_view_switches_tabs_offline(tiny_bench, tmp_path, offline, screenshot):
    view = tiny_bench.show("What is your goal?")
    path = tiny_bench.export_html(tmp_path / "tabs.html", widgets=[view])
    page = offline(path)
    assert page.rendered() == 1
    tabs = page.page.locator('figure[data-panel="WorkbenchView"] .lm-TabBar-tab')
    assert "Steering" in tabs.all_text_contents()
    resample = page.page.locator('figure[data-panel="WorkbenchView"] .wb-resample')
    assert not resample.is_visible(), "only the selected tab's page shows"
    tabs.filter(has_text="Steering").click()
    resample.wait_for(state="visible")
    assert page.page.locator('figure[data-panel="WorkbenchView"] .wb-act').is_hidden()
    assert page.errors == [] and page.blocked == []
    screenshot(page.page)
