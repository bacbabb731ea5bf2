"""Attribution and patching on the embedded default model and its shipped SAE (layer 12)."""

from __future__ import annotations

import pytest

CASES = [("The capital of France is", " Paris"), ("Monday, Tuesday,", " Wednesday"),
         ("The opposite of hot is", " cold")]


def test_attribution_keeps_the_output_and_agrees_with_ablation(default_bench):
    from workbench.techniques import attribution

    result = attribution.attribute(default_bench, *CASES[0], sae="default", k=5)
    assert result.layer == 12 and result.site == "resid_post"
    assert result.logprob == pytest.approx(result.clean_logprob, abs=1e-3)
    check = default_bench.attribution_agreement(CASES, sae="default", top=5)
    assert len(check.frame) == 15
    assert check.pearson > 0.8, check


def test_patching_finds_the_country_then_the_last_token(default_bench):
    result = default_bench.patch("The capital of France is", "The capital of Italy is", " Paris",
                                 layers=[0, 10, 20, 29])
    assert result.p_clean > 0.5 > 0.05 > result.p_corrupted
    country = result.tokens.index(" France")
    assert result.effect[0, country] > 0.9 and result.effect[-1, -1] > 0.9  # early at the country, late at the end
    assert result.effect[0, -1] < 0.1 and result.effect[-1, country] < 0.1
