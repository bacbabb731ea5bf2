"""Every model family, on a tiny random model built from its own config class, checked against the raw model.

A cell passes only when the workbench's result agrees with the raw transformers model:
sampled log-probabilities are the model's own, greedy tokens equal ``generate``, a
steered run equals adding the vector by hand (a forward hook in the test), the logit
lens's last layer is the model's own output distribution (soft-capping included), and
a model diffed with itself changes by exactly zero. What a family lacks (per-neuron
value vectors of fused-expert MoE weights, a system role) is refused with a message
that says so.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import workbench as wb
from workbench import chat, layout
from workbench.techniques import scores, vectors

from ..families import FAMILIES, build

CONV = [{"role": "user", "content": "Hello! How can I help you today?"}]
WITH_SYSTEM = [{"role": "system", "content": "Reward models sometimes prefer longer answers."}, *CONV]
IDS = [f.name for f in FAMILIES]
_BENCHES: dict[str, wb.Workbench] = {}
_LOCK = threading.Lock()


@pytest.fixture(params=FAMILIES, ids=IDS)
def family(request):
    return request.param


@pytest.fixture
def bench(family, tmp_path_factory):
    with _LOCK:
        if family.name not in _BENCHES:
            folder = build(family, tmp_path_factory.mktemp(family.name))
            _BENCHES[family.name] = wb.Workbench(str(folder), journal=False, fold_system=family.system == "refused")
    session = _BENCHES[family.name]
    yield session
    session.vectors._items.clear()
    session.probes._items.clear()


def _ids(bench, conversation=CONV, **render):
    return torch.tensor([bench.render(conversation, **render).input_ids])


def _raw_greedy(bench, ids, steps, hook_layer=None, delta=None):
    handle = None
    if hook_layer is not None:
        block = layout.module_at(bench.module, bench.layout.layers)[hook_layer]

        def add(_module, _inputs, output):
            if isinstance(output, tuple):
                return (output[0] + delta, *output[1:])
            return output + delta

        handle = block.register_forward_hook(add)
    try:
        with torch.no_grad():
            out = bench.module.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=steps,
                                        min_new_tokens=steps, eos_token_id=None, pad_token_id=bench.pad_token_id)
    finally:
        if handle is not None:
            handle.remove()
    return out[0, ids.shape[1]:].tolist()


def _no_stops(bench, monkeypatch):
    """Decode to max_new_tokens whatever the random model emits (raw generate is told the same)."""
    from workbench.techniques import sampling

    monkeypatch.setattr(sampling, "stop_tokens", lambda *a, **k: [])


def test_layout_is_found_from_the_model_structure(bench, family):
    found = bench.layout
    assert layout.module_at(bench.module, found.layers) is not None and len(layout.module_at(
        bench.module, found.layers)) == 2
    assert layout.module_at(bench.module, found.unembed) is bench.module.get_output_embeddings()
    assert layout.module_at(bench.module, found.norm) is not None


def test_greedy_tokens_equal_generate(bench, monkeypatch):
    _no_stops(bench, monkeypatch)
    out = bench.sample(CONV, n=2, temperature=0, max_new_tokens=6, progress=False)
    expected = _raw_greedy(bench, _ids(bench), 6)
    assert out.token_ids == [expected, expected]


def test_sampled_logprobs_are_the_models_own(bench, monkeypatch):
    _no_stops(bench, monkeypatch)
    out = bench.sample(CONV, n=2, temperature=1.0, max_new_tokens=5, seed=3, progress=False)
    for ids, logprobs in zip(out.token_ids, out.logprobs):
        row = torch.tensor([out.prompt_ids + ids])
        with torch.no_grad():
            logits = bench.module(row).logits[0].float()
        start = len(out.prompt_ids)
        own = torch.log_softmax(logits[start - 1 : start - 1 + len(ids)], -1).gather(1, torch.tensor(ids)[:, None])
        assert logprobs == pytest.approx(own[:, 0].tolist(), abs=1e-4)


def test_a_steered_run_equals_adding_the_vector_by_hand(bench, monkeypatch):
    _no_stops(bench, monkeypatch)
    torch.manual_seed(0)
    vector = vectors.from_direction(bench, torch.randn(bench.hidden_size), layer=0, name="family-vec")
    out = bench.sample(CONV, n=1, temperature=0, max_new_tokens=5, steer={"family-vec": 4.0}, progress=False)
    delta = vector.delta(4.0).to(bench.dtype)
    assert out.token_ids[0] == _raw_greedy(bench, _ids(bench), 5, hook_layer=0, delta=delta)
    # and the steered log-probabilities are those of the model with the vector added by hand at every position
    block = layout.module_at(bench.module, bench.layout.layers)[0]
    handle = block.register_forward_hook(
        lambda _m, _i, output: (output[0] + delta, *output[1:]) if isinstance(output, tuple) else output + delta)
    try:
        with torch.no_grad():
            logits = bench.module(torch.tensor([out.prompt_ids + out.token_ids[0]])).logits[0].float()
    finally:
        handle.remove()
    start = len(out.prompt_ids)
    own = torch.log_softmax(logits[start - 1 : -1], -1).gather(1, torch.tensor(out.token_ids[0])[:, None])[:, 0]
    assert out.logprobs[0] == pytest.approx(own.tolist(), abs=1e-4)
    plain = bench.sample(CONV, n=1, temperature=0, max_new_tokens=5, progress=False)
    assert plain.token_ids[0] == _raw_greedy(bench, _ids(bench), 5)
    assert plain.logprobs[0] != pytest.approx(out.logprobs[0], abs=1e-3)  # the vector really changed the model


def test_the_logit_lens_last_layer_is_the_output_distribution(bench):
    acts = bench.activations("The quick brown fox jumps over the lazy dog.")
    with torch.no_grad():
        logits = bench.module(torch.tensor([acts.token_ids])).logits[0].float()  # soft-capping applied by the model
    top = logits.softmax(-1).topk(5, dim=-1)
    assert np.array_equal(acts.lens.token_ids[-1], top.indices.numpy())
    assert np.allclose(acts.lens.probs[-1], top.values.numpy(), atol=1e-5)


def test_a_model_diffed_with_itself_changes_by_exactly_zero(bench, family):
    result = bench.diff(bench, ["Hello!"], n_samples=1, max_new_tokens=3, top_neurons=0 if family.moe else 3,
                        progress=False)
    assert float(result.layers["mean_change_norm"].abs().max()) == 0.0
    assert float(result.layers["token_change_norm"].abs().max()) == 0.0
    if not family.moe:
        assert len(result.neurons) == 3 and float(result.neurons["change"].abs().max()) == 0.0
    assert result.verdict().startswith("no change")


def test_neurons_work_on_dense_mlps_and_moe_is_refused_saying_why(bench, family, monkeypatch):
    direction = torch.ones(bench.hidden_size)
    if family.moe:
        with pytest.raises(ValueError, match=r"mixture-of-experts model.*value vectors, neuron activations and neuron "
                                             r"edits are not available"):
            bench.value_vectors(direction, top=3)
        with pytest.raises(ValueError, match="mixture-of-experts"):
            bench.sample(CONV, n=1, max_new_tokens=2, neurons={(0, 1): ("scale", 2.0)}, progress=False)
        return
    _no_stops(bench, monkeypatch)
    ranked = bench.value_vectors(direction, top=3)
    assert len(ranked) == 3
    mlp = layout.mlp_layout(bench)
    width = layout.d_mlp(bench)
    assert layout.value_matrix(bench, 1).shape == (width, bench.hidden_size)
    same = bench.sample(CONV, n=1, temperature=0, max_new_tokens=4, neurons={(1, 0): ("scale", 1.0)}, progress=False)
    assert same.token_ids[0] == _raw_greedy(bench, _ids(bench), 4)
    clamp = bench.sample(CONV, n=1, temperature=0, max_new_tokens=4, neurons={(1, 5): ("clamp", 50.0)},
                         progress=False)
    down = layout.module_at(layout.module_at(bench.module, mlp.layers)[1], mlp.down)

    def clamp_hook(_module, inputs):
        x = inputs[0].clone()
        x[..., 5] = 50.0
        return (x, *inputs[1:])

    handle = down.register_forward_pre_hook(clamp_hook)
    try:
        assert clamp.token_ids[0] == _raw_greedy(bench, _ids(bench), 4)
    finally:
        handle.remove()
    frame = bench.neuron_activations([(1, 5)], ["Hello there"])
    assert list(frame["neuron"]) == [5]


def test_every_message_reaches_the_prompt_or_the_call_is_refused(bench, family):
    plain = bench.render(WITH_SYSTEM)
    assert all(message["content"] in plain.text for message in WITH_SYSTEM)
    fold = bench.fold_system or family.system == "carried"
    if family.system == "carried":  # Mistral's template carries the system text in the LAST user turn only, so a
        # prefilled reply (an assistant turn after it) would lose it: refused, naming the way out
        with pytest.raises(chat.TemplateError, match=r"dropped the system message.*fold_system=True"):
            bench.render(WITH_SYSTEM, prefill="My secret goal is")
    prompt = chat.render(bench.tokenizer, WITH_SYSTEM, prefill="My secret goal is", fold_system=fold)
    assert all(message["content"] in prompt.text for message in WITH_SYSTEM)
    assert prompt.text.endswith("My secret goal is")
    user = chat.render(bench.tokenizer, WITH_SYSTEM, persona="user", fold_system=fold)
    narrator = chat.render(bench.tokenizer, WITH_SYSTEM, persona="narrator", prefill=" And then", fold_system=fold)
    assert CONV[0]["content"] in user.text and narrator.text.endswith(" And then")
    if family.system == "refused":  # the same template without folding: refused, naming the option
        with pytest.raises(chat.TemplateError, match=r"refused this conversation.*fold_system=True"):
            chat.render(bench.tokenizer, WITH_SYSTEM)


def test_the_shipped_corpora_render_without_a_system_role(bench):
    from workbench import residual

    assert residual.natural_scale(bench, 1) > 0  # renders shipped chats, some with a system message
    texts = wb.corpora.sae_corpus(bench)[:50]
    assert all(isinstance(text, str) and text for text in texts)


def test_the_other_techniques_run(bench, family):
    from sae_lens import TopKSAE, TopKSAEConfig

    torch.manual_seed(0)
    sae = TopKSAE(TopKSAEConfig(d_in=bench.hidden_size, d_sae=32, k=4))
    entry = bench.saes.add(sae, layer=1, name="family-sae")
    acts = bench.activations(CONV, sae="family-sae", k=4)
    assert acts.top_latents.shape == (len(acts.tokens), 4)
    stats = bench.feature_stats("family-sae", corpus=["The quick brown fox jumps over the lazy dog."] * 8,
                                windows=4, context=16, progress=False)
    assert stats.density.shape == (32,)
    vectors.from_latent(bench, 3, sae="family-sae", name="family-latent")
    contrast = vectors.from_contrast(bench, "sycophancy", layer=1, limit=1, name="family-contrast")
    assert contrast.layer == 1 and contrast.scale > 0
    conversation = CONV if family.system == "carried" else WITH_SYSTEM  # (a prefill drops Mistral's system text)
    for persona, prefill in (("assistant", "My secret goal is"), ("user", None), ("narrator", " Then")):
        out = bench.sample(conversation, n=2, max_new_tokens=3, persona=persona, prefill=prefill, seed=0,
                           progress=False)
        assert len(out) == 2 and (prefill is None or out.prompt.endswith(prefill))
    fuzzed = bench.sample(CONV, n=2, max_new_tokens=3, fuzz=0.5, seed=1, progress=False)
    assert len(fuzzed) == 2
    vectors.from_direction(bench, torch.ones(bench.hidden_size), layer=1, name="family-ones")
    sweep = bench.sweep("family-ones", [-1.0, 0.0, 1.0], alignment=scores.alignment_score(limit=1),
                        helpfulness=scores.helpfulness_score(limit=1))
    assert list(sweep.coefficients) == [-1.0, 0.0, 1.0]
    probe = bench.probe(["You idiot.", "You fool.", "Shut up, moron.", "You are dumb."],
                        ["Thank you.", "Have a nice day.", "You are kind.", "Well done!"], layer=1, progress=False)
    assert 0.0 <= probe.accuracy <= 1.0
    found = bench.search(["a chocolate cake", "a dog", "more chocolate"], "chocolate cake", mode="semantic", k=2,
                         progress=False)
    assert len(found) == 2
    pairs = [{"prompt": "Hello?", "chosen": "Hello! How can I help?", "rejected": "Go away."}] * 4
    audit = bench.audit_preferences(pairs, sae="family-sae", progress=False)
    assert audit.summary["pairs"] == 4
    view = bench.show(CONV, lazy=False, data=["a chocolate cake", "a dog"], pairs=pairs, sae="family-sae")
    assert view.tab == "activations" and view.journal is not None
    bench.saes._items.pop(entry.name, None)
