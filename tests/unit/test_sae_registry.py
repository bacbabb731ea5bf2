"""``bench.saes.load(release, sae_id)`` offline: real sae-lens registry releases from a laid-out Hugging Face cache.

Each release's repository is written into a temporary hub cache (``refs/main``,
``snapshots/<commit>/...`` linked to ``blobs/<sha256>``, as ``huggingface_hub`` keeps
it) in that release's own file format: the repo ids, paths and file names of
``sae_lens/pretrained_saes.yaml``, and the file contents sae-lens's loaders read
(``sae_lens/loading/pretrained_sae_loaders.py``), with random weights of the tiny
models' sizes:

* Gemma Scope 2 for Gemma 3 (``gemma_3`` loader): ``config.json`` with
  ``hf_hook_point_in``/``_out`` and ``params.safetensors`` with ``w_enc``, ``w_dec``,
  ``b_enc``, ``b_dec``, ``threshold`` (and ``affine_skip_connection`` for an affine
  transcoder); the sizes are read from the file's header.
* Gemma Scope for Gemma 2 (``gemma_2`` loader): ``params.npz`` with ``W_enc`` ...
  ``threshold``; this loader takes ``d_in`` from the model's name (2304 for
  ``gemma-2-2b``) and the width from the path (16k), so the tiny Gemma 2 has hidden size 2304.
* GPT-2 (sae-lens format): ``cfg.json`` in the pre-6.0 layout of jbloom's converted
  repos, ``sae_weights.safetensors`` and ``sparsity.safetensors``.

The hub is offline (``HF_HUB_OFFLINE``) and sockets refuse to connect, so whatever
loads, loads from the cache. What the workbench reports is compared with the release's
own definition of its encoder (JumpReLU, ReLU, TopK), computed here by hand from the
arrays that were written.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch

import workbench as wb
from workbench.layout import Site

from ..conftest import build_tiny_model
from .test_sae_sites import raw

TEXT = "The quick brown fox helps the user with a recipe."
GEMMA3_REPO = "google/gemma-scope-2-270m-pt"
GEMMA2_REPO = "google/gemma-scope-2b-pt-mlp"
GPT2_REPO = "jbloom/GPT2-Small-SAEs-Reformatted"
GPT2_MLP_REPO = "jbloom/GPT2-Small-OAI-v5-32k-mlp-out-SAEs"
PICKLED = []  # appended to if anything is ever unpickled


class Trap:
    def __reduce__(self):
        return (PICKLED.append, ("unpickled",))


def lay_out(cache: Path, repo_id: str, files: dict) -> None:
    """Write ``files`` (``path in repo -> writer(path)``) as a Hugging Face cache holds a downloaded repo."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "blobs").mkdir(exist_ok=True)
    for name, write in files.items():
        tmp = repo / "blobs" / f".incoming-{uuid.uuid4().hex}"
        write(tmp)
        digest = hashlib.sha256()
        with tmp.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        blob = repo / "blobs" / digest.hexdigest()
        tmp.replace(blob)
        link = repo / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))


def _json(value):
    return lambda path: path.write_text(json.dumps(value))


def _safetensors(arrays):
    from safetensors.numpy import save_file

    return lambda path: save_file(arrays, str(path))


def _npz(arrays):
    def write(path):
        with path.open("wb") as handle:  # np.savez on a path would add ".npz" to the blob's name
            np.savez(handle, **arrays)
    return write


def _random(shape, rng, scale=0.3):
    return (rng.standard_normal(shape, dtype=np.float32) * scale).astype(np.float32)


def jumprelu_params(rng, d_in, d_sae, *, lowercase, d_out=None):
    """Gemma Scope's parameters: ``w_enc`` [d_in, d_sae], ``w_dec`` [d_sae, d_out], biases, thresholds."""
    d_out = d_out or d_in
    names = ("w_enc", "w_dec", "b_enc", "b_dec", "threshold") if lowercase else ("W_enc", "W_dec", "b_enc", "b_dec",
                                                                                  "threshold")
    values = (_random((d_in, d_sae), rng), _random((d_sae, d_out), rng), _random((d_sae,), rng, 0.05),
              _random((d_out,), rng, 0.05), np.abs(_random((d_sae,), rng, 0.1)))
    return dict(zip(names, values))


def gemma_scope_2_config(layer, hook_in, hook_out, *, transcoder=False, affine=False):
    """A Gemma Scope 2 ``config.json`` (the keys its repositories carry)."""
    return {"width": 16384, "model_name": "google/gemma-3-270m-pt", "architecture": "jump_relu", "l0": 11,
            "affine_connection": affine, "hf_hook_point_in": hook_in.format(layer=layer),
            "hf_hook_point_out": hook_out.format(layer=layer), "type": "transcoder" if transcoder else "sae"}


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """The tiny models (named as the releases' models are) and their releases in a Hugging Face cache."""
    root = tmp_path_factory.mktemp("hub")
    cache = root / "hub-cache"
    rng = np.random.default_rng(0)
    written = {}

    # Gemma Scope 2, Gemma 3 270m: residual stream, MLP output, an affine (skip) transcoder, at layer 1
    gemma3 = build_tiny_model(root / "gemma-3-270m", "gemma3")
    files = {}
    for folder, hook_in, hook_out, kind in (
        ("resid_post_all/layer_1_width_16k_l0_small", "model.layers.{layer}.output", "model.layers.{layer}.output",
         "res"),
        ("mlp_out_all/layer_1_width_16k_l0_small", "model.layers.{layer}.post_feedforward_layernorm.output",
         "model.layers.{layer}.post_feedforward_layernorm.output", "mlp"),
        ("transcoder_all/layer_1_width_16k_l0_small_affine", "model.layers.{layer}.pre_feedforward_layernorm.output",
         "model.layers.{layer}.post_feedforward_layernorm.output", "transcoder"),
    ):
        params = jumprelu_params(rng, 64, 16384, lowercase=True)
        if kind == "transcoder":
            params["affine_skip_connection"] = _random((64, 64), rng, 0.1)  # stored [d_in, d_out]
        config = gemma_scope_2_config(1, hook_in, hook_out, transcoder=kind == "transcoder",
                                      affine=kind == "transcoder")
        files[f"{folder}/config.json"] = _json(config)
        files[f"{folder}/params.safetensors"] = _safetensors(params)
        written[kind] = params
    lay_out(cache, GEMMA3_REPO, files)

    # Gemma Scope, Gemma 2 2b: the MLP-output SAE of layer 1 (canonical: average_l0_105), and a booby-trapped layer 0
    gemma2 = build_tiny_model(root / "gemma-2-2b", "gemma2", hidden=2304, heads=2, intermediate=64)
    params = jumprelu_params(rng, 2304, 16384, lowercase=False)
    trap = {"W_enc": np.array([Trap()], dtype=object), "W_dec": np.zeros((2, 2), np.float32)}
    lay_out(cache, GEMMA2_REPO, {"layer_1/width_16k/average_l0_105/params.npz": _npz(params),
                                 "layer_0/width_16k/average_l0_119/params.npz": _npz(trap)})
    written["gemma2"] = params
    del params

    # GPT-2 small: jbloom's residual SAEs (blocks.1.hook_resid_pre: after layer 0) and OpenAI's v5 TopK mlp_out SAEs
    gpt2 = build_tiny_model(root / "gpt2", "gpt2")
    res = {"W_enc": _random((64, 24576), rng), "W_dec": _random((24576, 64), rng),
           "b_enc": _random((24576,), rng, 0.05), "b_dec": _random((64,), rng, 0.05)}
    res_cfg = {  # the pre-6.0 keys of jbloom/GPT2-Small-SAEs-Reformatted's cfg.json
        "model_name": "gpt2-small", "hook_point": "blocks.1.hook_resid_pre", "hook_point_layer": 1,
        "hook_point_head_index": None, "dataset_path": "Skylion007/openwebtext", "is_dataset_tokenized": False,
        "context_size": 128, "use_cached_activations": False, "d_in": 64, "d_sae": 24576, "expansion_factor": 32,
        "b_dec_init_method": "geometric_median", "n_batches_in_buffer": 128, "total_training_tokens": 300000000,
        "store_batch_size": 32, "device": "mps", "seed": 42, "dtype": "torch.float32", "l1_coefficient": 8e-05,
        "lr": 0.0004, "lr_scheduler_name": None, "lr_warm_up_steps": 5000, "train_batch_size": 4096,
        "use_ghost_grads": False, "feature_sampling_window": 1000, "dead_feature_window": 5000,
        "dead_feature_threshold": 1e-08, "log_to_wandb": True, "wandb_project": "mats_sae_training_gpt2_small",
        "run_name": "24576-L1-8e-05-LR-0.0004-Tokens-3.000e+08",
    }
    mlp = {"W_enc": _random((64, 32768), rng), "W_dec": _random((32768, 64), rng),
           "b_enc": _random((32768,), rng, 0.05), "b_dec": _random((64,), rng, 0.05)}
    mlp_cfg = {  # pre-6.0 keys as the sae-lens loader reads them: a TopK (k = 32) SAE on layer-normed inputs
        "architecture": "standard", "d_in": 64, "d_sae": 32768, "dtype": "torch.float32", "device": "cpu",
        "model_name": "gpt2-small", "hook_name": "blocks.1.hook_mlp_out", "hook_layer": 1, "hook_head_index": None,
        "activation_fn_str": "topk", "activation_fn_kwargs": {"k": 32}, "apply_b_dec_to_input": True,
        "finetuning_scaling_factor": False, "context_size": 64, "prepend_bos": True,
        "dataset_path": "Skylion007/openwebtext", "normalize_activations": "layer_norm",
    }
    sparsity = {"sparsity": -rng.random(24576, dtype=np.float32) * 5}
    lay_out(cache, GPT2_REPO, {"blocks.1.hook_resid_pre/cfg.json": _json(res_cfg),
                               "blocks.1.hook_resid_pre/sae_weights.safetensors": _safetensors(res),
                               "blocks.1.hook_resid_pre/sparsity.safetensors": _safetensors(sparsity)})
    lay_out(cache, GPT2_MLP_REPO, {"v5_32k_layer_1/cfg.json": _json(mlp_cfg),
                                   "v5_32k_layer_1/sae_weights.safetensors": _safetensors(mlp)})
    written["gpt2-res"], written["gpt2-mlp"] = res, mlp
    return {"cache": cache, "gemma3": gemma3, "gemma2": gemma2, "gpt2": gpt2, "params": written}


@pytest.fixture
def offline(releases, monkeypatch):
    """The hub cache points at the laid-out one, the hub is offline, and no socket may connect."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_CACHE", str(releases["cache"]))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(releases["cache"]))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    def refuse(*args, **kwargs):
        raise OSError("the network was used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return releases


@pytest.fixture(scope="module")
def benches(releases):
    return {family: wb.Workbench(str(releases[family]), journal=False) for family in ("gemma3", "gemma2", "gpt2")}


def _t(array):
    return torch.from_numpy(np.asarray(array))


def jumprelu(x, p):
    """Gemma Scope's encoder: the pre-activation where it exceeds its threshold, else 0."""
    pre = x @ _t(p.get("w_enc", p.get("W_enc"))) + _t(p["b_enc"])
    return pre * (pre > _t(p["threshold"]))


def check(bench, name, site, family, expected_fn, k=8):
    acts = bench.activations(TEXT, sae=name, k=k)
    assert (acts.layer, acts.site) == (site.layer, site.kind)
    x = raw(bench, family, site.layer, site.kind, torch.tensor([acts.token_ids]))[0]
    with torch.no_grad():
        dense = expected_fn(x)
    assert (dense > 0).any()
    assert np.allclose(acts.top_values, dense.topk(k, dim=-1).values.clamp_min(0).numpy(), atol=1e-3)
    latent = int(acts.top_latents[len(acts) // 2, 0])
    assert np.allclose(acts.feature(latent), dense[:, latent].numpy(), atol=1e-3)


@pytest.mark.parametrize(("release", "sae_id", "kind", "site", "site_out"), [
    ("gemma-scope-2-270m-pt-res-all", "layer_1_width_16k_l0_small", "res", Site(1), Site(1)),
    ("gemma-scope-2-270m-pt-mlp-all", "layer_1_width_16k_l0_small", "mlp", Site(1, "mlp_out"), Site(1, "mlp_out")),
    ("gemma-scope-2-270m-pt-transcoders-all", "layer_1_width_16k_l0_small_affine", "transcoder", Site(1, "mlp_in"),
     Site(1, "mlp_out")),
])
def test_gemma_scope_2_for_gemma_3_loads_offline(offline, benches, release, sae_id, kind, site, site_out):
    bench = benches["gemma3"]
    params = offline["params"][kind]
    entry = bench.saes.load(release, sae_id)
    try:
        assert (entry.site, entry.site_out, entry.d_sae) == (site, site_out, 16384)
        assert entry.source == f"{release}/{sae_id}" and entry.name == sae_id
        check(bench, sae_id, site, "gemma2", lambda x: jumprelu(x, params))   # Gemma 3 layers are Gemma-style
        if kind == "transcoder":
            assert entry.transcoder and type(entry.sae).__name__ == "JumpReLUSkipTranscoder"
            x = torch.randn(3, 64)
            out = jumprelu(x, params) @ _t(params["w_dec"]) + _t(params["b_dec"]) + x @ _t(
                params["affine_skip_connection"])
            with torch.no_grad():
                assert torch.allclose(entry.sae(x), out, atol=1e-3)   # what it writes: the MLP's output
    finally:
        bench.saes._items.pop(sae_id)


def test_gemma_scope_for_gemma_2_loads_offline(offline, benches):
    bench = benches["gemma2"]
    params = offline["params"]["gemma2"]
    entry = bench.saes.load("gemma-scope-2b-pt-mlp-canonical", "layer_1/width_16k/canonical", name="gs")
    try:
        assert entry.site == Site(1, "mlp_out") and entry.hook == "model.layers.1.post_feedforward_layernorm.output"
        assert type(entry.sae).__name__ == "JumpReLUSAE" and entry.sae.W_enc.shape == (2304, 16384)
        check(bench, "gs", Site(1, "mlp_out"), "gemma2", lambda x: jumprelu(x, params))
    finally:
        bench.saes._items.pop("gs")


def test_a_pickle_in_a_release_is_never_unpickled(offline, benches):
    """Gemma Scope's params.npz is numpy data: an object array in one is refused, its pickle never run."""
    with pytest.raises(ValueError, match="allow_pickle"):
        benches["gemma2"].saes.load("gemma-scope-2b-pt-mlp-canonical", "layer_0/width_16k/canonical")
    assert PICKLED == [] and "layer_0/width_16k/canonical" not in benches["gemma2"].saes


def test_gpt2_releases_load_offline(offline, benches):
    bench = benches["gpt2"]
    res, mlp = offline["params"]["gpt2-res"], offline["params"]["gpt2-mlp"]
    entry = bench.saes.load("gpt2-small-res-jb", "blocks.1.hook_resid_pre", name="res")
    try:
        # resid_pre of block 1 is the stream after layer 0; the release was trained with TransformerLens's
        # center_writing_weights (its config_overrides), so the stream is centred before it is encoded
        assert entry.site == Site(0) and entry.center and type(entry.sae).__name__ == "StandardSAE"

        def standard(x):
            x = x - x.mean(-1, keepdim=True)
            return torch.relu((x - _t(res["b_dec"])) @ _t(res["W_enc"]) + _t(res["b_enc"]))

        check(bench, "res", Site(0), "gpt2", standard)
    finally:
        bench.saes._items.pop("res")
    entry = bench.saes.load("gpt2-small-mlp-out-v5-32k", "blocks.1.hook_mlp_out", name="mlp")
    try:
        assert entry.site == Site(1, "mlp_out") and not entry.center and type(entry.sae).__name__ == "TopKSAE"

        def topk(x):
            x = x - x.mean(-1, keepdim=True)
            x = x / (x.std(-1, keepdim=True) + 1e-5)   # normalize_activations: layer_norm
            pre = (x - _t(mlp["b_dec"])) @ _t(mlp["W_enc"]) + _t(mlp["b_enc"])
            top = pre.topk(32, dim=-1)
            return torch.zeros_like(pre).scatter(-1, top.indices, top.values.relu())

        check(bench, "mlp", Site(1, "mlp_out"), "gpt2", topk)
    finally:
        bench.saes._items.pop("mlp")


@pytest.mark.parametrize(("family", "release", "sae_id", "trained_on"), [
    ("gemma3", "gemma-scope-2b-pt-mlp-canonical", "layer_1/width_16k/canonical", "gemma-2-2b"),
    ("gemma2", "gemma-scope-2-270m-pt-res-all", "layer_1_width_16k_l0_small", "google/gemma-3-270m"),
    ("gpt2", "gemma-scope-2-270m-pt-res-all", "layer_1_width_16k_l0_small", "google/gemma-3-270m"),
    ("gemma3", "gpt2-small-res-jb", "blocks.1.hook_resid_pre", "gpt2-small"),
])
def test_a_release_for_another_model_is_refused_naming_both(offline, benches, family, release, sae_id, trained_on):
    bench = benches[family]
    with pytest.raises(ValueError, match="was trained on") as refused:
        bench.saes.load(release, sae_id)
    message = str(refused.value)
    assert repr(trained_on) in message and repr(bench.model_name) in message and "check_model=False" in message
    assert sae_id not in bench.saes


def test_check_model_false_still_checks_sizes(offline, benches):
    with pytest.raises(ValueError, match=r"inputs of size 2304, but .* hidden size 64"):
        benches["gemma3"].saes.load("gemma-scope-2b-pt-mlp-canonical", "layer_1/width_16k/canonical",
                                    check_model=False)


def test_what_is_not_cached_fails_offline_naming_the_cache(offline, benches):
    with pytest.raises(Exception, match=r"cache|offline|OFFLINE") as failed:
        benches["gemma3"].saes.load("gemma-scope-2-270m-pt-res-all", "layer_0_width_16k_l0_small")
    assert "network was used" not in str(failed.value)


def test_model_names_match_as_documented(benches):
    from workbench import _sae_hub

    assert _sae_hub.model_key("google/gemma-3-270m") == _sae_hub.model_key("/tmp/x/gemma-3-270m")
    assert _sae_hub.model_key("gpt2-small") == _sae_hub.model_key("openai-community/gpt2") == "gpt2"
    assert _sae_hub.model_key("google/gemma-2-2b-it") != _sae_hub.model_key("gemma-2-2b")
    names = _sae_hub.loaded_model_names(benches["gpt2"])
    assert any(name.endswith("gpt2") for name in names)
    snapshot = "/home/u/.cache/huggingface/hub/models--google--gemma-2-2b/snapshots/0123abcd"

    class Fake:
        model_name, source = snapshot, type("S", (), {"location": snapshot})()
        module = type("M", (), {"config": type("C", (), {"_name_or_path": snapshot})()})()

    assert "google/gemma-2-2b" in _sae_hub.loaded_model_names(Fake())
