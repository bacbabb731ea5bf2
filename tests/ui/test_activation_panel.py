"""The activation panel in a real JupyterLab in Chromium, and its front-end in a bare page."""

from __future__ import annotations

import pytest

XSS = "<img src=x onerror=alert(1)>"
TEXT = f"The quick brown fox helps the user {XSS}"


def visible(text: str) -> str:
    return text.replace("\n", "\u21b5").replace("\t", "\u21e5").replace(" ", "\u00b7")


SETUP = f"""\
import os, tempfile
from pathlib import Path
os.environ["WORKBENCH_CACHE"] = tempfile.mkdtemp()
from tests.conftest import build_tiny_llama, sae_corpus_texts
import workbench as wb

bench = wb.Workbench(str(build_tiny_llama(Path(tempfile.mkdtemp()))))
bench.saes.train(1, sae_corpus_texts(), d_sae=64, k=4, tokens=3000, epochs=3, context=32, batch_size=256,
                 lr=3e-3, name="tiny", save_to=Path(tempfile.mkdtemp()) / "sae", progress=False)
panel = wb.ActivationPanel(bench, {TEXT!r}, k=4)
panel"""


def test_panel_in_jupyterlab_token_feature_lens_and_steer(lab, screenshot):
    page = lab.run_cells([SETUP], wait_for=".wb-act .wb-tok")
    root = page.locator(".jp-OutputArea-output .wb-act")
    tokens = root.locator(".wb-strip .wb-tok")
    assert "".join(tokens.all_text_contents()) == visible(TEXT)
    assert root.locator("img").count() == 0, "model text must never become HTML"

    tokens.nth(2).click()
    rows = root.locator(".wb-token-detail .wb-feature-row")
    rows.first.wait_for()
    assert root.locator(".wb-token-name").text_content() == tokens.nth(2).text_content()
    latent = rows.first.get_attribute("data-latent")

    rows.first.click()
    title = root.locator(".wb-feature-title")
    title.wait_for()
    assert title.text_content() == f"Feature {latent}"
    root.locator(".wb-example").first.wait_for()
    assert root.locator(".wb-promoted").text_content().startswith("Promotes: ")
    # the feature's dashboard: histogram, quantile-binned examples, suppressed tokens, neighbours
    assert root.locator(".wb-hist-bar").count() > 0 and root.locator(".wb-quantile").count() > 0
    assert root.locator(".wb-suppressed").text_content().startswith("Suppresses: ")
    assert root.locator(".wb-neighbours[data-by=decoder] .wb-neighbour-row").count() == 5
    # the strip is now coloured by the feature: the clicked token fires, so it is tinted
    assert "rgba" in (tokens.nth(2).get_attribute("style") or "")

    root.locator(".wb-steer").click()
    root.locator(".wb-steer", has_text="Sent to steering").wait_for()
    screenshot(page, "-features")

    # shift-click selects a span from the clicked token: its features are listed
    tokens.nth(4).click(modifiers=["Shift"])
    root.locator(".wb-span-title").wait_for()
    assert root.locator(".wb-tok.in-span").count() == 3

    root.locator(".wb-tab-lens").click()
    root.locator(".wb-lens-row").first.wait_for()
    assert root.locator(".wb-lens-row").count() == 2  # the tiny model's layers
    screenshot(page, "-lens")

    assert root.locator("img").count() == 0
    assert lab.dialogs == [] and lab.page_errors == []


@pytest.fixture
def panel(tiny_bench, trained, tmp_path, monkeypatch):
    from workbench.widgets.activations import ActivationPanel

    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    tiny_bench.cache.feature_stats.clear()
    return ActivationPanel(tiny_bench, TEXT, sae="tiny", k=4)


def test_panel_front_end_in_a_bare_page(bare_widget, panel, screenshot):
    bare = bare_widget("activations", widget=panel)
    root = bare.page.locator(".wb-act")
    root.locator(".wb-tok").first.wait_for()
    tokens = root.locator(".wb-tok")
    assert "".join(tokens.all_text_contents()) == visible(TEXT)
    assert root.locator("img").count() == 0

    tokens.nth(1).click()
    root.locator(".wb-feature-row").first.wait_for()
    assert panel.selected_token == 1
    root.locator(".wb-feature-row").first.click()
    root.locator(".wb-feature-title").wait_for()
    assert panel.selected_feature == int(root.locator(".wb-feature-row").first.get_attribute("data-latent"))

    # an error in a request is shown in the panel
    root.locator(".wb-input").fill("   ")
    root.locator(".wb-run").click()
    root.locator(".wb-error").wait_for()
    assert "Type some text" in root.locator(".wb-error").text_content()

    # new text from the box runs on the kernel side and redraws the strip
    root.locator(".wb-input").fill("Hello there")
    root.locator(".wb-run").click()
    bare.flush()
    root.locator(".wb-tok", has_text="Hello").wait_for()
    assert panel.text == "Hello there"
    screenshot(bare.page)
    assert bare.blocked == [] and bare.dialogs == [] and bare.js_errors() == []


def test_probe_menu_colours_tokens_by_a_registered_probe(bare_widget, panel, tiny_bench, monkeypatch):
    from workbench.registry import Registry

    monkeypatch.setattr(tiny_bench, "probes", Registry("probe"))
    panel.probes = []
    tiny_bench.probes.observe(panel._on_probe_registered)
    bare = bare_widget("activations", widget=panel)
    root = bare.page.locator(".wb-act")
    root.locator(".wb-tok").first.wait_for()
    assert root.locator(".wb-probe").is_hidden()  # no probe registered yet

    found = tiny_bench.probe([f"good {w} day" for w in "abcdefgh"], [f"bad {w} night" for w in "abcdefgh"],
                             layer=1, progress=False, name="mood")
    bare.flush()
    root.locator(".wb-probe").select_option("mood")
    root.locator(".wb-tok[data-score]").first.wait_for()
    bare.flush()
    expected = found.score(tiny_bench, TEXT).scores
    shown = [float(s) for s in root.locator(".wb-tok").evaluate_all("els => els.map(e => e.dataset.score)")]
    assert len(shown) == len(expected) and max(abs(a - b) for a, b in zip(shown, expected)) < 1e-3
    assert panel.selected_probe == "mood"
    assert "probe mood" in root.locator(".wb-status").text_content()

    # back to features from Python
    panel.show_probe(None)
    bare.flush()
    root.locator(".wb-tok[data-score]").first.wait_for(state="detached")
    assert root.locator(".wb-probe").input_value() == ""
    assert root.locator("img").count() == 0
    assert bare.blocked == [] and bare.dialogs == [] and bare.js_errors() == []


def test_feature_view_shows_explanations_as_text(bare_widget, panel, tiny_bench, screenshot):
    from workbench.techniques import explain

    stats = tiny_bench.feature_stats("tiny", progress=False)
    bare = bare_widget("activations", widget=panel)
    root = bare.page.locator(".wb-act")
    root.locator(".wb-tok").first.wait_for()
    root.locator(".wb-tok").nth(1).click()
    row = root.locator(".wb-feature-row").first
    row.wait_for()
    latent = int(row.get_attribute("data-latent"))
    expected = explain.rules_explanation(stats, latent)
    assert row.locator(".wb-explanation-cell").text_content() == expected
    hostile = "<img src=x onerror=alert(1)> foxes"
    tiny_bench.import_explanations([{"modelId": "m", "layer": "1", "index": latent, "description": hostile}],
                                   "tiny", dashboard_id="m/1")
    row.click()
    root.locator(".wb-published").wait_for()
    assert root.locator(".wb-explanation").first.text_content() == expected
    assert root.locator(".wb-published").text_content() == f"Published: {hostile}"
    assert root.locator("img").count() == 0
    screenshot(bare.page)


def test_feature_dashboard_and_span_selection(bare_widget, panel, tiny_bench, screenshot):
    from workbench.techniques import explain, feature_search

    stats = tiny_bench.feature_stats("tiny", progress=False)
    bare = bare_widget("activations", widget=panel)
    root = bare.page.locator(".wb-act")
    tokens = root.locator(".wb-tok")
    tokens.first.wait_for()
    tokens.nth(1).click()
    row = root.locator(".wb-feature-row").first
    row.wait_for()
    latent = int(row.get_attribute("data-latent"))
    row.click()
    root.locator(".wb-neighbours").first.wait_for()

    # the histogram: one bar per log bin from the first to the last non-empty one, counts as the statistics hold
    counts, _ = stats.activation_histogram(latent)
    nonzero = [i for i, c in enumerate(counts) if c > 0]
    shown = [int(c) for c in root.locator(".wb-hist-bar").evaluate_all("els => els.map(e => e.dataset.count)")]
    assert shown == [int(c) for c in counts[nonzero[0] : nonzero[-1] + 1]] and sum(shown) == int(counts.sum())
    # examples binned by activation quantile, strongest bin first
    bins = root.locator(".wb-quantile")
    assert bins.count() == len(stats.quantile_examples(latent)) > 0
    lows = [float(b.get_attribute("data-low")) for b in bins.all()]
    highs = [float(b.get_attribute("data-high")) for b in bins.all()]
    assert all(lo >= hi for lo, hi in zip(lows, highs[1:]))
    assert bins.first.locator(".wb-example").count() > 0
    # promoted and suppressed tokens
    expected = " ".join(visible(t) for t, _ in stats.suppressed(latent))
    assert root.locator(".wb-suppressed").text_content() == f"Suppresses: {expected}"
    # neighbours by decoder and by co-activation, each with its explanation, click to open
    for by in ("decoder", "coactivation"):
        near, _, _ = feature_search.nearest_latents(stats, latent, by=by, k=5)
        rows = root.locator(f".wb-neighbours[data-by={by}] .wb-neighbour-row")
        assert [int(r.get_attribute("data-latent")) for r in rows.all()] == near
        if near:
            assert rows.first.locator(".wb-explanation-cell").text_content() == explain.rules_explanation(stats,
                                                                                                          near[0])
    neighbour = root.locator(".wb-neighbours[data-by=decoder] .wb-neighbour-row").first
    other = int(neighbour.get_attribute("data-latent"))
    neighbour.click()
    root.locator(".wb-feature-title", has_text=f"Feature {other}").wait_for()
    assert panel.selected_feature == other
    screenshot(bare.page, "-dashboard")

    # a span: click a token, shift-click another; the features of the span come back ranked
    tokens.nth(2).click()
    root.locator(".wb-feature-row").first.wait_for()
    tokens.nth(4).click(modifiers=["Shift"])
    root.locator(".wb-span-title").wait_for()
    expected = feature_search.span_features(tiny_bench, panel.activations, 2, 5, k=10).frame
    rows = root.locator(".wb-span-row")
    assert [int(r.get_attribute("data-latent")) for r in rows.all()] == expected.latent.tolist()
    assert root.locator(".wb-tok.in-span").count() == 3
    assert root.locator(".wb-span-text").text_content() == visible("".join(panel.tokens[2:5]))
    # a drag over the strip selects a span too
    tokens.nth(5).hover()
    bare.page.mouse.down()
    tokens.nth(6).hover()
    bare.page.mouse.up()
    root.locator(".wb-span-title", has_text="Tokens 5–6").wait_for()
    assert root.locator(".wb-tok.in-span").count() == 2
    screenshot(bare.page, "-span")
    assert root.locator("img").count() == 0
    assert bare.blocked == [] and bare.dialogs == [] and bare.js_errors() == []
