"""Devices and precision: what reaches from_pretrained (device, device_map, dtype), checked without a GPU, and the
tiny Llama in bfloat16 with SAE encoding, probes and the preference audit's statistics in float32."""

from __future__ import annotations

import pytest
import torch

import workbench as wb
from workbench import models, residual, saes
from workbench.techniques import diffing, preference

PAIRS = [{"id": f"p{i}", "prompt": "Hello! How can I help you today?",
          "chosen": "The quick brown fox jumps over the lazy dog. " * (1 + i % 2),
          "rejected": "Reward models sometimes prefer longer answers."} for i in range(8)]


@pytest.fixture
def from_pretrained(monkeypatch):
    """Record what AutoModelForCausalLM.from_pretrained is handed, and load on the CPU whatever it asks for."""
    import transformers

    calls = []
    original = transformers.AutoModelForCausalLM.from_pretrained

    def spy(*args, **kwargs):
        calls.append(dict(kwargs))
        kwargs.pop("device_map", None)
        if kwargs.get("dtype") == "auto":
            kwargs["dtype"] = torch.float32
        return original(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", spy)
    return calls


def test_cuda_and_bfloat16_pass_through_to_transformers(from_pretrained, tiny_model_dir):
    bench = wb.Workbench(str(tiny_model_dir), device="cuda", dtype="bfloat16", journal=False)
    (call,) = from_pretrained
    assert call["device_map"] == "cuda" and call["dtype"] is torch.bfloat16
    assert call["use_safetensors"] is True and call["trust_remote_code"] is False
    assert bench.device == "cuda" and bench.device_map is None
    from_pretrained.clear()
    wb.Workbench(str(tiny_model_dir), device="cuda:1", journal=False)
    assert from_pretrained[0]["device_map"] == "cuda:1" and from_pretrained[0]["dtype"] == "auto"  # the checkpoint's


def test_device_map_auto_shards_through_transformers_and_inputs_go_to_the_embeddings(from_pretrained,
                                                                                      tiny_model_dir):
    bench = wb.Workbench(str(tiny_model_dir), device_map="auto", journal=False)
    (call,) = from_pretrained
    assert call["device_map"] == "auto" and call["dtype"] == "auto"
    assert bench.device_map == "auto" and bench.device == "cpu"  # where the (spy-loaded) embeddings are
    assert "device_map='auto'" in repr(bench)
    # a checkpoint diffed against it is placed the same way, in the same dtype
    from_pretrained.clear()
    diffing.load_other(bench, str(tiny_model_dir))
    assert from_pretrained[0]["device_map"] == "auto" and from_pretrained[0]["dtype"] == bench.dtype
    with pytest.raises(ValueError, match="not both"):
        wb.Workbench(str(tiny_model_dir), device="cuda", device_map="auto", journal=False)


def test_cpu_defaults_to_float32_and_a_cpu_device_map_too():
    assert models.load_kwargs(device="cpu")[0] == {"dtype": torch.float32, "use_safetensors": True,
                                                    "trust_remote_code": False}
    kwargs, device = models.load_kwargs(device_map="cpu")
    assert kwargs["dtype"] is torch.float32 and kwargs["device_map"] == "cpu" and device is None
    kwargs, _ = models.load_kwargs(device_map={"": 0}, dtype=torch.float16)
    assert kwargs["device_map"] == {"": 0} and kwargs["dtype"] is torch.float16


def test_bfloat16_model_reads_out_float32_for_saes_probes_and_statistics(tiny_model_dir, trained, monkeypatch):
    _, folder = trained
    bench = wb.Workbench(str(tiny_model_dir), dtype="bfloat16", journal=False)
    assert bench.dtype is torch.bfloat16 and "bfloat16" in repr(bench)
    out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False)
    assert len(out.texts) == 2 and all(isinstance(v, float) for row in out.logprobs for v in row)
    assert residual.layer_outputs(bench, torch.tensor([[1, 2, 3]]), layers=[1])[1].dtype is torch.float32

    entry = bench.saes.load_path(folder, name="tiny")
    assert next(entry.sae.parameters()).dtype is torch.float32
    seen = []
    encode = saes.encode

    def spy(sae, acts):
        latents = encode(sae, acts)
        seen.append((acts.dtype, latents.dtype))
        return latents

    monkeypatch.setattr(saes, "encode", spy)
    acts = bench.activations("The quick brown fox helps the user.", sae="tiny", k=8)
    assert acts.top_values.dtype == "float32" and acts.feature(int(acts.top_latents[0, 0])).dtype == "float32"
    assert seen and all(latents is torch.float32 for _, latents in seen)
    assert saes.encode(entry.sae, torch.ones(2, 64, dtype=torch.bfloat16)).dtype is torch.float32

    probe = bench.probe(["You idiot.", "You fool.", "Shut up.", "You clown."] * 2,
                        ["Thank you.", "Well done.", "Lovely.", "Good job."] * 2, layer=1, progress=False)
    assert probe.direction.dtype is torch.float32 and probe.features[1].dtype == "float32"
    assert 0.0 <= probe.accuracy <= 1.0

    statistics = []
    paired = preference.paired_statistics

    def spy_stats(chosen, rejected, length_diff):
        statistics.append((chosen.dtype, rejected.dtype))
        return paired(chosen, rejected, length_diff)

    monkeypatch.setattr(preference, "paired_statistics", spy_stats)
    seen.clear()
    audit = bench.audit_preferences(PAIRS, sae="tiny", progress=False)
    assert statistics == [("float32", "float32")]
    assert seen and all(latents is torch.float32 for _, latents in seen)
    assert audit.summary["pairs"] == len(PAIRS)
