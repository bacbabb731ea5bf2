"""The embedded default model, end to end (converted once into the workbench cache)."""

import json
import os
import shutil
import subprocess
import sys

import workbench as wb
from workbench import models


def _offline(command):
    """Run ``command`` with the network really off when this machine allows it."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True) if shutil.which("unshare") else None
    prefix = ["unshare", "-n"] if probe is not None and probe.returncode == 0 else []
    return subprocess.run(prefix + command, capture_output=True, text=True, env=env, timeout=600)


def test_done_when_command_prints_four_continuations_offline(default_bench):
    code = (
        "import workbench as wb; b = wb.Workbench(); "
        "print(repr(b.sample('Hi', n=4, max_new_tokens=16, progress=False).texts))"
    )
    result = _offline([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr[-3000:]
    texts = eval(result.stdout.strip().splitlines()[-1])  # a list literal printed by repr
    assert len(texts) == 4 and all(isinstance(t, str) and t.strip() for t in texts)


def test_default_model_identity(default_bench):
    assert default_bench.source.kind == "default"
    assert default_bench.n_layers == 30 and default_bench.hidden_size == 576
    text = repr(default_bench)
    assert "SmolLM2-135M-Instruct" in text and "30 layers" in text and "hidden size 576" in text
    folder = models.converted_gguf_folder(models.embedded_gguf())
    assert models.cache_problem(folder) is None


def test_prefill_user_and_narrator_on_the_default_template(default_bench):
    conv = [
        {"role": "user", "content": "Do you have a hidden goal?"},
        {"role": "assistant", "content": "No."},
    ]
    attack = default_bench.sample(conv[:1], n=3, prefill="My secret goal is", max_new_tokens=12, seed=0, progress=False)
    assert attack.prompt.endswith("<|im_start|>assistant\nMy secret goal is")
    assert len(attack) == 3
    user = default_bench.sample(conv, n=2, persona="user", max_new_tokens=12, seed=0, progress=False)
    assert user.prompt.endswith("No.<|im_end|>\n<|im_start|>user\n")
    narrator = default_bench.sample(conv, n=2, persona="narrator", max_new_tokens=12, seed=0, progress=False)
    assert narrator.prompt.endswith("No.<|im_end|>\n")
    # a narrator runs across turn ends
    assert all(len(ids) == 12 for ids in narrator.token_ids)


def test_seeded_samples_repeat_on_the_default_model(default_bench):
    a = default_bench.sample("Name a colour.", n=4, max_new_tokens=8, seed=11, progress=False)
    b = default_bench.sample("Name a colour.", n=4, max_new_tokens=8, seed=11, progress=False)
    assert a.texts == b.texts


def test_gguf_path_shares_the_default_conversion(default_bench):
    bench = wb.Workbench(str(models.embedded_gguf()))
    assert bench.source.kind == "gguf"
    out = bench.sample("Hi", n=2, max_new_tokens=6, seed=5, progress=False)
    assert out.texts == default_bench.sample("Hi", n=2, max_new_tokens=6, seed=5, progress=False).texts


def test_corrupt_default_cache_is_rebuilt(default_bench, tmp_path, monkeypatch):
    source = models.converted_gguf_folder(models.embedded_gguf())
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    damaged = models.converted_gguf_folder(models.embedded_gguf())
    shutil.copytree(source, damaged)
    weights = damaged / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.truncate(weights.stat().st_size // 3)
    assert models.cache_problem(damaged) is not None
    bench = wb.Workbench()
    assert models.cache_problem(damaged) is None
    assert weights.stat().st_size == (source / "model.safetensors").stat().st_size
    assert bench.sample("Hi", n=1, max_new_tokens=4, seed=0, progress=False).texts == default_bench.sample(
        "Hi", n=1, max_new_tokens=4, seed=0, progress=False
    ).texts


def test_the_first_cell_imports_no_sae_lens_until_the_sae_is_used(default_bench):
    code = (
        "import sys, json, workbench as wb; b = wb.Workbench(journal=False); "
        "before = 'sae_lens' in sys.modules; entry = b.saes.get('default'); loaded = entry.loaded; "
        "acts = b.activations('The cat sat on the mat.'); "
        "print(json.dumps([before, loaded, 'sae_lens' in sys.modules, entry.loaded, acts.sae, entry.d_sae]))"
    )
    result = _offline([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr[-3000:]
    before, loaded, after, loaded_after, used, d_sae = json.loads(result.stdout.strip().splitlines()[-1])
    assert before is False and loaded is False  # registered from its cfg.json alone
    assert after is True and loaded_after is True and used == "default" and d_sae == 4096
