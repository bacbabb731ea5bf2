"""The causal panel's Python side on the tiny Llama (its front-end: tests/ui/test_causal_panel.py)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import workbench as wb
from workbench.widgets._buffers import to_buffer

from .test_attribution import _random_sae

CLEAN, CORRUPTED = "The quick fox jumps to the", "The honest fox jumps to the"


@pytest.fixture(scope="module")
def bench(tiny_bench):
    _random_sae(tiny_bench, "blocks.0.hook_resid_post", "attr-resid0")
    return tiny_bench


def test_attribution_fills_the_table_and_a_click_ablates(bench):
    view = wb.CausalPanel(bench, "Hello! How can I", " help", sae="attr-resid0", k=3)
    assert view.mode == "attribution" and "attr-resid0" in view.saes
    view.run(wait=True, timeout=120)
    assert view.error == "" and not view.running and "click a latent" in view.status
    result = view.attribution
    assert view.attribution_result["target"] == " help" and view.attribution_result["tokens"] == result.tokens
    assert len(view.attribution_rows) == len(result.frame)
    json.dumps([view.attribution_result, view.attribution_rows])  # plain JSON
    row = view.attribution_rows[0]
    reply = view.ablate_latent(row["position"], row["latent"])  # what the click asks
    expected = result.ablate([(row["position"], row["latent"])])
    assert reply["change"] == pytest.approx(float(expected.change[0]))
    assert reply["attribution"] == pytest.approx(row["attribution"])
    assert view.ablation == reply


def test_patching_sends_the_matrix_as_a_buffer_and_a_click_gives_text(bench):
    view = wb.CausalPanel(bench, clean=CLEAN, corrupted=CORRUPTED, mode="patching")
    view.run(wait=True, timeout=120)
    assert view.error == "" and "patched 2 layers" in view.status
    assert view.progress == {"step": 12, "total": 12}
    np.testing.assert_allclose(view.effect, view.patching.effect.astype(np.float32))
    payload = to_buffer(view.effect)
    assert payload["dtype"] == "float32" and payload["shape"] == [2, 6]
    assert view.patching_result["layers"] == [0, 1] and view.patching_result["tokens"][1] == " quick"
    reply = view.patched_text(1, 5)
    assert isinstance(reply["text"], str) and reply["layer"] == 1 and view.cell == reply
    assert view.chart.layout.display is None  # the altair heat map under the panel


def test_bad_inputs_show_in_the_panel(bench):
    view = wb.CausalPanel(bench, clean=CLEAN, corrupted="The quick brown fox jumps to the", mode="patching")
    view.run(wait=True, timeout=120)
    assert "ValueError" in view.error and "6 tokens and the corrupted one 8" in view.error
    view.mode = "attribution"
    with pytest.raises(ValueError, match="Type a prompt"):
        view.run()
    assert "Type a prompt" in view.error
    with pytest.raises(ValueError, match="mode must be"):
        wb.CausalPanel(bench, mode="nope")
    with pytest.raises(ValueError, match="Run an attribution first"):
        view.ablate(0, 1)


def test_cancel_stops_a_patching_between_batches(bench):
    started, release = threading.Event(), threading.Event()
    view = wb.CausalPanel(bench, clean=CLEAN, corrupted=CORRUPTED, mode="patching", batch_size=2)

    def hold(step, total):  # the first batch's progress waits until Cancel is pressed
        started.set()
        release.wait(10)

    view._runs.on_progress = hold
    view.run()
    assert started.wait(30)
    assert view.stop() == {"cancelled": True}
    release.set()
    assert view.wait(60)
    assert view.status.startswith("cancelled") and "after 2 of 12 runs" in view.status and view.error == ""


def test_both_modes_on_a_simulated_remote_session_give_the_local_figures_one_request_an_action(bench,
                                                                                               tiny_model_dir):
    there = wb.Workbench(str(tiny_model_dir), remote="local", journal=False)
    entry = bench.saes["attr-resid0"]
    there.saes.add(entry.sae, site=entry.site, name="attr-resid0")
    here = wb.CausalPanel(bench, "Hello! How can I", " help", sae="attr-resid0", k=3)
    view = wb.CausalPanel(there, "Hello! How can I", " help", sae="attr-resid0", k=3)
    here.run(wait=True, timeout=120)
    with there.requests.during() as log:
        view.run(wait=True, timeout=120)
    assert view.error == "" and len(log) == 1
    assert [(r["position"], r["latent"]) for r in view.attribution_rows] == \
        [(r["position"], r["latent"]) for r in here.attribution_rows]
    row = view.attribution_rows[0]
    with there.requests.during() as log:
        reply = view.ablate_latent(row["position"], row["latent"])  # the click
    assert len(log) == 1
    assert reply["change"] == pytest.approx(here.ablate_latent(row["position"], row["latent"])["change"], abs=1e-4)
    here = wb.CausalPanel(bench, clean=CLEAN, corrupted=CORRUPTED, mode="patching")
    view = wb.CausalPanel(there, clean=CLEAN, corrupted=CORRUPTED, mode="patching")
    here.run(wait=True, timeout=120)
    with there.requests.during() as log:
        view.run(wait=True, timeout=120)
    assert view.error == "" and len(log) == 1
    np.testing.assert_allclose(view.effect, here.effect, atol=1e-5)
