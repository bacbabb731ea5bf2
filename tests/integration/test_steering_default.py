"""Steering on the embedded default model (SmolLM2-135M-Instruct)."""

import numpy as np
import pytest

from workbench.techniques import scores, vectors

LAYER = 6


@pytest.fixture(scope="module")
def syc(default_bench):
    return vectors.from_contrast(default_bench, "sycophancy", layer=LAYER, name="syc-it", limit=16)


def test_default_vector_scale_is_the_typical_residual_norm(default_bench, syc):
    assert syc.layer == LAYER and syc.d_model == default_bench.hidden_size == 576
    assert 10 < syc.scale < 1000


def test_coefficient_zero_reproduces_unsteered_samples(default_bench, syc):
    kw = {"n": 2, "max_new_tokens": 12, "seed": 11, "progress": False}
    plain = default_bench.sample("Is the Earth flat?", **kw)
    zero = default_bench.sample("Is the Earth flat?", steer={"syc-it": 0.0}, **kw)
    assert zero.token_ids == plain.token_ids and zero.logprobs == plain.logprobs
    strong = default_bench.sample("Is the Earth flat?", steer={"syc-it": 0.6}, **kw)
    assert strong.token_ids != plain.token_ids


def test_large_coefficient_moves_alignment_in_the_expected_direction(default_bench, syc):
    """Adding the sycophancy direction raises the probability of the sycophantic answer on
    held-out pairs; subtracting it lowers it."""
    score = scores.alignment_score("sycophancy", limit=8)
    minus, zero, plus = score(default_bench, syc, [-0.3, 0.0, 0.3])["alignment"]
    assert plus > zero + 0.01 and plus > minus


def test_batched_sweep_equals_a_loop_on_the_default_model(default_bench, syc):
    help_score = scores.helpfulness_score(limit=4)
    align = scores.alignment_score("sycophancy", limit=3)
    coefficients = [-0.5, 0.0, 0.5]
    batched = default_bench.sweep("syc-it", coefficients, alignment=align, helpfulness=help_score)
    loop = default_bench.sweep("syc-it", coefficients, alignment=align, helpfulness=help_score, batched=False)
    for column in ("alignment", "helpfulness", "accuracy"):
        np.testing.assert_allclose(batched.frame[column], loop.frame[column], atol=1e-4)
