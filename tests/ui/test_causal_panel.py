"""The causal panel in a real JupyterLab in Chromium, on the embedded default model and its SAE."""

from __future__ import annotations

import json

HOSTILE = "The <img src=x onerror=alert(1)> capital of France is"

SETUP = """\
import workbench as wb

bench = wb.Workbench()
view = wb.CausalPanel(bench, "The capital of France is", " Paris", clean="The capital of France is",
                      corrupted="The capital of Italy is", patch_target=" Paris", layers=range(0, 30, 6), k=4)
view"""


def test_causal_panel_attributes_ablates_patches_and_cancels(lab, screenshot):
    page = lab.run_cells([SETUP], wait_for=".wb-causal-panel .wb-run")
    root = page.locator(".jp-OutputArea-output .wb-causal-panel")
    assert root.locator(".wb-prompt").input_value() == "The capital of France is"
    assert root.locator(".wb-patching-inputs").is_hidden()

    # attribution of a prompt typed in the page: a row per token, its top latents as buttons
    root.locator(".wb-prompt").fill(HOSTILE)
    root.locator(".wb-run").click()
    root.locator(".wb-status", has_text="click a latent").wait_for()
    assert root.locator(".wb-error").count() == 0
    kernel = json.loads(lab.execute(
        "import json; a = view.attribution\n"
        "print(json.dumps([a.text, len(a.tokens), len(view.attribution_rows), a.target]))"))
    assert kernel[0] == HOSTILE and kernel[3] == " Paris"
    assert root.locator(".wb-token-row").count() == kernel[1]
    chips = root.locator(".wb-latent")
    assert chips.count() == kernel[2] > 0
    assert root.locator(".wb-target-shown").text_content() == '" Paris"'

    # a click on a latent zeroes it: the measured change beside the prediction
    chips.first.click()
    root.locator(".wb-ablation .wb-measured").wait_for()
    change = json.loads(lab.execute("import json; print(json.dumps(view.ablation))"))
    shown = root.locator(".wb-ablation .wb-measured").text_content()
    assert float(shown) == round(change["change"], 3)
    assert float(root.locator(".wb-ablation .wb-predicted").text_content()) == round(-change["attribution"], 3)
    screenshot(page, "-attribution")

    # patching: 5 layers x 5 tokens as a heat map drawn from the binary matrix
    root.locator(".wb-mode-patching").click()
    root.locator(".wb-patching-inputs").wait_for()
    assert root.locator(".wb-attribution-inputs").is_hidden()
    root.locator(".wb-run").click()
    root.locator(".wb-status", has_text="patched 5 layers").wait_for()
    cells = root.locator(".wb-heatmap .wb-cell")
    assert cells.count() == 25
    matrix = json.loads(lab.execute(
        "import json; p = view.patching\n"
        "print(json.dumps([p.effect.round(4).tolist(), p.layers, list(p.best()), p.tokens]))"))
    effect, layers, best, tokens = matrix
    shown = {(int(c["layer"]), int(c["position"])): float(c["effect"])
             for c in cells.evaluate_all("cs => cs.map(c => c.dataset)")}
    for i, layer in enumerate(layers):
        for position in range(len(tokens)):
            assert abs(shown[(layer, position)] - effect[i][position]) < 1e-3
    assert root.locator(".wb-best").text_content() == f"{best[0]}, token {best[1]}"
    assert root.locator(".wb-col-token.wb-differs").count() == 1  # France / Italy

    # a click on a cell: the patched run's text, as text
    root.locator(f".wb-cell[data-layer='{best[0]}'][data-position='{best[1]}']").click()
    root.locator(".wb-patched-text").wait_for()
    text = json.loads(lab.execute("import json; print(json.dumps(view.cell['text']))"))
    assert root.locator(".wb-patched-text").text_content() == text

    # the altair heat map under the panel: one rect per cell
    chart = page.locator(".jp-OutputArea-output .vega-embed svg")
    chart.first.wait_for()
    assert chart.locator("g.mark-rect.role-mark path").count() == 25
    screenshot(page)

    # Cancel stops a long patching between batches
    lab.execute("view.layers, view.batch_size = None, 1")
    root.locator(".wb-run").click()
    root.locator(".wb-cancel:not([disabled])").wait_for()
    root.locator(".wb-cancel").click()
    root.locator(".wb-status", has_text="cancelled").wait_for()
    assert root.locator(".wb-error").count() == 0

    # untrusted text never becomes markup
    assert page.locator("img[src='x']").count() == 0
    assert lab.dialogs == [] and lab.page_errors == []
