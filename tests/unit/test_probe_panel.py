"""The probe panel's Python side on the tiny Llama (its front-end: tests/ui/test_probe_panel.py)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

import workbench as wb
from tests.conftest import WORDS
from workbench.widgets._lines import from_lines, to_lines

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


POSITIVE, NEGATIVE = _texts(40, True, 1), _texts(40, False, 2)


@pytest.fixture
def panel(tiny_bench):
    view = wb.ProbePanel(tiny_bench, POSITIVE, NEGATIVE, name="panel-planted", batch_size=8)
    view.train(wait=True, timeout=120)
    return view


def test_training_fills_the_readout_per_layer_rows_and_progress(panel, tiny_bench):
    assert panel.error == "" and not panel.running
    probe = panel.probe
    assert isinstance(probe, wb.Probe) and tiny_bench.probes["panel-planted"] is probe
    assert probe.auroc >= 0.9 and probe.n == 80  # the planted word is linearly present
    assert panel.result["name"] == "panel-planted" and panel.result["layer"] == probe.layer
    assert panel.result["accuracy"] == probe.accuracy and panel.result["auroc"] == probe.auroc
    assert panel.result["n_test"] == 20 and panel.result["registered"] is True
    assert [row["layer"] for row in panel.per_layer] == list(range(tiny_bench.n_layers))
    json.dumps([panel.result, panel.per_layer])  # plain JSON, no numpy scalars
    assert panel.progress == {"step": 80, "total": 80}  # every text, reported per batch
    assert f"layer {probe.layer}" in panel.status and "accuracy" in panel.status
    assert panel.vector_name == "panel-planted"


def test_the_boxes_are_what_trains(tiny_bench):
    view = wb.ProbePanel(tiny_bench, layer=[1], position="last")
    assert view.positive == "" and view.layer == "1"
    view.positive = "\n".join(POSITIVE[:6]) + "\n\n"  # blank lines are skipped
    chat = [{"role": "user", "content": "the lazy dog"}]
    view.negative = "\n".join([*NEGATIVE[:5], json.dumps(chat)])
    view.train(wait=True, timeout=60)
    assert view.error == "" and view.probe.n == 12 and view.probe.layer == 1
    assert view.probe.position == "last" and list(view.probe.per_layer["layer"]) == [1]
    view.layer = "0, 1"
    view.train(wait=True, timeout=60)
    assert list(view.probe.per_layer["layer"]) == [0, 1]


def test_lines_round_trip_texts_and_conversations():
    items = ["You fool.", [{"role": "user", "content": "Hi <b>there</b>"}], "[not json"]
    assert from_lines(to_lines(items, "positive")) == items
    with pytest.raises(ValueError, match="spans several lines"):
        to_lines(["one\ntwo"], "positive")
    with pytest.raises(TypeError, match="list of texts"):
        to_lines("just one string", "positive")


def test_chart_is_hidden_until_trained_then_shows_every_layer(tiny_bench):
    view = wb.ProbePanel(tiny_bench, POSITIVE[:8], NEGATIVE[:8])
    chart = view.chart
    assert chart.layout.display == "none"
    view.train(wait=True, timeout=60)
    assert chart.layout.display is None
    spec = chart.chart.to_dict()
    lines = spec["layer"][0]
    assert lines["mark"]["type"] == "line"
    data = spec["datasets"][lines["data"]["name"]]
    assert len(data) == 3 * tiny_bench.n_layers  # accuracy, AUROC, train accuracy per layer
    assert {row["metric"] for row in data} == {"accuracy", "auroc", "train_accuracy"}


def test_register_as_vector_puts_the_direction_on_the_session(panel, tiny_bench):
    reply = panel.to_vector(name="panel-planted-vec")  # the button's request
    vector = tiny_bench.vectors["panel-planted-vec"]
    assert reply == {"name": "panel-planted-vec", "layer": panel.probe.layer, "scale": round(vector.scale, 4),
                     "replaced": False}
    assert vector.layer == panel.probe.layer and vector.source == "probe:panel-planted"
    cosine = torch.nn.functional.cosine_similarity(vector.direction, panel.probe.direction, dim=0)
    assert float(cosine) == pytest.approx(1.0, abs=1e-5)
    assert "registered 'panel-planted-vec'" in panel.status
    assert panel.to_vector(name="panel-planted-vec")["replaced"] is True
    with pytest.raises(ValueError, match="Give the steering vector a name"):
        panel.register_vector("  ")


def test_score_box_shows_per_token_scores_and_opens_the_activation_panel(panel, tiny_bench):
    text = "The quick brown fox likes chocolate"
    reply = panel.score(text=text)
    expected = panel.probe.score(tiny_bench, text)
    assert reply["tokens"] == len(expected.tokens) == len(panel.scores["scores"])
    assert panel.scores["tokens"] == list(expected.tokens)
    assert panel.scores["scores"] == pytest.approx(expected.scores.tolist())
    assert panel.text == text and panel.scores["layer"] == panel.probe.layer
    opened = panel.to_panel(text=text)
    assert opened["own_panel"] and opened["tokens"] > 0 and opened["probe"] == "panel-planted"
    assert panel.panel.selected_probe == "panel-planted"  # the activation panel colours by this probe
    assert text in "".join(panel.panel.tokens) and panel.panel.layout.display is None
    with pytest.raises(ValueError, match="Type a text"):
        panel.score_text("   ")


def test_bad_input_is_refused_and_shown(tiny_bench):
    view = wb.ProbePanel(tiny_bench, POSITIVE[:3], NEGATIVE[:8])
    with pytest.raises(ValueError, match="positive box has 3 example"):
        view.train()
    assert "at least 4" in view.error and not view.running
    view.positive = "\n".join(POSITIVE[:8])
    view.layer = "7"
    with pytest.raises(ValueError, match=r"layer must be 'all' or layer numbers in 0\.\.1"):
        view.train()
    assert "layer must be" in view.error
    with pytest.raises(ValueError, match="Train a probe first"):
        view.register_vector("x")
    with pytest.raises(ValueError, match="Train a probe first"):
        view.score_text("hello")
    with pytest.raises(ValueError, match="position must be"):
        wb.ProbePanel(tiny_bench, position="max")
    with pytest.raises(ValueError, match="layer must be"):
        wb.ProbePanel(tiny_bench, layer=5)
    with pytest.raises(ValueError, match="spans several lines"):
        wb.ProbePanel(tiny_bench, ["two\nlines"] * 4, NEGATIVE[:4])
    # an error in the worker reaches the error line too
    broken = wb.ProbePanel(tiny_bench, POSITIVE[:8], NEGATIVE[:8], test_size=1.5)
    broken.train(wait=True, timeout=60)
    assert broken.error.startswith("ValueError: test_size must be") and broken.status == "failed"
    assert broken.probe is None


def test_cancel_keeps_the_panel_usable(tiny_bench):
    view = wb.ProbePanel(tiny_bench, POSITIVE * 4, NEGATIVE * 4, batch_size=1, name="cancelled-probe")
    started = threading.Event()
    original = view._on_progress

    def slow(step, total):
        original(step, total)
        started.set()

    view._runs.on_progress = slow
    view.train()
    assert started.wait(60)
    assert view.stop() == {"cancelled": True}
    assert view.wait(60)
    assert view.status.startswith("cancelled") and view.error == "" and view.probe is None
    view.options["batch_size"] = 16
    view.train(wait=True, timeout=60)
    assert view.error == "" and view.probe is not None and view.probe.n == 320


def test_a_probe_can_be_shown_without_training(tiny_bench):
    probe = tiny_bench.probe(POSITIVE[:8], NEGATIVE[:8], layer=0, name="shown-probe", progress=False)
    view = wb.ProbePanel(tiny_bench, probe=probe)
    assert view.status == "probe 'shown-probe' loaded" and view.probe is probe
    assert view.result["layer"] == 0 and len(view.per_layer) == 1
    assert view.score_text("chocolate fox").tokens
