"""Linear probes on the tiny random Llama: a planted token is linearly decodable, shuffled labels are not."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import workbench as wb
from tests.conftest import WORDS

PLANTED = "chocolate"


def _texts(n: int, planted: bool, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = [w for w in WORDS if PLANTED not in w]
    out = []
    for _ in range(n):
        chosen = list(rng.choice(words, size=int(rng.integers(3, 7))))
        if planted:
            chosen.insert(int(rng.integers(0, len(chosen) + 1)), PLANTED)
        out.append(" ".join(chosen))
    return out


@pytest.fixture(scope="module")
def sets():
    return _texts(80, True, 1), _texts(80, False, 2)


@pytest.fixture(scope="module")
def planted_probe(tiny_bench, sets):
    positive, negative = sets
    return tiny_bench.probe(positive, negative, name="planted", progress=False)


def test_planted_token_is_decoded_at_every_layer(planted_probe, tiny_bench):
    probe = planted_probe
    assert probe.accuracy >= 0.95 and probe.auroc >= 0.95
    assert list(probe.per_layer["layer"]) == list(range(tiny_bench.n_layers))
    assert set(probe.per_layer.columns) >= {"layer", "accuracy", "auroc", "train_accuracy"}
    best = probe.per_layer.set_index("layer").loc[probe.layer]
    assert best["accuracy"] == probe.per_layer["accuracy"].max()
    assert probe.n == 160 and probe.direction.shape == (tiny_bench.hidden_size,)
    assert tiny_bench.probes["planted"] is probe
    assert set(probe.features) == set(range(tiny_bench.n_layers))
    assert probe.features[0].shape == (160, tiny_bench.hidden_size)


def test_direction_is_in_residual_units(planted_probe):
    """direction @ h + bias on the cached raw activations separates the sets like the probe does."""
    probe = planted_probe
    logits = probe.logits(probe.features[probe.layer])
    assert ((logits > 0) == (probe.labels == 1)).mean() >= 0.95


def test_shuffled_labels_give_chance(tiny_bench, sets):
    texts = sets[0] + sets[1]
    order = np.random.default_rng(0).permutation(len(texts))
    mixed = [texts[i] for i in order]
    probe = tiny_bench.probe(mixed[:80], mixed[80:], progress=False, register=False)
    assert probe.accuracy <= 0.75
    assert all(tiny_bench.probes[name] is not probe for name in tiny_bench.probes)


def test_one_layer_and_last_position(tiny_bench, sets):
    positive, negative = sets
    probe = tiny_bench.probe(positive[:20], negative[:20], layer=1, position="last", register=False,
                             progress=False)
    assert probe.layer == 1 and len(probe.per_layer) == 1 and probe.position == "last"
    assert list(probe.features) == [1]


def test_conversations_are_accepted(tiny_bench):
    positive = [[{"role": "user", "content": t}] for t in _texts(6, True, 3)]
    negative = [[{"role": "user", "content": t}] for t in _texts(6, False, 4)]
    probe = tiny_bench.probe(positive, negative, layer=[0, 1], register=False, progress=False)
    assert list(probe.per_layer["layer"]) == [0, 1]


def test_score_gives_one_score_per_token(planted_probe, tiny_bench):
    text = "The quick brown fox likes chocolate"
    tokens, scores = planted_probe.score(tiny_bench, text)
    ids = tiny_bench.tokenizer(text, add_special_tokens=True)["input_ids"]
    assert len(tokens) == len(ids) == scores.shape[0]
    assert np.all((scores >= 0) & (scores <= 1))
    assert "".join(tokens).endswith(text)


def test_to_vector_steers_sampling(planted_probe, tiny_bench):
    vector = planted_probe.to_vector(tiny_bench, name="planted-vec")
    assert tiny_bench.vectors["planted-vec"] is vector and vector.layer == planted_probe.layer
    assert vector.source == "probe:planted"
    base = tiny_bench.sample("Hi", n=2, max_new_tokens=6, seed=0, progress=False)
    steered = tiny_bench.sample("Hi", n=2, max_new_tokens=6, seed=0, progress=False, steer={"planted-vec": 8.0})
    assert steered.settings["steer"] == {"planted-vec": 8.0}
    assert steered.token_ids != base.token_ids


def test_chart_has_a_point_per_layer_and_metric(planted_probe, tiny_bench):
    spec = planted_probe.chart().to_dict()
    values = next(iter(spec["datasets"].values())) if "datasets" in spec else spec["layer"][0]["data"]["values"]
    assert len(values) == 3 * tiny_bench.n_layers


def test_progress_callable_and_cancel(tiny_bench, sets):
    positive, negative = sets
    calls = []
    tiny_bench.probe(positive[:8], negative[:8], layer=0, batch_size=4, register=False,
                     progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 16), (8, 16), (12, 16), (16, 16)]

    event = threading.Event()
    event.set()
    with pytest.raises(wb.Cancelled, match="cancelled after 0 of 16"):
        tiny_bench.probe(positive[:8], negative[:8], layer=0, register=False, progress=False, cancel=event)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"positive": [], "negative": ["a"] * 8}, "positive has 0"),
        ({"positive": ["a"] * 8, "negative": []}, "negative has 0"),
        ({"positive": ["a"] * 3, "negative": ["b"] * 8}, "at least 4"),
        ({"positive": "a text", "negative": ["b"] * 8}, "must be a list"),
        ({"position": "first"}, "position must be one of 'mean', 'last'"),
        ({"layer": 2}, r"layer must be a whole number in 0\.\.1"),
        ({"layer": "some"}, "layer must be None, 'all'"),
        ({"layer": []}, "empty list"),
        ({"test_size": 1.5}, "test_size must be a fraction"),
    ],
)
def test_bad_input_is_refused(tiny_bench, kwargs, match):
    args = {"positive": ["a b"] * 8, "negative": ["c d"] * 8, "progress": False, "register": False}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        tiny_bench.probe(args.pop("positive"), args.pop("negative"), **args)
