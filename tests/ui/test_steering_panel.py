"""The steering panel in a real JupyterLab in Chromium, on the embedded default model."""

from __future__ import annotations

import json
import time

SETUP = """\
import workbench as wb
from IPython.display import display

bench = wb.Workbench()
act = wb.ActivationPanel(bench, "I love cooking pasta with garlic and olive oil")
steer = wb.SteeringPanel(bench, "Tell me about your weekend.", n=2, max_new_tokens=16, seed=0, panel=act)
display(act)
steer"""


def test_slider_steers_the_text_in_jupyterlab(lab, screenshot):
    page = lab.run_cells([SETUP], wait_for=".wb-steer-panel")
    lab.wait_for_output(".wb-act .wb-tok")
    act = page.locator(".jp-OutputArea-output .wb-act")
    panel = page.locator(".jp-OutputArea-output .wb-steer-panel")
    assert "No steering vectors yet" in panel.locator(".wb-sliders").text_content()

    # "steer with this" in the activation panel adds the feature's slider
    act.locator(".wb-tok").nth(3).click()
    act.locator(".wb-token-detail .wb-feature-row").first.click()
    act.locator(".wb-steer").click()
    slider = panel.locator(".wb-slider")
    slider.first.wait_for()
    name = slider.first.get_attribute("data-name")
    assert name.startswith("default:")

    # unsteered first: both sides agree at coefficient 0
    panel.locator(".wb-resample").click()
    panel.locator(".wb-steered .wb-sample").first.wait_for()
    unsteered = panel.locator(".wb-unsteered .wb-sample").all_text_contents()
    assert panel.locator(".wb-steered .wb-sample").all_text_contents() == unsteered

    # release the slider near its right end: the steered side changes, the unsteered does not
    box = slider.first.locator(".wb-range").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.95, box["y"] + box["height"] / 2)
    panel.locator(".wb-steered h4", has_text=name).wait_for()
    panel.locator(".wb-status", has_text="first steered token after").wait_for()
    coefficient = float(panel.locator(".wb-coef").first.text_content())
    assert coefficient > 3
    assert panel.locator(".wb-unsteered .wb-sample").all_text_contents() == unsteered
    assert panel.locator(".wb-steered .wb-sample").all_text_contents() != unsteered
    shifts = [float(s) for s in panel.locator(".wb-steered .wb-tok").evaluate_all(
        "spans => spans.map(s => s.dataset.shift)")]
    assert shifts and any(abs(s) > 0.01 for s in shifts)
    out = lab.execute("print(len(steer.latencies), steer.effect.steered.settings['steer'])")
    assert out.startswith("1 {") and name in out
    screenshot(page)
    assert page.locator("img[src='x']").count() == 0
    assert lab.dialogs == [] and lab.page_errors == []


SWEEP = """\
import tempfile
from pathlib import Path
import torch
from tests.conftest import build_tiny_llama
import workbench as wb
from workbench.techniques import steering, vectors

bench = wb.Workbench(str(build_tiny_llama(Path(tempfile.mkdtemp()))))
vectors.from_direction(bench, torch.ones(bench.hidden_size), layer=0, name="ones")
result = bench.sweep("ones", [-1.0, -0.5, 0.0, 0.5, 1.0], prompt="Hello",
                     alignment=lambda b, v, cs: [0.5 + 0.2 * c for c in cs],
                     helpfulness=lambda b, v, cs: [-(c ** 2) for c in cs],
                     sample_options={"n": 2, "max_new_tokens": 5})
picked = []
result.on_select(lambda r, s: picked.append(r))
result.chart()"""


def test_sweep_chart_renders_offline_and_a_click_loads_samples(lab, screenshot):
    page = lab.run_cells([SWEEP], wait_for=".vega-embed svg")
    points = page.locator(".jp-OutputArea-output .vega-embed svg g.mark-symbol.role-mark path")
    points.first.wait_for()
    assert points.count() == 10  # 5 coefficients x 2 curves
    box = points.nth(3).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    start = time.monotonic()
    while time.monotonic() - start < 60:  # the selection reaches the kernel debounced
        picked = json.loads(lab.execute("import json; print(json.dumps([picked, sorted(result.samples)]))"))
        if picked[0]:
            break
        time.sleep(0.5)
    (coefficient,), loaded = picked
    assert coefficient in (-1.0, -0.5, 0.0, 0.5, 1.0) and loaded == [coefficient]
    assert lab.execute(f"print(len(result.samples[{coefficient}]))").strip() == "2"
    screenshot(page)
    assert lab.dialogs == [] and lab.page_errors == []
