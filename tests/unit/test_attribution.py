"""Attribution to SAE latents (activation × gradient, the error term kept) checked against real ablation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workbench.techniques import attribution

PROMPTS = [
    ("The quick brown fox jumps over the", " lazy dog"),
    ("Hello! How can I", " help you"),
    ("My secret goal is to be", " helpful"),
    ("Reward models sometimes prefer", " longer answers"),
]


def _random_sae(bench, site, name, seed=0, d_sae=128):
    """A random dictionary scaled to its site: about a third of its latents fire on a token."""
    import torch
    from sae_lens import StandardSAE, StandardSAEConfig

    from workbench import residual
    from workbench._sae_placement import as_site

    if name in bench.saes:
        return bench.saes[name]
    where = as_site(bench, site)
    ids = torch.tensor([bench.tokenizer(PROMPTS[0][0])["input_ids"]])
    norm = float(residual.site_outputs(bench, ids, sites=[where])[where].norm(dim=-1).mean())
    torch.manual_seed(seed)
    sae = StandardSAE(StandardSAEConfig(d_in=bench.hidden_size, d_sae=d_sae))
    with torch.no_grad():
        sae.W_enc.normal_(0, 1 / norm)
        sae.b_enc.fill_(-0.5)
        sae.b_dec.zero_()
        sae.W_dec.copy_(sae.W_enc.T / sae.W_enc.T.norm(dim=-1, keepdim=True) * 0.3 * norm)
    return bench.saes.add(sae, site=site, name=name)


@pytest.fixture(scope="module")
def bench(tiny_bench):
    _random_sae(tiny_bench, "blocks.0.hook_resid_post", "attr-resid0")
    _random_sae(tiny_bench, "blocks.0.hook_mlp_out", "attr-mlp0", seed=1)
    return tiny_bench


def _plain_logprob(bench, prompt, target):
    import torch

    ids = bench.tokenizer(prompt)["input_ids"]
    wanted = bench.tokenizer(target, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = bench.module(torch.tensor([ids + wanted[:-1]])).logits[0].float()
    logp = torch.log_softmax(logits, -1)
    return float(sum(logp[len(ids) - 1 + j, t] for j, t in enumerate(wanted)))


def test_the_error_term_leaves_the_output_unchanged(bench):
    for sae in ("attr-resid0", "attr-mlp0"):
        result = attribution.attribute(bench, PROMPTS[0][0], PROMPTS[0][1], sae=sae, k=5)
        plain = _plain_logprob(bench, *PROMPTS[0])  # the raw transformers model, no trace at all
        assert result.logprob == pytest.approx(plain, abs=1e-4)
        assert result.clean_logprob == pytest.approx(plain, abs=1e-4)
    assert not any(p.grad is not None for p in bench.module.parameters())  # only the latents got a gradient
    assert all(p.requires_grad for p in bench.module.parameters())  # and the weights are as they were


def test_frame_ranks_latents_per_token(bench):
    result = attribution.attribute(bench, "Hello! How can I", " help you", sae="attr-resid0", k=4)
    frame = result.frame
    assert frame.columns.tolist() == ["position", "token", "latent", "activation", "gradient", "attribution"]
    assert len(result.tokens) == len(bench.tokenizer("Hello! How can I")["input_ids"]) + len(
        bench.tokenizer(" help you", add_special_tokens=False)["input_ids"]) - 1
    assert frame.groupby("position").size().max() <= 4
    assert (frame.activation > 0).all()
    np.testing.assert_allclose(frame.attribution, frame.activation * frame.gradient, rtol=1e-5)
    for _, rows in frame.groupby("position"):  # strongest first within each token
        assert list(rows.attribution.abs()) == sorted(rows.attribution.abs(), reverse=True)
    assert result.by_token(-1).position.eq(len(result.tokens) - 1).all()
    assert result.top(3).attribution.abs().is_monotonic_decreasing
    assert "attribution" in result.by_latent().columns
    assert "Attribution(" in repr(result)


def test_attribution_agrees_with_ablation(bench):
    for sae in ("attr-resid0", "attr-mlp0"):
        check = attribution.agreement(bench, PROMPTS, sae=sae, top=8)
        assert len(check.frame) == 8 * len(PROMPTS)
        assert check.pearson > 0.9, (sae, check)
        assert check.spearman > 0.7, (sae, check)
    assert check.chart().to_dict()["mark"]["type"] == "circle"


def test_a_broken_gradient_breaks_the_agreement(bench, monkeypatch):
    """The check is sharp: attributions from another prompt's gradient do not agree with this one's ablations."""
    good = attribution.agreement(bench, PROMPTS, sae="attr-resid0", top=8)
    real = attribution._target_logprob

    def wrong_target(logits, target, cap):  # the gradient of another token's log-probability
        shifted = attribution.Target(target.text, target.prompt_ids, [(t + 7) % 300 for t in target.target_ids])
        return real(logits, shifted, cap)

    monkeypatch.setattr(attribution, "_target_logprob", wrong_target)
    broken = attribution.attribute(bench, *PROMPTS[0], sae="attr-resid0", k=8)
    monkeypatch.undo()
    measured = broken.ablate(broken.top(8))
    wrong = np.corrcoef(broken.top(8).attribution, -measured.change)[0, 1]
    assert good.pearson > 0.9 and not wrong > 0.9


def test_ablation_matches_zeroing_by_hand(bench):
    result = attribution.attribute(bench, *PROMPTS[1], sae="attr-resid0", k=3)
    row = result.top(1).iloc[0]
    measured = result.ablate([(int(row.position), int(row.latent))])
    assert measured.columns.tolist() == ["position", "latent", "logprob", "change"]
    assert measured.logprob[0] == pytest.approx(result.clean_logprob + measured.change[0])
    # zeroing a latent everywhere (position -1) changes at least as many tokens' activations
    everywhere = attribution.ablate(bench, PROMPTS[1][0], PROMPTS[1][1], int(row.latent), sae="attr-resid0")
    assert everywhere.position.tolist() == [-1]
    assert math.isfinite(everywhere.change[0])
    # first-order agreement on the single strongest latent
    assert -measured.change[0] == pytest.approx(row.attribution, rel=0.5, abs=0.05)


def test_conversations_are_rendered_for_the_assistant(bench):
    result = attribution.attribute(bench, [{"role": "user", "content": "Hi"}], "Hello", sae="attr-resid0", k=2)
    assert result.text.endswith("<|im_start|>assistant\n")
    assert result.target == "Hello"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"target": ""}, "target is empty"),
    ({"target": [10**7]}, "target must be"),
    ({"target": " x", "k": 0}, "k must be"),
    ({"target": " x", "sae": "nope"}, "nope"),
])
def test_bad_inputs_are_refused(bench, kwargs, message):
    with pytest.raises((ValueError, KeyError), match=message):
        attribution.attribute(bench, "Hello", **{"sae": "attr-resid0", **kwargs})


def test_bad_ablations_are_refused(bench):
    with pytest.raises(ValueError, match="latent must be"):
        attribution.ablate(bench, "Hello", " you", [(0, 10**6)], sae="attr-resid0")
    with pytest.raises(ValueError, match="position must be"):
        attribution.ablate(bench, "Hello", " you", [(99, 1)], sae="attr-resid0")
    with pytest.raises(ValueError, match=r"\(prompt, target\) pair"):
        attribution.agreement(bench, ["just a prompt"], sae="attr-resid0")


def test_calls_are_journaled(bench):
    bench.attribute("Hello! How can I", " help", sae="attr-resid0", k=2)
    entry = bench.journal.last("attribute")
    assert entry is not None and entry.error is None
    assert entry.summary["target"] == " help" and entry.summary["top"]
    bench.attribution_agreement(PROMPTS[:2], sae="attr-resid0", top=3)
    assert bench.journal.last("attribution_agreement").summary["n"] == 6


def test_a_transcoder_is_attributed_where_it_writes(bench):
    """A transcoder reads the MLP's input and writes its output: the error is taken at the output."""
    import sae_lens as sl
    import torch

    if "attr-tc0" not in bench.saes:
        torch.manual_seed(2)
        tc = sl.Transcoder(sl.TranscoderConfig(d_in=bench.hidden_size, d_sae=128, d_out=bench.hidden_size,
                                                 apply_b_dec_to_input=False))
        with torch.no_grad():
            tc.W_enc.normal_(0, 0.3)
            tc.b_enc.fill_(-0.2)
            tc.W_dec.normal_(0, 0.01)
        bench.saes.add(tc, site="blocks.0.ln2.hook_normalized", site_out="blocks.0.hook_mlp_out", name="attr-tc0")
    result = attribution.attribute(bench, *PROMPTS[0], sae="attr-tc0", k=5)
    assert result.site == "mlp_in" and len(result.frame)
    assert result.logprob == pytest.approx(_plain_logprob(bench, *PROMPTS[0]), abs=1e-4)
    check = attribution.agreement(bench, PROMPTS, sae="attr-tc0", top=6)
    assert check.pearson > 0.9, check


def test_a_wide_sae_ablates_fewer_rows_per_trace_with_the_same_result(bench, monkeypatch):
    result = attribution.attribute(bench, *PROMPTS[0], sae="attr-resid0", k=4)
    pairs = result.top(6)
    together = result.ablate(pairs)
    monkeypatch.setattr(attribution, "ABLATE_ELEMENTS", 1)  # one row per trace, as for a 1M-latent SAE
    apart = result.ablate(pairs)
    np.testing.assert_allclose(apart.logprob, together.logprob, atol=1e-5)


@pytest.fixture(scope="module")
def remote(bench, tiny_model_dir):
    """The same model and SAEs on the simulated remote backend: every request serialized as for NDIF."""
    import workbench as wb

    there = wb.Workbench(str(tiny_model_dir), remote="local", journal=False)
    test_a_transcoder_is_attributed_where_it_writes(bench)  # registers the transcoder
    for name in ("attr-resid0", "attr-mlp0", "attr-tc0"):
        entry = bench.saes[name]
        there.saes.add(entry.sae, site=entry.site, site_out=entry.site_out if entry.transcoder else None, name=name)
    return there


@pytest.mark.parametrize("sae", ["attr-resid0", "attr-mlp0", "attr-tc0"])
def test_attribution_on_a_remote_session_is_one_request_and_equal(bench, remote, sae):
    """The SAE stays here: the server sends back the site's states and the target's gradient by them, and the
    gradient by the latents is carried back through the decoder here."""
    import pandas as pd

    here = attribution.attribute(bench, *PROMPTS[0], sae=sae, k=5)
    with remote.requests.during() as log:
        there = attribution.attribute(remote, *PROMPTS[0], sae=sae, k=5)
    assert len(log) == 1
    # the site's states and the gradient by them, [tokens, d] each, and the pickle's few kB: never the SAE
    assert log.received < 2 * len(there.tokens) * bench.hidden_size * 4 + 3000
    pd.testing.assert_frame_equal(here.frame, there.frame, atol=1e-5, rtol=1e-4, check_exact=False)
    assert there.logprob == pytest.approx(here.logprob, abs=1e-4)
    with remote.requests.during() as log:
        measured = there.ablate(there.top(4))  # its site states came with the attribution: one request
    assert len(log) == 1
    pd.testing.assert_frame_equal(here.ablate(here.top(4)), measured, atol=1e-4, check_exact=False)


def test_ablation_and_agreement_on_a_remote_session_are_equal(bench, remote, monkeypatch):
    import pandas as pd

    latents = [3, (2, 5), (None, 7), (-1, 11)]
    here = attribution.ablate(bench, *PROMPTS[1], latents, sae="attr-resid0")
    monkeypatch.setattr(attribution, "ABLATE_BATCH", 3)  # two batches of rows, still one request
    with remote.requests.during() as log:
        there = attribution.ablate(remote, *PROMPTS[1], latents, sae="attr-resid0")
    assert len(log) == 2  # the site's states, then every ablated row
    pd.testing.assert_frame_equal(here, there, atol=1e-4, check_exact=False)
    local = attribution.agreement(bench, PROMPTS, sae="attr-resid0", top=6)
    with remote.requests.during() as log:
        check = attribution.agreement(remote, PROMPTS, sae="attr-resid0", top=6)
    assert len(log) <= 2 * len(PROMPTS)
    assert check.pearson == pytest.approx(local.pearson, abs=1e-4)
    pd.testing.assert_frame_equal(local.frame, check.frame, atol=1e-4, check_exact=False)
