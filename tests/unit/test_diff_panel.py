"""The diff panel's Python side on the tiny Llama (its front-end: tests/ui/test_diff_panel.py)."""

from __future__ import annotations

import json
import threading

import pytest
import torch

import workbench as wb
from workbench.techniques import vectors
from workbench.techniques.neurons import value_vectors
from workbench.widgets.diffing import GIVEN

PROMPTS = ["Hello! How can I help you today?", "The quick brown fox <img src=x onerror=alert(1)>"]


def _bumped(tiny_model_dir, folder, layer=1, neuron=5):
    """A copy of the tiny Llama whose ``neuron`` of ``layer`` writes a different value vector."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(tiny_model_dir, use_safetensors=True)
    with torch.no_grad():
        model.model.layers[layer].mlp.down_proj.weight[:, neuron] += 0.5
    model.save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def bumped(tiny_model_dir, tmp_path_factory):
    return _bumped(tiny_model_dir, tmp_path_factory.mktemp("bumped") / "bumped")


def test_a_model_against_itself_shows_no_change(tiny_bench):
    view = wb.DiffPanel(tiny_bench, tiny_bench, PROMPTS, n_samples=2, max_new_tokens=5, top_neurons=4)
    assert view.summary == {} and view.chart.layout.display == "none"
    view.run(wait=True, timeout=120)
    assert view.error == "" and not view.running
    assert isinstance(view.diff, wb.ModelDiff)
    assert view.status.startswith("no change") and "all 4 samples match" in view.status
    assert [row["layer"] for row in view.layer_rows] == list(range(tiny_bench.n_layers))
    assert all(row["mean_change_norm"] == 0 and row["projection"] is None for row in view.layer_rows)
    assert len(view.neuron_rows) == 4 and all(row["change"] == 0 for row in view.neuron_rows)
    assert [row["value_cosine"] for row in view.neuron_rows] == pytest.approx([1.0] * 4)
    # nothing turned: the first neurons, in order (float noise of equal vectors does not reorder them)
    assert [(row["layer"], row["neuron"]) for row in view.neuron_rows] == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert len(view.samples) == 4 and all(row["same"] and row["self"] == row["other"] for row in view.samples)
    assert view.samples[2]["text"] == PROMPTS[1]  # prompt text kept verbatim; the page shows it as text
    assert view.summary["samples_differ"] == 0 and view.summary["max_change"] == 0.0
    assert view.metrics == ["mean_change_norm", "token_change_norm", "relative_change"]
    assert view.progress["step"] == view.progress["total"] > 0
    json.dumps([view.layer_rows, view.neuron_rows, view.samples, view.summary])
    assert view.chart.layout.display is None
    assert view.chart.chart.to_dict()["mark"]["type"] == "line"


def test_a_perturbed_copy_changes_its_layer_and_its_neuron_leads(tiny_bench, bumped):
    view = wb.DiffPanel(tiny_bench, bumped, PROMPTS, n_samples=1, max_new_tokens=5, top_neurons=3)
    view.run(wait=True, timeout=120)
    assert view.error == "" and view.other_name.endswith("bumped")
    changes = {row["layer"]: row["token_change_norm"] for row in view.layer_rows}
    assert changes[0] == 0.0 and changes[1] > 1e-3
    assert view.summary["most_changed_layer"] == 1 and "most changed layer 1" in view.status
    # without a direction the neurons compared are those whose value vectors turned most: the bumped one
    assert view.diff.settings["neurons"][0] == [1, 5]
    bumped_row = next(r for r in view.neuron_rows if (r["layer"], r["neuron"]) == (1, 5))
    assert bumped_row["value_cosine"] < 0.999
    other = view._other
    view.metric = "relative_change"
    assert view.chart.chart.to_dict()["encoding"]["y"]["field"] == "relative_change"
    view.run(wait=True, timeout=120)
    assert view._other is other  # loaded once, reused by later runs


def test_a_direction_by_name_adds_its_projection_and_picks_neurons_along_it(tiny_bench, bumped):
    raw = torch.randn(tiny_bench.hidden_size, generator=torch.Generator().manual_seed(3))
    vector = vectors.from_direction(tiny_bench, raw, layer=1, name="diff-panel-dir")
    view = wb.DiffPanel(tiny_bench, bumped, PROMPTS, direction="diff-panel-dir", n_samples=0, top_neurons=3)
    assert set(view.directions()["vectors"]) >= {"diff-panel-dir"}
    view.run(wait=True, timeout=120)
    assert view.error == "" and view.summary["direction"] == "vector:diff-panel-dir"
    assert "projection" in view.metrics and view.metric == "projection"
    assert view.chart.chart.to_dict()["encoding"]["y"]["field"] == "projection"
    expected = value_vectors(tiny_bench, "diff-panel-dir", top=3).neurons()
    assert {(r["layer"], r["neuron"]) for r in view.neuron_rows} == set(expected)
    assert view.samples == [] and view.status.endswith("no samples drawn")
    by_object = wb.DiffPanel(tiny_bench, bumped, PROMPTS, direction=vector, n_samples=0)
    assert by_object.direction == "diff-panel-dir"  # a registered object shows by its name
    by_tensor = wb.DiffPanel(tiny_bench, tiny_bench, PROMPTS, direction=raw * 3, n_samples=0, top_neurons=0)
    assert by_tensor.direction == GIVEN
    by_tensor.run(wait=True, timeout=60)
    assert by_tensor.summary["direction"] == "tensor" and by_tensor.neuron_rows == []


def test_conversations_from_python_run_through_the_box(tiny_bench):
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    view = wb.DiffPanel(tiny_bench, tiny_bench, chat, n_samples=1, max_new_tokens=3, top_neurons=0)
    assert json.loads(view.prompts) == chat
    view.run(wait=True, timeout=60)
    assert view.diff.prompts == [chat] and view.samples[0]["text"] == "Hi"


def test_bad_input_is_refused_and_shown(tiny_bench, tiny_model_dir, tmp_path):
    with pytest.raises(TypeError, match="other must be"):
        wb.DiffPanel(tiny_bench, 3)
    with pytest.raises(ValueError, match="spans several lines"):
        wb.DiffPanel(tiny_bench, tiny_bench, ["one\ntwo"])
    with pytest.raises(ValueError, match="top_neurons must be"):
        wb.DiffPanel(tiny_bench, tiny_bench, top_neurons=-1)
    view = wb.DiffPanel(tiny_bench, tiny_bench, PROMPTS)
    view.prompts = "  \n"
    with pytest.raises(ValueError, match="prompts box is empty"):
        view.run()
    assert "prompts box is empty" in view.error and not view.running
    view.prompts = "Hello"
    view.direction = "no-such-vector"
    with pytest.raises(ValueError, match="No steering vector or probe named 'no-such-vector'"):
        view.run()
    view.direction = ""
    view.n_samples = -1
    with pytest.raises(ValueError, match="n_samples must be"):
        view.run()
    view.n_samples = 1
    view.metric = "projection"  # no direction: there is no projection to chart
    view.run(wait=True, timeout=60)
    assert view.metric == "mean_change_norm" and view.error == ""
    view.metric = "nonsense"
    assert "metric must be one of" in view.error
    # a checkpoint of another shape is refused in the worker, and the refusal reaches the error line
    from transformers import LlamaConfig, LlamaForCausalLM

    from tests.conftest import build_tiny_llama

    folder = build_tiny_llama(tmp_path / "wide")
    config = LlamaConfig.from_pretrained(folder)
    config.intermediate_size = 96
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    wide = wb.DiffPanel(tiny_bench, str(folder), PROMPTS, n_samples=0)
    wide.run(wait=True, timeout=120)
    assert wide.error.startswith("ValueError: Cannot diff") and "down_proj" in wide.error
    assert wide.status == "failed" and wide.diff is None


def test_cancel_keeps_the_panel_usable(tiny_bench):
    view = wb.DiffPanel(tiny_bench, tiny_bench, PROMPTS * 6, n_samples=1, max_new_tokens=4, batch_size=1,
                        top_neurons=0)
    started = threading.Event()
    original = view._on_progress

    def slow(step, total):
        original(step, total)
        started.set()

    view._runs.on_progress = slow
    view.run()
    assert started.wait(60)
    assert view.stop() == {"cancelled": True}
    assert view.wait(60)
    assert view.status.startswith("cancelled") and view.error == "" and view.diff is None
    view.prompts = "Hello"
    view.run(wait=True, timeout=60)
    assert view.error == "" and view.diff is not None and len(view.samples) == 1


def test_a_comparison_can_be_shown_without_running(tiny_bench):
    diff = tiny_bench.diff(tiny_bench, ["Hello"], n_samples=1, max_new_tokens=3, progress=False)
    view = wb.DiffPanel(tiny_bench, tiny_bench, diff=diff)
    assert view.status == "comparison loaded" and view.diff is diff
    assert len(view.layer_rows) == tiny_bench.n_layers and len(view.samples) == 1
