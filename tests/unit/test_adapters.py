"""PEFT adapters on the tiny Llama: a LoRA trained here in seconds, loaded by path, switched off inside traces,
and diffed against its base exactly as two checkpoints are."""

from __future__ import annotations

import json
import shutil
import time

import pytest
import torch

import workbench as wb
from workbench import adapters, residual
from workbench.layout import value_matrix
from workbench.recording import ReplayRefused
from workbench.techniques import diffing

PROMPTS = ["Hello! How can I help you today?", [{"role": "user", "content": "The quick brown fox"}]]
NEURONS = [(0, 3), (1, 5), (1, 6), (1, 100)]


@pytest.fixture(scope="module")
def organism(tiny_model_dir, lora_dir):
    return wb.Workbench(str(tiny_model_dir), adapter=str(lora_dir), journal=False)


@pytest.fixture(scope="module")
def merged_dir(tiny_model_dir, lora_dir, tmp_path_factory):
    """The same adapter merged into the base weights by peft and saved as a plain checkpoint."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, use_safetensors=True)
    merged = PeftModel.from_pretrained(base, str(lora_dir)).merge_and_unload()
    folder = tmp_path_factory.mktemp("merged") / "merged"
    merged.save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    return folder


def _ids():
    return torch.tensor([[1, 5, 9, 20, 33, 7]]), torch.ones(1, 6, dtype=torch.long)


def test_the_trained_adapter_is_saved_as_safetensors_with_its_losses(lora_dir, tiny_model_dir):
    assert {p.name for p in lora_dir.iterdir()} >= {"adapter_config.json", "adapter_model.safetensors",
                                                     "training.json"}
    record = json.loads((lora_dir / "training.json").read_text())
    assert record["base"] == str(tiny_model_dir) and len(record["history"]) == 4
    assert record["settings"]["target_modules"] == ["q_proj", "down_proj"] and record["settings"]["layers"] == [1]


def test_repr_model_name_and_the_adapter_on_the_module(organism, lora_dir, tiny_model_dir):
    text = repr(organism)
    assert f"adapter: {str(lora_dir)!r} (LORA r=4 on down_proj, q_proj (layers [1]))" in text
    assert organism.model_name == f"{tiny_model_dir} + {lora_dir}"
    assert organism.adapter.kind == "local" and len(organism.adapter.digest) == 16
    base = organism.without_adapter()
    assert base.model_name == str(tiny_model_dir) and "switched off: this is the base model" in repr(base)
    assert base.without_adapter() is base and organism.without_adapter() is base
    assert base.with_adapter() is organism and organism.with_adapter() is organism
    # nnsight attached it in place: the module paths are the base model's
    assert type(organism.module.model.layers[1].mlp.down_proj).__module__.startswith("peft.")
    assert type(organism.module.model.layers[0].mlp.down_proj).__name__ == "Linear"


def test_techniques_run_on_the_adapted_model(organism, tiny_model_dir, lora_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ids, mask = _ids()
    reference = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(lora_dir))
    with torch.no_grad():
        hidden = reference(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    outputs = residual.layer_outputs(organism, ids, mask, layers=[0, 1])
    assert torch.allclose(outputs[0], hidden[1], atol=1e-6)
    assert not torch.allclose(outputs[1], residual.layer_outputs(organism.without_adapter(), ids, mask,
                                                                 layers=[1])[1])


def test_switched_off_the_adapter_gives_the_base_models_tokens_exactly(organism, tiny_bench):
    options = {"n": 4, "max_new_tokens": 6, "seed": 3, "temperature": 1.0, "progress": False}
    base = tiny_bench.sample("What is your goal?", **options)
    off = organism.without_adapter().sample("What is your goal?", **options)
    on = organism.sample("What is your goal?", **options)
    # the same tokens exactly; log-probabilities to float noise (CPU kernels may round a batch row differently)
    assert off.texts == base.texts
    for mine, theirs in zip(off.logprobs, base.logprobs):
        assert mine == pytest.approx(theirs, abs=1e-5)
    assert max(abs(a - b) for mine, theirs in zip(on.logprobs, base.logprobs) for a, b in zip(mine, theirs)) > 1e-3
    # the adapter is back on after each trace, early stops included
    ids, mask = _ids()
    assert torch.allclose(residual.layer_outputs(organism.without_adapter(), ids, mask, layers=[1])[1],
                          residual.layer_outputs(tiny_bench, ids, mask, layers=[1])[1], atol=1e-6)
    again = organism.sample("What is your goal?", **options)
    assert again.texts == on.texts


def test_the_adapter_diff_is_nonzero_exactly_in_the_adapted_layer_and_above(organism):
    diff = organism.diff(adapter=False, prompts=PROMPTS, neurons=NEURONS, n_samples=2, max_new_tokens=6,
                         progress=False)
    changes = dict(zip(diff.layers["layer"], diff.layers["token_change_norm"]))
    assert changes[0] == 0.0 and changes[1] > 1e-3
    assert diff.self_name == organism.model_name and diff.other_name == organism.source.name
    by_neuron = diff.neurons.set_index(["layer", "neuron"])
    assert by_neuron.loc[(0, 3), "value_cosine"] == pytest.approx(1.0)
    assert by_neuron.loc[(0, 3), "change"] == 0.0
    assert (by_neuron.loc[[(1, 5), (1, 6), (1, 100)], "value_cosine"] < 0.9999).all()  # LoRA on down_proj turned them
    assert len(diff.samples) == 2 * len(PROMPTS)
    # the other way round, from the base's side, is the same change with the other sign
    back = organism.without_adapter().diff(adapter=True, prompts=PROMPTS, neurons=NEURONS, n_samples=0,
                                           progress=False)
    assert back.layers["mean_change_norm"].tolist() == pytest.approx(diff.layers["mean_change_norm"].tolist())
    assert back.neurons["change"].tolist() == pytest.approx((-diff.neurons["change"]).tolist(), abs=1e-7)


def test_the_adapter_diff_equals_diffing_the_merged_checkpoint_against_the_base(organism, merged_dir,
                                                                               tiny_model_dir):
    options = {"neurons": NEURONS, "n_samples": 2, "max_new_tokens": 6, "seed": 5, "progress": False}
    by_adapter = organism.diff(adapter=False, prompts=PROMPTS, **options)
    merged = wb.Workbench(str(merged_dir), journal=False)
    by_checkpoints = merged.diff(str(tiny_model_dir), PROMPTS, **options)
    for column in ("mean_change_norm", "token_change_norm", "relative_change"):
        assert by_adapter.layers[column].tolist() == pytest.approx(by_checkpoints.layers[column].tolist(),
                                                                   rel=1e-4, abs=1e-6), column
    for column in ("activation_self", "activation_other", "change", "value_cosine"):
        assert by_adapter.neurons[column].tolist() == pytest.approx(by_checkpoints.neurons[column].tolist(),
                                                                    rel=1e-4, abs=1e-6), column
    assert by_adapter.samples["other"].tolist() == by_checkpoints.samples["other"].tolist()  # the base, both ways
    assert by_adapter.samples["self"].tolist() == by_checkpoints.samples["self"].tolist()
    # which neurons turned most, read from the weights: the effective ones on the adapted side
    assert diffing.turned_neurons(organism, organism.without_adapter(), 5) == \
        diffing.turned_neurons(merged, diffing.load_other(merged, str(tiny_model_dir)), 5)
    # and the adapted model diffs against the base checkpoint like against its own switched-off form
    by_folder = organism.diff(str(tiny_model_dir), PROMPTS, neurons=NEURONS, n_samples=0, progress=False)
    assert by_folder.layers["token_change_norm"].tolist() == pytest.approx(
        by_adapter.layers["token_change_norm"].tolist(), rel=1e-5, abs=1e-7)


def test_value_vectors_of_an_adapted_down_projection_are_the_merged_ones(organism, merged_dir, tiny_bench):
    from safetensors.torch import load_file

    merged = load_file(merged_dir / "model.safetensors")
    effective = value_matrix(organism, 1)
    assert torch.allclose(effective, merged["model.layers.1.mlp.down_proj.weight"].T, atol=1e-6)
    assert torch.equal(value_matrix(organism.without_adapter(), 1), value_matrix(tiny_bench, 1))
    assert torch.equal(value_matrix(organism, 0), value_matrix(tiny_bench, 0))
    assert not torch.allclose(effective, value_matrix(tiny_bench, 1))
    # not merged in place: the base layer's own weight is untouched
    assert torch.equal(organism.module.model.layers[1].mlp.down_proj.base_layer.weight,
                       tiny_bench.module.model.layers[1].mlp.down_proj.weight)


def test_the_diff_panel_takes_the_adapter_form(organism, tiny_bench):
    view = wb.DiffPanel(organism, adapter=False, prompts=["Hi"], n_samples=1, max_new_tokens=3, top_neurons=2)
    assert view.other_name == organism.source.name
    view.run(wait=True, timeout=120)
    assert view.error == "" and view.diff.layers["token_change_norm"].tolist()[0] == 0.0
    assert view.diff.layers["token_change_norm"].tolist()[1] > 0
    assert organism.journal.last("diff").inputs["adapter"] is False
    with pytest.raises(ValueError, match="loaded without an adapter"):
        wb.DiffPanel(tiny_bench, adapter=False)
    with pytest.raises(ValueError, match="not both"):
        wb.DiffPanel(organism, tiny_bench, adapter=False)


def test_the_journal_records_the_adapter_and_replay_needs_the_same(organism, tiny_bench, lora_dir, tmp_path):
    previous, organism.journal = organism.journal, wb.Journal(tmp_path / "organism.jsonl")
    try:
        assert organism.without_adapter().journal is organism.journal  # the view writes to its session's journal
        quick = {"n": 2, "max_new_tokens": 3, "seed": 0, "progress": False}
        on_texts = organism.sample("Hi", **quick).texts
        organism.without_adapter().sample("Hi", **quick)
        diffed = organism.diff(adapter=False, prompts=["Hi"], n_samples=0, progress=False)
    finally:
        organism.journal = previous
    loaded = wb.Journal.load(tmp_path / "organism.jsonl")
    on, off = [e for e in loaded.entries if e.technique == "sample"]
    assert on.model["adapter"] == {"name": str(lora_dir), "kind": "local", "digest": organism.adapter.digest}
    assert on.model["name"] == organism.model_name
    assert off.model["adapter"] is None and off.model["name"] == organism.source.name
    assert organism.replay(on).texts == on_texts
    with pytest.raises(ReplayRefused, match=r"recorded on .* with the adapter .*, and this session runs with no "
                                            r"adapter\. Replay it on a session with the same adapter"):
        tiny_bench.replay(on)
    with pytest.raises(ReplayRefused, match="with no adapter, and this session runs with the adapter"):
        organism.replay(off)
    assert organism.without_adapter().replay(off).texts == tiny_bench.sample("Hi", **quick).texts
    assert loaded.last("diff").inputs["adapter"] is False
    again = organism.replay(loaded.last("diff"))
    assert again.layers["token_change_norm"].tolist() == diffed.layers["token_change_norm"].tolist()


# -- what is refused ---------------------------------------------------------------------------


def _adapter_for(config_changes, tiny_model_dir, folder):
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig.from_pretrained(tiny_model_dir)
    for key, value in config_changes.items():
        setattr(config, key, value)
    model = get_peft_model(LlamaForCausalLM(config), LoraConfig(r=2, target_modules=["down_proj"],
                                                                init_lora_weights=False))
    model.save_pretrained(folder)
    config = json.loads((folder / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "org/wide-base"  # what a Hub-trained adapter records
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return folder


def test_an_adapter_for_another_shape_is_refused_naming_both(tiny_model_dir, tmp_path):
    wide = _adapter_for({"intermediate_size": 96}, tiny_model_dir, tmp_path / "w")
    with pytest.raises(adapters.AdapterMismatchError) as info:
        wb.Workbench(str(tiny_model_dir), adapter=str(wide), journal=False)
    message = str(info.value)
    assert f"The adapter {str(wide)!r}" in message and f"the model {str(tiny_model_dir)!r}" in message
    assert "(trained on 'org/wide-base')" in message
    assert "size mismatch for model.layers.0.mlp.down_proj.lora_A.default.weight" in message
    assert "torch.Size([2, 96]) from checkpoint, the shape in current model is torch.Size([2, 128])" in message


def test_an_adapter_whose_target_modules_are_missing_is_refused_naming_both(tiny_model_dir, lora_dir, tmp_path):
    folder = tmp_path / "gpt2-style"
    shutil.copytree(lora_dir, folder)
    config = json.loads((folder / "adapter_config.json").read_text())
    config.update(target_modules=["c_attn"], base_model_name_or_path="openai-community/gpt2")
    (folder / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(adapters.AdapterMismatchError, match=r"The adapter '.*gpt2-style' \(trained on "
                                                            r"'openai-community/gpt2'\) does not fit the model "
                                                            r"'.*': Target modules \{'c_attn'\} not found"):
        wb.Workbench(str(tiny_model_dir), adapter=str(folder), journal=False)


def test_only_safetensors_and_real_adapter_folders_are_read(tiny_model_dir, lora_dir, tmp_path):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(lora_dir / "adapter_config.json", pickled)
    (pickled / "adapter_model.bin").write_bytes(b"not even a pickle")
    with pytest.raises(FileNotFoundError, match=r"only adapter_model\.bin, a pickle, which the workbench never"):
        wb.Workbench(str(tiny_model_dir), adapter=str(pickled), journal=False)
    with pytest.raises(FileNotFoundError, match=r"has no adapter_config\.json"):
        wb.Workbench(str(tiny_model_dir), adapter=str(tmp_path), journal=False)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        wb.Workbench(str(tiny_model_dir), adapter="./no/such/adapter", journal=False)
    with pytest.raises(TypeError, match="adapter must be"):
        wb.Workbench(str(tiny_model_dir), adapter=3, journal=False)
    with pytest.raises(ValueError, match="NDIF cannot read"):
        adapters.resolve(lora_dir, remote=True)
    assert adapters.resolve("org/lora", remote=True).location == "org/lora"  # NDIF loads it


def test_an_uncached_hub_adapter_fails_fast_naming_it(monkeypatch, tmp_path, tiny_model_dir):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    start = time.perf_counter()
    with pytest.raises(wb.ModelUnavailableError, match=r"Adapter 'some-org/not-cached-lora' is not in the local "
                                                       r"Hugging Face cache .* adapter= at a local folder"):
        wb.Workbench(str(tiny_model_dir), adapter="some-org/not-cached-lora", journal=False)
    assert time.perf_counter() - start < 10
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(wb.ModelUnavailableError, match="HF_HUB_OFFLINE"):
        adapters.resolve("some-org/not-cached-lora")


def test_a_cached_hub_adapter_loads_offline(monkeypatch, tmp_path, lora_dir):
    from huggingface_hub import constants

    snapshot = tmp_path / "models--org--lora" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        shutil.copy(lora_dir / name, snapshot)
    (tmp_path / "models--org--lora" / "refs").mkdir()
    (tmp_path / "models--org--lora" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    source = adapters.resolve("org/lora")
    assert source.kind == "hub" and source.location == str(snapshot)
    assert source.digest == adapters.resolve(lora_dir).digest


def test_switching_off_is_refused_without_an_adapter_or_when_it_trained_biases(tiny_bench, organism):
    with pytest.raises(ValueError, match="loaded without an adapter"):
        tiny_bench.without_adapter()
    with pytest.raises(ValueError, match="loaded without an adapter"):
        tiny_bench.diff(adapter=False)
    with pytest.raises(TypeError, match="or adapter=False"):
        tiny_bench.diff()
    biased = adapters.AdapterSource("local", "biased", "/x", config={"bias": "all"})
    with pytest.raises(ValueError, match="trains biases"):
        adapters.check_can_disable(organism.module, biased)
