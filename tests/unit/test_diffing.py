"""Model diffing on the tiny Llama: itself, a copy with one weight perturbed, a wrong shape."""

from __future__ import annotations

import math
import threading

import pytest
import torch

import workbench as wb
from workbench.techniques import diffing, vectors

PROMPTS = ["Hello! How can I help you today?", [{"role": "user", "content": "The quick brown fox"}]]
QUICK = {"n_samples": 2, "max_new_tokens": 6, "progress": False}


def _copy(tiny_model_dir, folder, edit=None, **config_changes):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if config_changes:
        config = LlamaConfig.from_pretrained(tiny_model_dir)
        for key, value in config_changes.items():
            setattr(config, key, value)
        torch.manual_seed(1)
        model = LlamaForCausalLM(config)
    else:
        model = LlamaForCausalLM.from_pretrained(tiny_model_dir, use_safetensors=True)
    if edit is not None:
        with torch.no_grad():
            edit(model)
    model.save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    return str(folder)


def test_a_model_against_itself_changes_nothing(tiny_bench, tiny_model_dir):
    for other in (tiny_bench, str(tiny_model_dir)):
        diff = tiny_bench.diff(other, PROMPTS, neurons=[(0, 3), (1, 5)], **QUICK)
        assert isinstance(diff, wb.ModelDiff)
        assert list(diff.layers["layer"]) == [0, 1]
        assert (diff.layers["mean_change_norm"].abs() < 1e-6).all()
        assert (diff.layers["token_change_norm"].abs() < 1e-6).all()
        assert diff.layers["projection"].isna().all()
        assert (diff.neurons["change"].abs() < 1e-6).all()
        assert diff.neurons["value_cosine"].tolist() == pytest.approx([1.0, 1.0])
        assert len(diff.samples) == len(PROMPTS) * QUICK["n_samples"]
        assert diff.samples["same"].all()
        assert diff.samples["text"].tolist()[::2] == ["Hello! How can I help you today?", "The quick brown fox"]


def _bump(layer):
    def edit(model):
        model.model.layers[layer].mlp.down_proj.weight[:, 5] += 0.5
    return edit


@pytest.mark.parametrize("layer", [0, 1])
def test_a_perturbed_weight_changes_its_layer_and_above_not_below(tiny_bench, tiny_model_dir, tmp_path, layer):
    other = _copy(tiny_model_dir, tmp_path / "bumped", _bump(layer))
    diff = diffing.diff(tiny_bench, other, PROMPTS, neurons=[(layer, 5), (layer, 6)], **QUICK)
    changes = dict(zip(diff.layers["layer"], diff.layers["token_change_norm"]))
    for at, change in changes.items():
        if at < layer:
            assert change == 0.0
        else:
            assert change > 1e-3
    bumped, untouched = diff.neurons.iloc[0], diff.neurons.iloc[1]
    assert bumped["value_cosine"] < 0.999 and untouched["value_cosine"] == pytest.approx(1.0)
    assert diff.other_name.endswith("bumped")
    chart = diff.chart().to_dict()
    assert chart["mark"]["type"] == "line"


def test_a_different_intermediate_size_is_refused_naming_the_parameter(tiny_bench, tiny_model_dir, tmp_path):
    other = _copy(tiny_model_dir, tmp_path / "wide", intermediate_size=96)
    with pytest.raises(ValueError, match=r"model\.layers\.0\.mlp\.down_proj\.weight is \[64, 128\] here "
                                         r"and \[64, 96\] in other"):
        tiny_bench.diff(other, PROMPTS, **QUICK)


def test_direction_as_a_tensor_and_as_a_registered_vector(tiny_bench, tiny_model_dir, tmp_path):
    other = _copy(tiny_model_dir, tmp_path / "bumped", _bump(0))
    raw = torch.randn(tiny_bench.hidden_size, generator=torch.Generator().manual_seed(3))
    vectors.from_direction(tiny_bench, raw, layer=1, name="diff-test")
    by_tensor = tiny_bench.diff(other, PROMPTS, direction=raw * 7.0, n_samples=0, progress=False)
    by_name = tiny_bench.diff(other, PROMPTS, direction="diff-test", n_samples=0, progress=False)
    by_object = tiny_bench.diff(other, PROMPTS, direction=tiny_bench.vectors["diff-test"], n_samples=0,
                                   progress=False)
    assert by_tensor.direction_source == "tensor" and by_name.direction_source == "vector:diff-test"
    assert by_object.direction_source == "vector:diff-test"
    assert by_object.layers["projection"].tolist() == pytest.approx(by_name.layers["projection"].tolist())
    assert by_tensor.layers["projection"].tolist() == pytest.approx(by_name.layers["projection"].tolist())
    assert by_tensor.layers["cosine"].tolist() == pytest.approx(by_name.layers["cosine"].tolist())
    row = by_name.layers.iloc[1]
    assert abs(row["projection"]) > 0
    assert row["cosine"] == pytest.approx(row["projection"] / row["mean_change_norm"])
    assert by_name.samples.empty
    assert "projection" in repr(by_name)


def test_any_object_with_a_direction_and_a_neuron_table(tiny_bench, tiny_model_dir):
    import pandas as pd

    class Probe:
        name = "toy"
        direction = torch.ones(tiny_bench.hidden_size)

    table = pd.DataFrame({"layer": [1, 0], "neuron": [2, 9], "cosine": [0.5, 0.4]})
    diff = tiny_bench.diff(tiny_bench, "Hello!", direction=Probe(), neurons=table, n_samples=0, progress=False)
    assert diff.direction_source == "probe:toy"
    assert list(zip(diff.neurons["layer"], diff.neurons["neuron"])) == [(1, 2), (0, 9)]
    assert (diff.layers["projection"] == 0).all()

    from workbench.techniques.neurons import value_vectors

    ranked = value_vectors(tiny_bench, torch.ones(tiny_bench.hidden_size), top=3)
    by_ranking = tiny_bench.diff(tiny_bench, "Hello!", neurons=ranked, n_samples=0, progress=False)
    assert list(zip(by_ranking.neurons["layer"], by_ranking.neurons["neuron"])) == ranked.neurons()


def test_bad_inputs_are_refused(tiny_bench):
    with pytest.raises(TypeError, match="Workbench"):
        tiny_bench.diff(42)
    with pytest.raises(ValueError, match="layer must be"):
        tiny_bench.diff(tiny_bench, "Hi", layers=[7], progress=False)
    with pytest.raises(ValueError, match="No vector or probe named 'nope'"):
        tiny_bench.diff(tiny_bench, "Hi", direction="nope", progress=False)
    with pytest.raises(ValueError, match="hidden size"):
        tiny_bench.diff(tiny_bench, "Hi", direction=torch.ones(3), progress=False)
    with pytest.raises(ValueError, match="No prompts"):
        tiny_bench.diff(tiny_bench, [], progress=False)
    with pytest.raises(ValueError, match="n_samples"):
        tiny_bench.diff(tiny_bench, "Hi", n_samples=-1, progress=False)


def test_cancel_and_progress(tiny_bench):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(wb.Cancelled):
        tiny_bench.diff(tiny_bench, PROMPTS, cancel=cancel, progress=False)
    calls = []
    tiny_bench.diff(tiny_bench, PROMPTS, batch_size=1, n_samples=1, max_new_tokens=2,
                       progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(calls), len(calls)) and len(calls) == 2 + 2 * len(PROMPTS)
    assert not math.isnan(diffing.diff(tiny_bench, tiny_bench, "Hi", n_samples=0,
                                          progress=False).layers["mean_change_norm"].iloc[0])
