import math

import pytest
import torch

import workbench as wb
from workbench import residual
from workbench.techniques import interventions, steering, vectors

KW = {"n": 3, "max_new_tokens": 8, "seed": 5, "progress": False}


@pytest.fixture(scope="module")
def vec(tiny_bench):
    return vectors.from_contrast(tiny_bench, "sycophancy", layer=1)


@pytest.fixture
def generate_calls(tiny_bench, monkeypatch):
    module = tiny_bench.model._module
    calls = []
    original = module.generate

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "generate", spy)
    return calls


def test_shipped_contrast_sets_have_both_splits():
    assert {"sycophancy", "refusal", "power_seeking"} <= set(vectors.contrast_sets())
    for name in vectors.contrast_sets():
        train, test = vectors.contrast_pairs(name, "train"), vectors.contrast_pairs(name, "test")
        assert len(train) >= 25 and len(test) >= 10
        assert not {i["id"] for i in train} & {i["id"] for i in test}


def test_contrast_vector_is_unit_with_natural_scale(tiny_bench, vec):
    assert isinstance(vec, wb.SteeringVector)
    assert tiny_bench.vectors["sycophancy"] is vec
    assert vec.layer == 1 and vec.source == "contrast:sycophancy"
    assert torch.isclose(vec.direction.norm(), torch.tensor(1.0))
    assert vec.scale == residual.natural_scale(tiny_bench, 1) > 0
    assert vec.raw_norm > 0


def test_natural_scale_is_the_mean_residual_norm_and_cached(tiny_bench):
    scale = residual.natural_scale(tiny_bench, 0)
    assert tiny_bench.cache.natural_scale[0] == scale
    assert 0 < scale < 100
    assert residual.natural_scale(tiny_bench, 0) is tiny_bench.cache.natural_scale[0]


def test_coefficient_zero_reproduces_unsteered_samples_exactly(tiny_bench, vec):
    plain = tiny_bench.sample("Hello", **KW)
    for positions in ("all", "generated"):
        zero = tiny_bench.sample("Hello", steer={"sycophancy": 0.0}, positions=positions, **KW)
        assert zero.token_ids == plain.token_ids and zero.texts == plain.texts
        assert zero.logprobs == plain.logprobs
        assert zero.settings["steer"] == {"sycophancy": 0.0}


def test_steering_changes_the_model_and_is_recorded(tiny_bench, vec):
    plain = tiny_bench.sample("Hello", **KW)
    steered = tiny_bench.sample("Hello", steer={"sycophancy": 20.0}, **KW)
    assert steered.logprobs != plain.logprobs
    assert steered.settings["steer"] == {"sycophancy": 20.0}
    assert steered.settings["steer_layers"] == {"sycophancy": 1}
    assert steered.seed == plain.seed == 5


def test_generate_time_steering_matches_a_steered_forward_pass(tiny_bench, vec):
    """The logprobs recorded during steered generation are those of the steered model."""
    for positions in ("all", "generated"):
        out = tiny_bench.sample("Hello", steer={"sycophancy": 6.0}, positions=positions, **KW)
        plan = interventions.plan(tiny_bench, {"sycophancy": 6.0}, positions=positions)
        scored = steering.token_logprobs(tiny_bench, out.prompt_ids, out.token_ids, plan)
        for got, want in zip(out.logprobs, scored):
            assert torch.allclose(torch.tensor(got), torch.tensor(want), atol=1e-4)


def test_positions_generated_leaves_the_prompt_alone(tiny_bench, vec):
    """At layer 0 (below attention), steering the whole prompt reaches the first new token
    through attention; steering only the generated positions does not touch the prompt."""
    kw = dict(steer={"sycophancy": 10.0}, layer=0, **KW)
    a = tiny_bench.sample("Hello", positions="generated", **kw)
    b = tiny_bench.sample("Hello", positions="all", **kw)
    assert a.logprobs[0][0] != b.logprobs[0][0]
    assert a.settings["steer_layers"] == {"sycophancy": 0}


def test_compare_shares_the_seed_and_scores_the_shift(tiny_bench, vec):
    same = steering.effect(tiny_bench, "Hello", 2, steer={"sycophancy": 0}, max_new_tokens=6, progress=False)
    assert same.unsteered.token_ids == same.steered.token_ids
    assert same.unsteered.seed == same.steered.seed
    assert all(abs(x) < 1e-4 for row in same.shift for x in row)

    cmp = steering.effect(tiny_bench, "Hello", 2, steer={"sycophancy": 8}, seed=3, max_new_tokens=6,
                           progress=False)
    assert cmp.unsteered.seed == cmp.steered.seed == 3
    unsteered = steering.token_logprobs(tiny_bench, cmp.steered.prompt_ids, cmp.steered.token_ids)
    for shift, steered, base in zip(cmp.shift, cmp.steered.logprobs, unsteered):
        assert len(shift) == len(steered)
        assert shift == pytest.approx([s - u for s, u in zip(steered, base)], abs=1e-6)
    assert any(abs(x) > 1e-3 for row in cmp.shift for x in row)
    frame = cmp.to_pandas()
    assert list(frame.columns) == ["unsteered", "steered", "mean_shift"]


def test_an_effect_reuses_a_matching_baseline_and_refuses_another(tiny_bench, vec, monkeypatch):
    from workbench.techniques import sampling

    first = steering.effect(tiny_bench, "Hello", 2, steer={"sycophancy": 4}, seed=5, max_new_tokens=4,
                            progress=False)
    calls = []
    original = sampling.sample
    monkeypatch.setattr(sampling, "sample", lambda *a, **k: calls.append(k.get("steer")) or original(*a, **k))
    again = steering.effect(tiny_bench, "Hello", 2, baseline=first.unsteered, steer={"sycophancy": -4}, seed=5,
                            max_new_tokens=4, progress=False)
    assert calls == [{"sycophancy": -4}]  # only the steered side ran
    assert again.unsteered is first.unsteered
    with pytest.raises(ValueError, match="baseline= must be the unsteered samples"):
        steering.effect(tiny_bench, "Hello", 2, baseline=first.unsteered, steer={"sycophancy": 4}, seed=6,
                        max_new_tokens=4, progress=False)
    calls.clear()
    zero = steering.effect(tiny_bench, "Hello", 2, steer={"sycophancy": 0.0}, seed=5, max_new_tokens=4,
                           progress=False)
    assert calls == [None] and zero.steered is zero.unsteered  # nothing to steer: one run


def test_a_cancelled_effect_raises_the_one_cancelled(tiny_bench, vec):
    import threading

    import workbench as wb

    stop = threading.Event()
    stop.set()
    with pytest.raises(wb.Cancelled, match="cancelled while sampling the steered side"):
        steering.effect(tiny_bench, "Hello", 2, steer={"sycophancy": 4}, max_new_tokens=4, cancel=stop,
                        progress=False)


def test_fuzz_is_seeded_and_leaves_sampling_rng_alone(tiny_bench):
    plain = tiny_bench.sample("Hello", **KW)
    a = tiny_bench.sample("Hello", fuzz=2.0, **KW)
    b = tiny_bench.sample("Hello", fuzz=2.0, **KW)
    c = tiny_bench.sample("Hello", fuzz=2.0, **{**KW, "seed": 6})
    assert a.logprobs == b.logprobs
    assert a.logprobs != plain.logprobs and a.logprobs != c.logprobs
    assert a.settings["fuzz"] == 2.0 and a.settings["fuzz_layer"] == tiny_bench.n_layers // 2
    assert tiny_bench.sample("Hello", fuzz=0.0, **KW).token_ids == plain.token_ids


def test_prefill_and_persona_work_with_steering(tiny_bench, vec):
    out = tiny_bench.sample("Hi", prefill="My secret goal is", steer={"sycophancy": 1.0}, **KW)
    assert out.prompt.endswith("My secret goal is") and out.settings["steer"]
    out = tiny_bench.sample("Hi", persona="user", steer={"sycophancy": 1.0}, **KW)
    assert out.persona == "user"


def test_from_latent_uses_the_decoder_direction(tiny_bench, trained):
    entry, _ = trained
    vec = vectors.from_latent(tiny_bench, 3, sae="tiny")
    assert vec.name == "tiny:3" and vec.layer == entry.layer
    direction = entry.sae.W_dec[3].detach().float()
    assert torch.allclose(vec.direction, direction / direction.norm(), atol=1e-6)
    with pytest.raises(ValueError, match=r"latent must be a whole number in 0\.\.63"):
        vectors.from_latent(tiny_bench, 64, sae="tiny")


def test_from_direction_takes_tensors_arrays_and_probes(tiny_bench):
    v = vectors.from_direction(tiny_bench, torch.ones(64) * 3, layer=0, name="ones")
    assert v.raw_norm == pytest.approx(24.0) and v.source == "tensor"
    assert vectors.from_direction(tiny_bench, torch.ones(64).numpy(), layer=0, name="np").layer == 0

    class Probe:
        direction = torch.arange(64.0)
        layer = 1

    tiny_bench.probes.register("toy", Probe())
    p = vectors.from_direction(tiny_bench, "toy", name="toy-probe")
    assert p.layer == 1 and p.source == "probe:toy"
    with pytest.raises(ValueError, match="Pass layer="):
        vectors.from_direction(tiny_bench, torch.ones(64), name="nolayer")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"steer": {"nope": 1.0}}, KeyError, r"No vector named 'nope'; registered: .*sycophancy"),
        ({"steer": {"sycophancy": 1.0}, "layer": 7}, ValueError, r"layer must be a whole number in 0..1 .* not 7"),
        ({"steer": {"sycophancy": float("nan")}}, ValueError,
         r"coefficient of 'sycophancy' must be a finite number, not nan"),
        ({"steer": {"sycophancy": math.inf}}, ValueError, r"not inf"),
        ({"steer": {"sycophancy": "1"}}, ValueError, r"not '1'"),
        ({"steer": {"sycophancy": 1.0}, "positions": "prompt"}, ValueError, r"'all', 'generated'.*'prompt'"),
        ({"fuzz": -1.0}, ValueError, r">= 0, not -1.0"),
        ({"fuzz": float("nan")}, ValueError, r"fuzz must be a finite number"),
        ({"steer": {"sycophancy": 1e6}}, ValueError,
         r"coefficient of 'sycophancy' is 1e\+06: that many times the layer's typical residual norm .* ±100"),
        ({"steer": {"sycophancy": -101}}, ValueError, r"is -101: .* within ±100"),
        ({"fuzz": 1e6}, ValueError, r"fuzz is 1e\+06"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(tiny_bench, vec, generate_calls, kwargs, error, message):
    with pytest.raises(error, match=message):
        tiny_bench.sample("Hello", **KW, **kwargs)
    assert generate_calls == []


def test_wrong_size_vectors_are_refused(tiny_bench, vec, generate_calls):
    with pytest.raises(ValueError, match=r"has 10 values, but .* hidden size 64"):
        vectors.from_direction(tiny_bench, torch.ones(10), layer=0, name="short")
    assert "short" not in tiny_bench.vectors
    alien = vectors.SteeringVector("alien", torch.ones(32) / 32**0.5, 0, 1.0, "tensor")
    tiny_bench.vectors.register("alien", alien)
    with pytest.raises(ValueError, match=r"'alien' has 32 values, but .* hidden size 64"):
        tiny_bench.sample("Hello", steer={"alien": 1.0}, **KW)
    with pytest.raises(ValueError, match="non-zero norm"):
        vectors.from_direction(tiny_bench, torch.zeros(64), layer=0, name="zero")
    with pytest.raises(ValueError, match=r"layer must be a whole number in 0..1"):
        vectors.from_contrast(tiny_bench, "sycophancy", layer=-1)
    with pytest.raises(ValueError, match=r"No contrast set named 'nosuch'; shipped: .*sycophancy"):
        vectors.from_contrast(tiny_bench, "nosuch", layer=0)
    assert generate_calls == []
