import json
import threading

import numpy as np
import pytest
import torch

import workbench as wb
from workbench import residual, saes
from workbench.techniques import features

from ..conftest import sae_corpus_texts as corpus


def test_training_saves_registers_and_reports(trained, tiny_bench):
    entry, folder = trained
    assert (folder / "cfg.json").is_file() and (folder / "sae_weights.safetensors").is_file()
    assert "tiny" in tiny_bench.saes and entry.layer == 1 and entry.d_sae == 64
    report = entry.report
    assert 0.0 < report.explained_variance <= 1.0
    assert 0 < report.mean_l0 <= 4
    assert 0.0 <= report.dead_fraction <= 1.0 and report.n_eval_tokens > 0
    assert report.n_train_tokens >= 2900
    saved = json.loads((folder / saes.REPORT).read_text())
    assert saved["explained_variance"] == report.explained_variance
    cfg = json.loads((folder / "cfg.json").read_text())
    assert cfg["metadata"]["hook_name"] == "model.layers.1"
    assert "tiny" in repr(tiny_bench) and "EV" in repr(tiny_bench)


def test_load_path_round_trip(trained, tiny_bench):
    entry, folder = trained
    again = tiny_bench.saes.load_path(folder, name="again")
    try:
        assert again.layer == 1  # read from the hook name
        for key, value in entry.sae.state_dict().items():
            assert torch.equal(value, again.sae.state_dict()[key])
        assert again.report.explained_variance == entry.report.explained_variance
    finally:
        tiny_bench.saes._items.pop("again")


def test_training_beats_the_mean_on_held_out_text(trained):
    """An SAE that learned nothing would have explained variance near 0."""
    assert trained[0].report.explained_variance > 0.3


def test_add_refuses_a_mismatched_sae(tiny_bench):
    from sae_lens import TopKSAE, TopKSAEConfig

    wrong = TopKSAE(TopKSAEConfig(d_in=32, d_sae=16, k=2))
    wrong.cfg.metadata.hook_name = "model.layers.0"
    with pytest.raises(ValueError, match=r"inputs of size 32.*hidden size 64"):
        tiny_bench.saes.add(wrong)
    right = TopKSAE(TopKSAEConfig(d_in=64, d_sae=16, k=2))
    with pytest.raises(ValueError, match=r"Cannot tell which layer.*0\.\.1"):
        tiny_bench.saes.add(right)
    with pytest.raises(ValueError, match=r"layer must be a whole number in 0\.\.1"):
        tiny_bench.saes.add(right, layer=5)
    right.cfg.metadata.hook_name = "blocks.0.hook_resid_pre"
    with pytest.raises(ValueError, match="embeddings"):
        tiny_bench.saes.add(right)
    with pytest.raises(TypeError, match="sae_lens SAE"):
        tiny_bench.saes.add(object(), layer=0)
    assert "layer" not in " ".join(n for n in tiny_bench.saes.names() if n.startswith("layer"))


def test_layer_from_hook_names():
    assert saes.layer_from_hook("blocks.7.hook_resid_post") == 7
    assert saes.layer_from_hook("blocks.7.hook_resid_pre") == 6
    assert saes.layer_from_hook("model.layers.3") == 3
    assert saes.layer_from_hook("transformer.h.2") == 2
    assert saes.layer_from_hook("blocks.1.attn.hook_z") is None


def test_load_path_needs_an_sae_folder(tiny_bench, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no cfg\.json"):
        tiny_bench.saes.load_path(tmp_path)


def test_unknown_sae_name_lists_registered(trained, tiny_bench):
    with pytest.raises(KeyError, match=r"No SAE named 'nope'; registered: ([\w-]+, )*tiny"):
        tiny_bench.activations("hello", sae="nope")


def test_cancelled_training_saves_and_registers_nothing(tiny_bench, tmp_path):
    event = threading.Event()
    event.set()
    with pytest.raises(wb.Cancelled):
        tiny_bench.saes.train(0, corpus(50), d_sae=32, k=2, tokens=500, context=16, batch_size=64,
                              save_to=tmp_path / "never", name="never", cancel=event, progress=False)
    assert not (tmp_path / "never").exists() and "never" not in tiny_bench.saes


def test_fewer_activations_than_one_batch_are_refused_before_collecting(tiny_bench, tmp_path, monkeypatch):
    # the trainer draws whole batches only: with fewer activations than one it would wait for ever
    monkeypatch.setattr(tiny_bench.saes, "collect", lambda *a, **k: pytest.fail("collected"))
    with pytest.raises(ValueError, match=r"fewer than one batch of 4096: lower batch_size"):
        tiny_bench.saes.train(0, corpus(50), d_sae=32, k=2, tokens=500, context=16, batch_size=4096,
                              save_to=tmp_path / "never", name="never", progress=False)
    assert not (tmp_path / "never").exists() and "never" not in tiny_bench.saes


def test_collect_stops_at_the_layer_and_matches_hidden_states(tiny_bench):
    rows = torch.randint(10, 300, (3, 12))
    got = residual.layer_outputs(tiny_bench, rows, layers=[0, 1])
    with torch.no_grad():
        hidden = tiny_bench.model._module(rows, output_hidden_states=True).hidden_states
    assert torch.allclose(got[0], hidden[1], atol=1e-5)
    # the last hidden state has the final norm applied; layer 1's raw output feeds it
    norm = tiny_bench.model._module.model.norm
    assert torch.allclose(norm(got[1]), hidden[2], atol=1e-5)


def test_activations_top_latents_match_a_direct_encode(trained, tiny_bench):
    entry, _ = trained
    acts = tiny_bench.activations("The quick brown fox helps the user.", sae="tiny", k=8)
    assert acts.sae == "tiny" and acts.layer == 1
    assert acts.top_latents.shape == acts.top_values.shape == (len(acts.tokens), 8)
    assert acts.top_latents.dtype == np.int32 and acts.top_values.dtype == np.float32
    ids = torch.tensor([acts.token_ids])
    with torch.no_grad():
        layer1 = tiny_bench.model._module.model.layers[1]
        captured = []
        handle = layer1.register_forward_hook(lambda m, i, o: captured.append(o[0] if isinstance(o, tuple) else o))
        try:
            tiny_bench.model._module(ids)
        finally:
            handle.remove()
        dense = entry.sae.encode(captured[0][0])
    for pos in range(len(acts.tokens)):
        assert np.allclose(acts.feature(int(acts.top_latents[pos, 0]))[pos], acts.top_values[pos, 0], atol=1e-5)
        assert np.allclose(np.sort(dense[pos].numpy())[::-1][:8].clip(0), acts.top_values[pos], atol=1e-4)
    assert (np.diff(acts.top_values, axis=1) <= 1e-6).all()
    with pytest.raises(ValueError, match="latent must be"):
        acts.feature(64)
    frame = acts.top_features(0)
    assert list(frame.columns) == ["latent", "activation"]


def test_logit_lens_matches_the_models_own_logits(tiny_bench):
    acts = tiny_bench.activations("Hello! How can I help you today?", k=4)
    lens = acts.lens
    assert lens.token_ids.shape == (tiny_bench.n_layers, len(acts.tokens), 5)
    with torch.no_grad():
        logits = tiny_bench.model._module(torch.tensor([acts.token_ids])).logits[0]
    top = logits.softmax(-1).topk(5, dim=-1)
    assert np.array_equal(lens.token_ids[-1], top.indices.numpy())
    assert np.allclose(lens.probs[-1], top.values.numpy(), atol=1e-5)
    assert lens.tokens[-1][0][0] == tiny_bench.tokenizer.decode([int(lens.token_ids[-1, 0, 0])])


def test_activations_of_a_conversation_use_the_chat_template(tiny_bench):
    acts = tiny_bench.activations([{"role": "user", "content": "Hi"}], k=2)
    assert acts.text == "<|im_start|>user\nHi<|im_end|>\n"
    assert "".join(acts.tokens) == acts.text


def test_bad_activation_input(tiny_bench):
    with pytest.raises(ValueError, match="empty"):
        tiny_bench.activations("")
    with pytest.raises(ValueError, match="k must be"):
        tiny_bench.activations("hi", k=0)


def test_feature_stats_are_real_and_cached(trained, tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    entry, _ = trained
    texts = corpus(80, seed=1)
    stats = features.feature_stats(tiny_bench, "tiny", texts, windows=40, context=32, progress=False)
    assert stats.density.shape == (64,) and ((stats.density >= 0) & (stats.density <= 1)).all()
    # density sums to the mean L0 over the corpus tokens
    assert 0 < stats.density.sum() <= 4 + 1e-4
    latent = int(np.argmax(stats.density))
    detail = stats.feature(latent)
    values = [e["activation"] for e in detail.examples]
    assert values == sorted(values, reverse=True) and len(values) > 0
    # the top example really activates the latent that much
    flat = int(stats.top_index[0, latent])
    row, pos = divmod(flat, stats.windows.shape[1])
    acts = tiny_bench.saes.collect(1, stats.windows[row : row + 1], progress=False)
    assert abs(float(saes.encode(entry.sae, acts)[pos - 1, latent]) - values[0]) < 1e-3
    # promoted tokens are the decoder direction through the unembedding
    logits = entry.sae.W_dec[latent].detach() @ tiny_bench.model._module.lm_head.weight.detach().T
    assert [t for t, _ in detail.promoted] == [tiny_bench.tokenizer.decode([int(i)]) for i in logits.topk(10).indices]
    table = stats.lookup("fox")
    assert list(table.columns) == ["latent", "mean_activation", "density", "occurrences"]
    assert (table["occurrences"] > 0).all()
    # the second call reads the disk cache instead of recomputing
    monkeypatch.setattr(features, "compute", lambda *a, **k: pytest.fail("recomputed"))
    again = features.feature_stats(tiny_bench, "tiny", texts, windows=40, context=32, progress=False)
    assert np.array_equal(again.top_index, stats.top_index)
