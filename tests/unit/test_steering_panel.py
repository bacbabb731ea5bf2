"""The steering panel's Python side (its front-end: tests/ui/test_steering_panel.py)."""

import threading

import numpy as np
import pytest

import workbench as wb
from workbench.techniques import steering, vectors


@pytest.fixture
def bench_with_vector(tiny_bench):
    import torch

    generator = torch.Generator().manual_seed(0)
    vectors.from_direction(tiny_bench, torch.randn(tiny_bench.hidden_size, generator=generator), layer=0,
                            name="random")
    return tiny_bench


def test_sliders_for_registered_vectors(bench_with_vector):
    panel = wb.SteeringPanel(bench_with_vector, "Hello", vectors=["random"], n=2, max_new_tokens=6, seed=3)
    assert [v["name"] for v in panel.vectors] == ["random"] and panel.coefficients == {"random": 0.0}
    assert panel.vectors[0]["layer"] == 0 and panel.vectors[0]["scale"] > 0
    with pytest.raises(KeyError, match=r"No vector named .nope.; registered: .*random"):
        panel.add_vector("nope")
    with pytest.raises(ValueError, match="finite number"):
        panel.add_vector("random", float("nan"))


def test_coefficient_zero_shows_the_unsteered_samples(bench_with_vector):
    panel = wb.SteeringPanel(bench_with_vector, "Hello", vectors=["random"], n=2, max_new_tokens=6, seed=3)
    panel.resample(wait=True, timeout=60)
    assert panel.error == ""
    cmp = panel.effect
    assert cmp.steered.texts == cmp.unsteered.texts
    assert panel.results["steered"] == panel.results["unsteered"]
    assert not panel._shift.any()
    expected = bench_with_vector.sample("Hello", 2, max_new_tokens=6, temperature=0.7, seed=3, progress=False)
    assert cmp.unsteered.texts == expected.texts


def test_moving_a_slider_resamples_steered_on_the_same_seed(bench_with_vector):
    panel = wb.SteeringPanel(bench_with_vector, "Hello", vectors=["random"], n=2, max_new_tokens=8, seed=5)
    panel.resample(wait=True, timeout=60)
    base = panel.effect.unsteered
    panel.coefficients = {"random": 4.0}  # what the front-end does when a slider is released
    assert panel.wait(60) and panel.error == ""
    cmp = panel.effect
    assert cmp.unsteered is base  # reused: only the coefficient changed
    assert cmp.steered.settings["steer"] == {"random": 4.0}
    expected = steering.effect(bench_with_vector, "Hello", 2, steer={"random": 4.0}, seed=5, max_new_tokens=8,
                                temperature=0.7, progress=False)
    assert cmp.steered.texts == expected.steered.texts
    assert cmp.steered.texts != base.texts
    shifts = panel._shift
    assert shifts.shape == (sum(len(ids) for ids in cmp.steered.token_ids),)
    assert np.allclose(shifts, [x for row in expected.shift for x in row], atol=1e-3)
    assert [len(s["tokens"]) for s in panel.results["steered"]] == [len(ids) for ids in cmp.steered.token_ids]
    assert len(panel.latencies) == 1 and panel.latencies[0] > 0
    assert "first steered token after" in panel.status


def test_a_new_slider_position_cancels_the_run_still_going(bench_with_vector):
    panel = wb.SteeringPanel(bench_with_vector, "Hello", vectors=["random"], n=2, max_new_tokens=2000,
                             temperature=0.0, seed=1)
    started = threading.Event()
    panel.observe(lambda change: change["new"].get("step", 0) > 2 and started.set(), "progress")
    panel.coefficients = {"random": 1.0}
    assert started.wait(60)
    panel.max_new_tokens = 4
    panel.coefficients = {"random": 2.0}  # supersedes the long run at once
    assert panel.wait(60)
    assert panel.effect.steered.settings["steer"] == {"random": 2.0}
    assert max(len(ids) for ids in panel.effect.steered.token_ids) <= 4


def test_bad_settings_are_shown_and_nothing_runs(bench_with_vector):
    panel = wb.SteeringPanel(bench_with_vector, "Hello", vectors=["random"], n=2, max_new_tokens=4, seed=1)
    with pytest.raises(ValueError, match="positions"):
        panel.positions = "middle"
        panel.resample()
    assert "positions" in panel.error and not panel.running
    panel.positions = "all"
    panel.coefficients = {"random": float("inf")}
    assert "finite number" in panel.error and not panel.running
    panel.coefficients = {"random": 0.5}
    assert panel.wait(60) and panel.error == ""


def test_steer_with_this_in_the_activation_panel_adds_a_slider(bench_with_vector, trained):
    act = wb.ActivationPanel(bench_with_vector, "The quick brown fox", sae="tiny", k=4)
    panel = wb.SteeringPanel(bench_with_vector, "Hello", n=1, max_new_tokens=4, panel=act)
    act.steer(3)
    assert "tiny:3" in [v["name"] for v in panel.vectors]
    assert panel.coefficients["tiny:3"] == 0.0
    vector = bench_with_vector.vectors["tiny:3"]
    assert vector.layer == 1 and vector.source == "sae:tiny/3"
