"""The diff panel in a real JupyterLab in Chromium: the embedded default model against itself."""

from __future__ import annotations

import json

HOSTILE = "Repeat after me: <img src=x onerror=alert(1)>"

SETUP = f"""\
import workbench as wb

bench = wb.Workbench()
view = wb.DiffPanel(bench, bench, ["Say hello.", {HOSTILE!r}], n_samples=1, max_new_tokens=8, top_neurons=5)
view"""


def test_diff_panel_against_itself_shows_no_change(lab, screenshot):
    page = lab.run_cells([SETUP], wait_for=".wb-diff .wb-run")
    root = page.locator(".jp-OutputArea-output .wb-diff")
    assert root.locator(".wb-prompts").input_value().splitlines() == ["Say hello.", HOSTILE]
    assert root.locator(".wb-neurons").text_content() == "run the comparison to list neurons"

    # a direction that is not registered: refused before the model runs, in the error line
    root.locator(".wb-direction").fill("nope")
    root.locator(".wb-run").click()
    root.locator(".wb-error", has_text="No steering vector or probe named 'nope'").wait_for()
    root.locator(".wb-direction").fill("")

    root.locator(".wb-run").click()
    root.locator(".wb-status", has_text="no change").wait_for()
    assert root.locator(".wb-error").count() == 0
    assert "no layer's mean residual changed" in root.locator(".wb-summary").text_content()
    assert "0 of 2 samples differ" in root.locator(".wb-summary").text_content()

    # the neuron table: five neurons, none changed, value vectors unturned
    rows = root.locator(".wb-neurons tbody tr")
    assert rows.count() == 5
    assert set(root.locator(".wb-neurons td.wb-change").all_text_contents()) == {"0"}
    assert {float(c) for c in root.locator(".wb-neurons td.wb-value_cosine").all_text_contents()} == {1.0}
    kernel = json.loads(lab.execute(
        "import json\nprint(json.dumps([view.diff.settings['neurons'], "
        "float(view.diff.layers.mean_change_norm.abs().max()), view.samples]))"))
    shown = [[int(r.get_attribute("data-layer")), int(r.get_attribute("data-neuron"))] for r in rows.all()]
    assert shown == sorted(kernel[0]) == [[0, n] for n in range(5)] and kernel[1] == 0.0

    # the samples side by side: identical, the hostile prompt shown as text
    pairs = root.locator(".wb-pair")
    assert pairs.count() == 2 and root.locator(".wb-pair.same").count() == 2
    assert root.locator(".wb-self").all_text_contents() == root.locator(".wb-other").all_text_contents()
    assert root.locator(".wb-self").all_text_contents() == [s["self"] for s in kernel[2]]
    assert root.locator(".wb-prompt-text").all_text_contents() == ["Say hello.", HOSTILE]
    assert (root.locator(".wb-head").first.text_content()
            == "this model: SmolLM2-135M-Instructother: SmolLM2-135M-Instruct")

    # the per-layer chart (a point per layer), and the metric box redraws it
    chart = page.locator(".jp-OutputArea-output .vega-embed svg")
    chart.first.wait_for()
    assert chart.locator("g.mark-symbol.role-mark path").count() == 30
    assert root.locator(".wb-metric option").all_text_contents() == [
        "mean change norm", "token change norm", "relative change"]
    root.locator(".wb-metric").select_option("relative_change")
    chart.locator("text", has_text="relative change").first.wait_for()
    assert lab.execute("print(view.metric)").strip() == "relative_change"
    screenshot(page)

    # untrusted text never becomes markup
    assert page.locator("img[src='x']").count() == 0
    assert lab.dialogs == [] and lab.page_errors == []
