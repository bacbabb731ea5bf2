import numpy as np
import pytest

import workbench as wb
from workbench import features
from workbench.widgets._buffers import from_buffer
from workbench.widgets.activations import payload_bytes



def test_panel_state_travels_as_buffers(trained, tiny_bench):
    panel = wb.ActivationPanel(tiny_bench, "The quick brown fox", sae="tiny", k=4)
    acts = panel.activations
    assert panel.tokens == acts.tokens and panel.sae == "tiny" and panel.layer == 1
    assert isinstance(panel._top_latents["view"], (memoryview, bytes))
    assert panel._top_latents["dtype"] == "int32" and panel._top_latents["shape"] == [len(acts.tokens), 4]
    assert np.array_equal(from_buffer(panel._top_values), acts.top_values)
    assert payload_bytes(panel) < 200 + 8 * 4 * len(acts.tokens)


def test_panel_requests(trained, tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    panel = wb.ActivationPanel(tiny_bench, "The quick brown fox helps", sae="tiny", k=4)
    tiny_bench._feature_stats.clear()
    texts = [" ".join(["the quick brown fox helps the user"] * 12)] * 20

    def small_stats(sae=None, **kwargs):  # the panel asks the session; give it a small corpus
        return features.feature_stats(tiny_bench, sae, texts, windows=8, context=32, progress=False)

    monkeypatch.setattr(tiny_bench, "feature_stats", small_stats)
    detail = panel.token(2)
    assert detail["token"] == panel.tokens[2] and panel.selected_token == 2
    latent = detail["features"][0]["latent"]
    assert {"latent", "activation", "density", "promoted"} <= set(detail["features"][0])
    feature = panel.feature(latent)
    assert np.allclose(from_buffer(feature["values"]), panel.activations.feature(latent))
    assert len(feature["promoted"]) == 10
    grid = panel.lens()
    assert from_buffer(grid["ids"]).shape == (tiny_bench.n_layers, len(panel.tokens))
    seen = []
    panel.on_steer(lambda l, s: seen.append((l, s)))
    assert panel.steer(latent) == {"latent": latent, "sae": "tiny"}
    assert panel.steer_requests == [latent] and seen == [(latent, "tiny")]
    with pytest.raises(ValueError, match="token index"):
        panel.token(99)
    with pytest.raises(ValueError, match="Type some text"):
        panel.run("  ")
    assert panel.run("A new text")["tokens"] == len(panel.tokens)
    assert panel.text == "A new text"


def test_panel_without_text_says_what_to_do(tiny_bench):
    panel = wb.ActivationPanel(tiny_bench)
    with pytest.raises(ValueError, match="press Run"):
        panel.lens()
