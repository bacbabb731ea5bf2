"""Activation patching, on a tiny model with a planted effect whose layer and position are known exactly."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from workbench.techniques import patching

PLANTED_LAYER = 2
N_LAYERS = 4
CLEAN = "The quick fox jumps to the"
CORRUPTED = "The honest fox jumps to the"  # one token differs: position 1
POSITION = 1


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory):
    """A 4-layer Llama whose attention is off (zero output projection) in every layer but ``PLANTED_LAYER``.

    Until that layer each position's residual stream depends on its own token only, so what the
    corrupted token changes sits at its position; attention at ``PLANTED_LAYER`` is the one place
    it moves to the last position, where the prediction is read. Nothing reads it after that.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from ..conftest import build_tokenizer

    folder = tmp_path_factory.mktemp("planted")
    tokenizer = build_tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=N_LAYERS,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.eos_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for i, layer in enumerate(model.model.layers):
            if i == PLANTED_LAYER:
                layer.self_attn.o_proj.weight.mul_(8.0)  # a strong move, so the two runs' answers differ clearly
            else:
                layer.self_attn.o_proj.weight.zero_()
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def planted(planted_dir):
    import workbench as wb

    bench = wb.Workbench(str(planted_dir))
    clean, corrupted = (bench.tokenizer(t)["input_ids"] for t in (CLEAN, CORRUPTED))
    differ = [i for i, (a, b) in enumerate(zip(clean, corrupted)) if a != b]
    assert len(clean) == len(corrupted) and differ == [POSITION]
    return bench


def test_resid_patching_localises_the_planted_move(planted):
    result = patching.patch(planted, CLEAN, CORRUPTED, batch_size=7)
    last = len(result.tokens) - 1
    assert result.effect.shape == (N_LAYERS, len(result.tokens))
    assert result.p_clean != result.p_corrupted
    expected = np.zeros_like(result.effect)
    expected[:PLANTED_LAYER, POSITION] = 1.0  # before the move: all of it at the corrupted token
    expected[PLANTED_LAYER:, last] = 1.0  # from the planted layer on: all of it at the last token
    np.testing.assert_allclose(result.effect, expected, atol=1e-3)
    # the planted layer is the first whose last position restores the answer
    assert int(np.argmax(result.effect[:, last] > 0.5)) == PLANTED_LAYER
    np.testing.assert_allclose(result.probs[PLANTED_LAYER, last], result.p_clean, rtol=1e-4)


def test_attention_patching_finds_the_planted_cell_alone(planted):
    result = patching.patch(planted, CLEAN, CORRUPTED, site="attn_out")
    assert result.best() == (PLANTED_LAYER, len(result.tokens) - 1)
    off = result.effect.copy()
    off[PLANTED_LAYER, -1] = 0
    assert result.effect[PLANTED_LAYER, -1] == pytest.approx(1.0, abs=1e-3)
    assert np.abs(off).max() < 1e-3
    # a hook-name site with the layer written N is the same site
    named = patching.patch(planted, CLEAN, CORRUPTED, site="blocks.N.hook_attn_out", layers=[PLANTED_LAYER])
    np.testing.assert_allclose(named.effect[0], result.effect[PLANTED_LAYER], atol=1e-6)


def test_one_batch_or_many_give_the_same_matrix(planted):
    whole = patching.patch(planted, CLEAN, CORRUPTED, site="mlp_out", batch_size=100)
    split = patching.patch(planted, CLEAN, CORRUPTED, site="mlp_out", batch_size=3)
    np.testing.assert_allclose(whole.probs, split.probs, atol=1e-6)
    assert (whole.top_ids == split.top_ids).all()


def test_layers_positions_frame_chart_and_text(planted):
    result = patching.patch(planted, CLEAN, CORRUPTED, target=" the", layers=[1, 3], positions=[1, -1])
    assert result.layers == [1, 3] and result.positions == [1, len(result.tokens) - 1]
    assert result.target == " the"
    frame = result.to_pandas()
    assert len(frame) == 4 and set(frame.columns) >= {"layer", "position", "token", "corrupted_token", "prob",
                                                        "effect", "top_token"}
    assert frame.token[0] == " quick" and frame.corrupted_token[0] == " honest"
    spec = result.chart().to_dict()
    assert spec["mark"]["type"] == "rect" and spec["encoding"]["color"]["field"] == "effect"
    # the patched run's text: patching the last position after the planted layer restores the clean run's next
    # token (the first one generated); patching a cell that restores nothing leaves the corrupted run's
    from workbench.generation import generate

    def greedy(text):
        return generate(planted, [planted.tokenizer(text)["input_ids"]], max_new_tokens=3, temperature=0,
                        progress=False).token_ids[0]

    clean, corrupted = greedy(CLEAN), greedy(CORRUPTED)
    assert clean[0] != corrupted[0]
    last = len(result.tokens) - 1
    restored = patching.patched_tokens(planted, result._clean_ids, result._corrupted_ids, "resid_post", 3, last,
                                       max_new_tokens=3)
    assert restored[0] == clean[0] == result.top_ids[1, 1]
    untouched = patching.patched_tokens(planted, result._clean_ids, result._corrupted_ids, "resid_post", 3, 1,
                                        max_new_tokens=3)
    assert untouched == corrupted
    assert isinstance(result.text(3, last, max_new_tokens=3), str)
    with pytest.raises(ValueError, match="not a cell"):
        result.text(0, 1)
    assert "Patching(resid_post" in repr(result)


def test_different_lengths_are_refused_naming_both(planted):
    with pytest.raises(ValueError, match=r"clean prompt has 6 tokens and the corrupted one 8"):
        patching.patch(planted, CLEAN, "The quick brown fox jumps to the")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"target": " quick fox"}, "is 2 tokens"),
    ({"site": "nowhere"}, "not a site the workbench patches"),
    ({"layers": [9]}, r"layers must be indices in 0\.\.3"),
    ({"positions": []}, "at least one"),
    ({"batch_size": 0}, "batch_size"),
])
def test_bad_inputs_are_refused(planted, kwargs, message):
    with pytest.raises(ValueError, match=message):
        patching.patch(planted, CLEAN, CORRUPTED, **kwargs)


def test_same_prompt_has_nothing_to_restore(planted):
    with pytest.raises(ValueError, match="same probability in both runs"):
        patching.patch(planted, CLEAN, CLEAN)


def test_progress_and_cancel(planted):
    from workbench.errors import Cancelled

    seen = []
    patching.patch(planted, CLEAN, CORRUPTED, batch_size=8, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (24, 24) and len(seen) == 3
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled, match="after 0 of 24"):
        patching.patch(planted, CLEAN, CORRUPTED, cancel=cancel)


def test_patch_is_journaled(planted):
    planted.patch(CLEAN, CORRUPTED, site="attn_out")
    entry = planted.journal.last("patch")
    assert entry.error is None
    assert entry.summary["best"] == {"layer": PLANTED_LAYER, "position": 5, "effect": pytest.approx(1.0, abs=1e-3)}


def test_the_simulated_remote_backend_gives_the_same_matrix(planted, planted_dir):
    """Every block holds only envoys, tensors and workbench._traced helpers, so it runs where a server runs it."""
    import workbench as wb

    remote = wb.Workbench(str(planted_dir), remote="local", journal=False)
    for site in ("attn_out", "resid_post"):
        there = patching.patch(remote, CLEAN, CORRUPTED, site=site, batch_size=12)
        here = patching.patch(planted, CLEAN, CORRUPTED, site=site, batch_size=12)
        np.testing.assert_allclose(there.effect, here.effect, atol=1e-6)
        np.testing.assert_array_equal(there.top_ids, here.top_ids)
        assert (there.target_id, there.p_clean) == (here.target_id, pytest.approx(here.p_clean, abs=1e-6))
    # one request per site: the clean and corrupted pass and both batches of patched runs in one nnsight session,
    # the clean activations kept on the server: what comes back is a probability and a token per patched run
    assert len(remote.requests) == 2 and [r.kind for r in remote.requests] == ["session", "session"]
    cells = len(here.layers) * len(here.positions)
    assert all(r.received < 4000 + 8 * cells for r in remote.requests)
    # a given target is resolved here and read there
    there = patching.patch(remote, CLEAN, CORRUPTED, target=here.target_id, site="resid_post", layers=[1, 2])
    np.testing.assert_allclose(there.effect, here.effect[1:3], atol=1e-6)
