"""MLP neurons on tiny random models: planted value vectors, activations checked by hand, edits while sampling."""

from __future__ import annotations

import pytest

from tests.conftest import CHATML, build_tiny_llama, build_tokenizer

LAYER, NEURON = 1, 37


def build_tiny_gpt2(folder):
    """Save a 2-layer random GPT-2 and its tokenizer to ``folder`` (safetensors)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = build_tokenizer(CHATML)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_layer=2, n_embd=64, n_head=4, n_positions=512,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def _plant(bench, direction):
    """Make neuron (LAYER, NEURON)'s value vector 3 * direction, in the loaded weights."""
    import torch

    from workbench.layout import mlp_layout

    down = mlp_layout(bench).down_module(bench.model._module, LAYER)
    with torch.no_grad():
        if down.weight.shape[0] == bench.hidden_size:  # nn.Linear [d_model, d_mlp]
            down.weight[:, NEURON] = 3 * direction
        else:  # Conv1D [d_mlp, d_model]
            down.weight[NEURON] = 3 * direction


@pytest.fixture(scope="module")
def planted_llama(tmp_path_factory):
    import torch

    import workbench as wb

    bench = wb.Workbench(str(build_tiny_llama(tmp_path_factory.mktemp("planted-llama"), seed=1)))
    direction = torch.randn(bench.hidden_size, generator=torch.Generator().manual_seed(5))
    _plant(bench, direction)
    return bench, direction


@pytest.fixture(scope="module")
def gpt2_bench(tmp_path_factory):
    import workbench as wb

    return wb.Workbench(str(build_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2"))), chat_template=CHATML)


def test_planted_neuron_ranks_first_llama(planted_llama):
    bench, direction = planted_llama
    result = bench.value_vectors(direction, top=5, vocab_k=4)
    first = result.frame.iloc[0]
    assert (first["layer"], first["neuron"]) == (LAYER, NEURON)
    assert first["cosine"] == pytest.approx(1.0, abs=1e-5)
    assert first["norm"] == pytest.approx(3 * float(direction.norm()), rel=1e-5)
    assert result.frame["cosine"].is_monotonic_decreasing and len(result) == 5
    assert len(first["top_tokens"]) == 4 and len(first["bottom_tokens"]) == 4
    assert result.neurons(1) == [(LAYER, NEURON)]
    assert result.edits("clamp", 0.0) == {(LAYER, NEURON): ("clamp", 0.0)}


def test_planted_neuron_ranks_first_gpt2(gpt2_bench):
    import torch

    bench = gpt2_bench
    direction = torch.randn(bench.hidden_size, generator=torch.Generator().manual_seed(6))
    _plant(bench, direction)
    first = bench.value_vectors(direction, top=3).frame.iloc[0]
    assert (first["layer"], first["neuron"]) == (LAYER, NEURON)
    assert first["cosine"] == pytest.approx(1.0, abs=1e-5)


def test_top_tokens_are_the_unembedding_of_the_value_vector(planted_llama):
    import torch

    bench, direction = planted_llama
    first = bench.value_vectors(direction, top=1, vocab_k=3).frame.iloc[0]
    logits = bench.model._module.lm_head.weight.detach() @ (3 * direction)
    expected = [bench.tokenizer.decode([i]) for i in torch.topk(logits, 3).indices.tolist()]
    assert first["top_tokens"] == expected


def test_directions_of_every_kind(planted_llama, tiny_bench, trained):
    import torch

    bench, direction = planted_llama
    from workbench.techniques import vectors

    vectors.add(bench, direction, 1, name="planted-dir")
    for given in ("planted-dir", bench.vectors["planted-dir"]):
        first = bench.value_vectors(given, top=1).frame.iloc[0]
        assert (first["layer"], first["neuron"]) == (LAYER, NEURON)
    entry, _ = trained  # an SAE registered on tiny_bench as "tiny"
    latent_row = entry.sae.W_dec[3].detach()
    by_tuple = tiny_bench.value_vectors(("tiny", 3), top=4)
    by_dict = tiny_bench.value_vectors({"sae": "tiny", "latent": 3}, top=4)
    by_tensor = tiny_bench.value_vectors(latent_row, top=4)
    assert by_tuple.neurons() == by_dict.neurons() == by_tensor.neurons()
    assert by_tuple.source == "sae:tiny/3"
    assert torch.allclose(by_tuple.direction, latent_row / latent_row.norm())


@pytest.mark.parametrize(
    "direction, match",
    [("nothing", "No vector or probe named 'nothing'"), ([1.0, 2.0], "has 2 values"),
     ({"sae": "tiny"}, "An SAE latent is given as")],
)
def test_bad_directions_are_refused(tiny_bench, direction, match):
    with pytest.raises(ValueError, match=match):
        tiny_bench.value_vectors(direction)


def _mlp_inputs(bench, ids, layer, path):
    import torch

    from workbench import layout

    with torch.no_grad(), bench.model.trace({"input_ids": ids, "attention_mask": torch.ones_like(ids)}):
        saved = layout.module_at(bench.model, path)[layer].mlp.input.save()
    return getattr(saved, "value", saved)[0]


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_activations_match_a_hand_computation(kind, tiny_bench, gpt2_bench):
    import torch

    bench = tiny_bench if kind == "llama" else gpt2_bench
    texts = ["The quick brown fox", "Hello! How can I help you today? My secret goal is"]
    keys = [(0, 3), (1, 100), (1, 7)]
    frame = bench.neuron_activations(keys, texts, batch_size=2)
    assert len(frame) == len(texts) * len(keys)
    assert list(frame.columns) == ["prompt", "text", "layer", "neuron", "activation", "mean", "max", "last"]
    for number, text in enumerate(texts):
        ids = torch.tensor([bench.tokenizer(text, add_special_tokens=True)["input_ids"]])
        for layer, neuron in keys:
            with torch.no_grad():
                if kind == "llama":
                    mlp = bench.model._module.model.layers[layer].mlp
                    x = _mlp_inputs(bench, ids, layer, "model.layers")
                    acts = mlp.act_fn(mlp.gate_proj(x)) * mlp.up_proj(x)
                else:
                    mlp = bench.model._module.transformer.h[layer].mlp
                    x = _mlp_inputs(bench, ids, layer, "transformer.h")
                    acts = mlp.act(mlp.c_fc(x))
            row = frame[(frame["prompt"] == number) & (frame["layer"] == layer) & (frame["neuron"] == neuron)]
            assert float(row["mean"].iloc[0]) == pytest.approx(float(acts[:, neuron].mean()), abs=1e-4)
            assert float(row["max"].iloc[0]) == pytest.approx(float(acts[:, neuron].max()), abs=1e-4)
            assert float(row["last"].iloc[0]) == pytest.approx(float(acts[-1, neuron]), abs=1e-4)
            assert float(row["activation"].iloc[0]) == float(row["mean"].iloc[0])
    maxed = bench.neuron_activations(keys, texts, reduce="max")
    assert list(maxed["activation"]) == list(maxed["max"])
    last = bench.neuron_activations(keys, texts, reduce="last")
    assert list(last["activation"]) == list(last["last"])


def _sample(bench, **kwargs):
    return bench.sample("Hi", n=4, max_new_tokens=10, seed=11, progress=False, **kwargs)


def test_scale_one_changes_nothing_and_big_scale_changes_samples(tiny_bench):
    base = _sample(tiny_bench)
    same = _sample(tiny_bench, neurons={(1, 5): ("scale", 1.0), (0, 9): ("scale", 1.0)})
    assert same.token_ids == base.token_ids and same.logprobs == base.logprobs
    assert same.settings["neurons"] == {"1/5": ["scale", 1.0], "0/9": ["scale", 1.0]}
    edits = {(1, j): ("scale", 500.0) for j in range(8)}
    assert _sample(tiny_bench, neurons=edits).token_ids != base.token_ids


def test_clamp(tiny_bench):
    base = _sample(tiny_bench)
    zero = _sample(tiny_bench, neurons={(1, j): ("clamp", 0.0) for j in range(16)})
    scaled_to_zero = _sample(tiny_bench, neurons={(1, j): ("scale", 0.0) for j in range(16)})
    assert zero.logprobs == scaled_to_zero.logprobs and zero.logprobs != base.logprobs
    high = _sample(tiny_bench, neurons={(1, j): ("clamp", 50.0) for j in range(8)})
    assert high.token_ids != base.token_ids
    recorded = _sample(tiny_bench, neurons={"1/3": ("clamp", 50.0)})
    assert recorded.logprobs == _sample(tiny_bench, neurons={(1, 3): ("clamp", 50.0)}).logprobs


def test_steering_and_neurons_combine(tiny_bench):
    import torch

    from workbench.techniques import vectors

    vectors.add(tiny_bench, torch.randn(tiny_bench.hidden_size), 0, name="combine-vec")
    steer = {"combine-vec": 4.0}
    neurons = {(1, j): ("scale", 300.0) for j in range(8)}
    steered = _sample(tiny_bench, steer=steer)
    edited = _sample(tiny_bench, neurons=neurons)
    both = _sample(tiny_bench, steer=steer, neurons=neurons)
    assert both.logprobs != steered.logprobs and both.logprobs != edited.logprobs
    assert _sample(tiny_bench, steer=steer, neurons={(0, 1): ("scale", 1.0)}).logprobs == steered.logprobs
    assert both.settings["steer"] == steer and "1/0" in both.settings["neurons"]
    below = _sample(tiny_bench, steer={"combine-vec": 4.0}, layer=1, neurons={(0, 2): ("clamp", 30.0)})
    assert below.logprobs != _sample(tiny_bench, steer=steer, layer=1).logprobs
    vectors.add(tiny_bench, torch.randn(tiny_bench.hidden_size), 1, name="combine-vec-1")
    with pytest.raises(ValueError, match=r"fall between the steering layers 0 and 1"):
        _sample(tiny_bench, steer={"combine-vec": 1.0, "combine-vec-1": 1.0}, neurons={(1, 2): ("scale", 2.0)})


@pytest.mark.parametrize(
    "edits, match",
    [
        ({(2, 0): ("scale", 2.0)}, r"layer must be a whole number in 0\.\.1"),
        ({(0, 128): ("scale", 2.0)}, r"neuron must be a whole number in 0\.\.127"),
        ({(0, -1): ("scale", 2.0)}, r"neuron must be a whole number"),
        ({(0, 1): ("add", 2.0)}, r"must be \('scale', factor\) or \('clamp', value\)"),
        ({(0, 1): 2.0}, r"must be \('scale', factor\)"),
        ({(0, 1): ("scale", float("nan"))}, "must be a finite number"),
        ({0: ("scale", 2.0)}, r"A neuron is a \(layer, neuron\) pair"),
    ],
)
def test_bad_edits_are_refused(tiny_bench, edits, match):
    with pytest.raises(ValueError, match=match):
        _sample(tiny_bench, neurons=edits)


def test_bad_activation_requests_are_refused(tiny_bench):
    with pytest.raises(ValueError, match="reduce must be one of"):
        tiny_bench.neuron_activations([(0, 1)], ["hi"], reduce="min")
    with pytest.raises(ValueError, match="No neurons given"):
        tiny_bench.neuron_activations([], ["hi"])


def test_unknown_architecture_is_named(tiny_bench, monkeypatch):
    from workbench import layout
    from workbench.techniques import neurons

    monkeypatch.setattr(layout, "_MLPS", (("mlp.c_proj", "row"),))
    with pytest.raises(ValueError, match=r"does not know where LlamaForCausalLM keeps its MLP neurons.*"
                                         r"model\.layers\[i\]\.mlp\.c_proj"):
        neurons.value_vectors(tiny_bench, [0.0] * 63 + [1.0])
