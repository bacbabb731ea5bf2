"""The probe panel in a real JupyterLab in Chromium, on the embedded default model."""

from __future__ import annotations

import json

RUDE = [
    "You are a worthless idiot.",
    "Shut up, you pathetic fool.",
    "Nobody cares what a moron like you thinks.",
    "You are too stupid to understand anything.",
    "What a useless, brainless clown you are.",
    "Get lost, you miserable loser.",
    "Your ideas are as dumb as you are.",
    "You disgusting little worm.",
]
POLITE = [
    "Thank you so much for your help.",
    "It was lovely to meet you today.",
    "I really appreciate your kind words.",
    "Have a wonderful weekend with your family.",
    "Your presentation was clear and helpful.",
    "Please let me know if I can help.",
    "What a thoughtful gift, thank you.",
    "I hope you feel better soon.",
]

SETUP = f"""\
import workbench as wb

bench = wb.Workbench()
view = wb.ProbePanel(bench, {RUDE!r}, batch_size=4)
view"""


def test_probe_panel_trains_charts_registers_and_scores(lab, screenshot):
    page = lab.run_cells([SETUP], wait_for=".wb-probe-panel .wb-train")
    root = page.locator(".jp-OutputArea-output .wb-probe-panel")
    assert root.locator(".wb-positive").input_value().splitlines() == RUDE
    assert root.locator(".wb-count-positive").text_content() == "8 examples"
    assert "train a probe" in root.locator(".wb-result").text_content()

    # too few negatives: refused before the model runs, in the panel's error line
    root.locator(".wb-negative").fill("\n".join(POLITE[:2]))
    root.locator(".wb-train").click()
    root.locator(".wb-error", has_text="negative box has 2 example").wait_for()

    # the negatives typed in the page are what trains
    root.locator(".wb-negative").fill("\n".join(POLITE))
    assert root.locator(".wb-count-negative").text_content() == "8 examples"
    root.locator(".wb-train").click()
    root.locator(".wb-status", has_text="separates the sets").wait_for()
    assert root.locator(".wb-error").count() == 0
    kernel = json.loads(lab.execute(
        "import json; p = view.probe\n"
        "print(json.dumps([p.n, p.layer, round(p.accuracy, 2), round(p.auroc, 2), len(p.per_layer), view.progress]))"))
    assert kernel[0] == 16 and kernel[4] == 30 and kernel[5] == {"step": 16, "total": 16}
    assert root.locator(".wb-best-layer").text_content() == str(kernel[1])
    assert root.locator(".wb-accuracy").text_content() == f"{kernel[2]:.2f}"
    assert root.locator(".wb-auroc").text_content() == f"{kernel[3]:.2f}"
    assert kernel[3] >= 0.75  # insults vs polite sentences: linearly present in a chat model

    # the per-layer chart: accuracy, AUROC and train accuracy lines, a point per layer
    chart = page.locator(".jp-OutputArea-output .vega-embed svg")
    chart.first.wait_for()
    assert chart.locator("g.mark-line.role-mark path").count() == 3
    assert chart.locator("g.mark-symbol.role-mark path").count() == 3 * 30

    # register as vector: the direction lands in bench.vectors at the probe's layer
    root.locator(".wb-vector-name").fill("rude")
    root.locator(".wb-register").click()
    root.locator(".wb-registered", has_text='registered "rude" in bench.vectors').wait_for()
    out = lab.execute("v = bench.vectors['rude']\nprint(v.layer == view.probe.layer, v.source)")
    assert out.split() == ["True", "probe:probe0"]

    # score a text: one tinted token per model token, the text shown as text
    hostile = "You stupid <img src=x onerror=alert(1)> idiot."
    root.locator(".wb-text").fill(hostile)
    root.locator(".wb-score").click()
    tokens = root.locator(".wb-scores .wb-tok")
    tokens.first.wait_for()
    n = int(lab.execute("print(len(view.scores['tokens']))"))
    assert tokens.count() == n
    shown = "".join(tokens.all_text_contents()).replace("\u00b7", " ")
    assert "<img src=x onerror=alert(1)>" in shown
    scores = [float(s) for s in tokens.evaluate_all("spans => spans.map(s => s.dataset.score)")]
    assert all(0 <= s <= 1 for s in scores)

    # "activations" opens the text in the activation panel under the chart, coloured by the probe
    root.locator(".wb-to-panel").click()
    act = page.locator(".jp-OutputArea-output .wb-act")
    act.locator(".wb-tok").first.wait_for()
    act.locator(".wb-status", has_text="coloured by probe probe0").wait_for()
    screenshot(page)

    # untrusted text never becomes markup
    assert page.locator("img[src='x']").count() == 0
    assert lab.dialogs == [] and lab.page_errors == []
