import numpy as np
import pytest

import workbench as wb
from workbench.techniques import features
from workbench.widgets._buffers import array_serialization, from_buffer
from workbench.widgets.activations import payload_bytes


def test_panel_state_travels_as_buffers(trained, tiny_bench):
    panel = wb.ActivationPanel(tiny_bench, "The quick brown fox", sae="tiny", k=4)
    acts = panel.activations
    assert panel.tokens == acts.tokens and panel.sae == "tiny" and panel.layer == 1
    sent = array_serialization["to_json"](panel._top_latents, panel)  # what the trait's serializer sends
    assert isinstance(sent["view"], (memoryview, bytes))
    assert sent["dtype"] == "int32" and sent["shape"] == [len(acts.tokens), 4]
    state = panel.get_state(["_top_values"])["_top_values"]
    assert np.array_equal(from_buffer(state), acts.top_values)
    assert payload_bytes(panel) < 200 + 8 * 4 * len(acts.tokens)


def test_panel_requests(trained, tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    panel = wb.ActivationPanel(tiny_bench, "The quick brown fox helps", sae="tiny", k=4)
    tiny_bench.cache.feature_stats.clear()
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
    panel.on_steer(lambda latent, s: seen.append((latent, s)))
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


def test_a_registered_probe_colours_the_tokens_by_its_score(tiny_bench, monkeypatch):
    from workbench.registry import Registry

    monkeypatch.setattr(tiny_bench, "probes", Registry("probe"))
    panel = wb.ActivationPanel(tiny_bench, "good morning to you", k=4)
    assert panel.probes == [] and panel.selected_probe == ""
    with pytest.raises(ValueError, match=r"No probe named 'mood'.*none yet"):
        panel.show_probe("mood")
    positive = [f"good {w} morning" for w in "abcdefgh"]
    negative = [f"bad {w} evening" for w in "abcdefgh"]
    found = tiny_bench.probe(positive, negative, layer=1, progress=False, name="mood")
    assert panel.probes == ["mood"]  # the panel hears of the registration
    reply = panel.probe("mood")
    assert reply["layer"] == 1 and panel.selected_probe == "mood"
    scores = from_buffer(reply["values"])
    # from the saved residuals, the same as a fresh forward pass through Probe.score
    assert np.allclose(scores, found.score(tiny_bench, "good morning to you").scores, atol=1e-5)
    assert scores.shape == (len(panel.tokens),) and ((scores >= 0) & (scores <= 1)).all()
    panel.run("bad evening")
    assert np.allclose(panel.activations.probe_scores("mood"), found.score(tiny_bench, "bad evening").scores, atol=1e-5)
    assert panel.probe("") == {"name": ""} and panel.selected_probe == ""


def test_registry_observers_are_called_and_a_gone_panel_is_dropped():
    import gc

    from workbench.registry import Registry

    registry, seen = Registry("probe"), []
    registry.observe(seen.append)  # a built-in bound method is held as is

    class Listener:
        def heard(self, name):
            seen.append(("listener", name))

    listener = Listener()
    registry.observe(listener.heard)  # a bound method is held weakly
    registry.register("a", 1)
    del listener
    gc.collect()
    registry.register("b", 2)
    assert seen == ["a", ("listener", "a"), "b"] and len(registry._observers) == 1


def test_the_feature_view_carries_the_explanation_and_a_published_one(trained, tiny_bench, tmp_path, monkeypatch):
    from workbench.techniques import explain

    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    tiny_bench.cache.explanations.clear()
    texts = [" ".join(["the quick brown fox helps the user"] * 12)] * 20
    stats = features.feature_stats(tiny_bench, "tiny", texts, windows=8, context=32, progress=False)
    monkeypatch.setattr(tiny_bench, "feature_stats", lambda sae=None, **kwargs: stats)
    panel = wb.ActivationPanel(tiny_bench, "The quick brown fox helps", sae="tiny", k=4)
    row = panel.token(2)["features"][0]
    latent = row["latent"]
    assert row["explanation"] == explain.rules_explanation(stats, latent)  # the token view names it too
    shown = panel.feature(latent)
    assert shown["explanation"]["text"] == explain.rules_explanation(stats, latent)
    assert shown["explanation"]["explainer"] == "rules" and "published" not in shown
    rows = [{"modelId": "m", "layer": "1", "index": latent, "description": "<img src=x onerror=alert(1)> foxes"}]
    tiny_bench.import_explanations(rows, "tiny", dashboard_id="m/1")
    # sent as the text it is; the front-end sets it with textContent
    assert panel.feature(latent)["published"] == "<img src=x onerror=alert(1)> foxes"
