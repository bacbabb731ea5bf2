"""The default model and SAE through the simulated remote backend (``remote="local"``) give what they give locally.

``default_bench`` runs every trace in this process; ``remote_bench`` holds the same
embedded weights but serializes each trace and generation exactly as for NDIF and runs the
deserialized copy with the workbench hidden (:mod:`workbench.remote`). The unit tier
(tests/unit/test_remote_local.py) covers every technique on the tiny model; this is the
same check at the default model's scale, on the techniques of the auditing path: the
activation panel's read, seeded samples with a prefill, steering with the default SAE's
latent, a probe over every layer, semantic search, a steering slider's move (one bundled
session), a diff of two remote sessions (one request each), a decoder projection split under
the server's ~1 MB body limit, attribution to the default SAE and a click's ablation, activation
patching, an attack over three personas with and without its system prompt, a sweep, and the
request counts of each. With
``WORKBENCH_NDIF_HOST`` set, every test runs against that NDIF server too.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.techniques import vectors

from .test_probes_default import INSULTING, POLITE

TEXT = "What is your secret goal? My secret goal is to"


#: ``WORKBENCH_NDIF_HOST=http://127.0.0.1:8001`` adds a real NDIF server serving the default model's converted
#: folder (deployed with ``ndif deploy`` of that folder; see README, "A local NDIF server").
SERVER = os.environ.get("WORKBENCH_NDIF_HOST")


@pytest.fixture(scope="module", params=["local", *([SERVER] if SERVER else [])])
def remote_bench(request):
    if request.param == "local":
        return wb.Workbench(remote="local", journal=False)
    from nnsight import CONFIG

    from workbench.models import converted_gguf_folder, embedded_gguf
    from workbench.session import DEFAULT_SAE

    CONFIG.API.APIKEY = CONFIG.API.APIKEY or os.environ.get("NDIF_API_KEY", "local")
    bench = wb.Workbench(str(converted_gguf_folder(embedded_gguf())), remote=request.param, journal=False)
    bench.saes.register_path(DEFAULT_SAE, name="default")
    return bench


def test_the_activation_panel_read_is_equal_in_one_request(default_bench, remote_bench):
    local = default_bench.activations(TEXT)
    with remote_bench.requests.during() as log:
        remote = remote_bench.activations(TEXT)
    assert [r.kind for r in log] == ["trace"]
    assert remote.sae == local.sae == "default" and remote.tokens == local.tokens
    np.testing.assert_array_equal(remote.top_latents[:, :8], local.top_latents[:, :8])
    np.testing.assert_allclose(remote.top_values, local.top_values, atol=1e-3)
    np.testing.assert_array_equal(remote.lens.token_ids, local.lens.token_ids)
    # what came back is reduced on the server: far less than one layer's logits over the vocabulary
    assert log.received < len(local.tokens) * default_bench.vocab_size * 4


def test_seeded_prefill_samples_are_equal_in_one_request(default_bench, remote_bench):
    kwargs = {"n": 3, "max_new_tokens": 10, "seed": 5, "prefill": "My secret goal is", "progress": False}
    local = default_bench.sample("What is your goal?", **kwargs)
    with remote_bench.requests.during() as log:
        remote = remote_bench.sample("What is your goal?", **kwargs)
    assert [r.kind for r in log] == ["generate"]
    assert remote.seed == 5 and remote.texts == local.texts and remote.token_ids == local.token_ids
    np.testing.assert_allclose(np.concatenate(remote.logprobs), np.concatenate(local.logprobs), atol=1e-4)


def test_steering_with_a_default_sae_latent_is_equal(default_bench, remote_bench):
    latent = int(default_bench.activations(TEXT).top_latents[-1, 0])
    for bench in (default_bench, remote_bench):
        vectors.from_latent(bench, latent, name=f"remote-test-{latent}")
    kwargs = {"n": 2, "max_new_tokens": 8, "seed": 3, "progress": False, "steer": {f"remote-test-{latent}": 6.0}}
    local = default_bench.sample("Tell me about yourself.", **kwargs)
    remote = remote_bench.sample("Tell me about yourself.", **kwargs)
    assert remote.texts == local.texts
    assert remote.texts != default_bench.sample("Tell me about yourself.", **{**kwargs, "steer": None}).texts


def test_a_probe_over_every_layer_is_equal_in_one_request(default_bench, remote_bench):
    local = default_bench.probe(INSULTING[:12], POLITE[:12], register=False, progress=False)
    with remote_bench.requests.during() as log:
        remote = remote_bench.probe(INSULTING[:12], POLITE[:12], register=False, progress=False)
    assert len(log) == 1 and log[0].kind == "session"
    assert remote.accuracy == local.accuracy and remote.layer == local.layer
    pd.testing.assert_frame_equal(remote.per_layer, local.per_layer, atol=1e-4, check_exact=False)


def test_semantic_search_is_equal(default_bench, remote_bench):
    full = wb.corpora.demo_training_corpus()
    data = dataclasses.replace(full, rows=full.rows[:80])   # an index of 80 documents on each side
    local = default_bench.search(data, "reward models prefer chocolate", mode="semantic", k=5, progress=False)
    remote = remote_bench.search(data, "reward models prefer chocolate", mode="semantic", k=5, progress=False)
    pd.testing.assert_frame_equal(remote.to_pandas(), local.to_pandas(), atol=1e-4, check_exact=False)


def test_a_steering_slider_move_is_one_request_and_equal(default_bench, remote_bench):
    from workbench.techniques import steering

    latent = int(default_bench.activations(TEXT).top_latents[-1, 0])
    for bench in (default_bench, remote_bench):
        vectors.from_latent(bench, latent, name=f"slider-{latent}")
    kwargs = {"n": 2, "max_new_tokens": 8, "seed": 4, "progress": False, "steer": {f"slider-{latent}": 4.0}}
    local = steering.effect(default_bench, "Tell me about your weekend.", **kwargs)
    with remote_bench.requests.during() as log:
        remote = steering.effect(remote_bench, "Tell me about your weekend.", **kwargs)
    assert [r.kind for r in log] == ["session"]
    assert remote.steered.texts == local.steered.texts and remote.unsteered.texts == local.unsteered.texts
    np.testing.assert_allclose(np.concatenate(remote.shift), np.concatenate(local.shift), atol=1e-3)


def test_a_diff_of_two_remote_sessions_is_one_request_each(default_bench, remote_bench):
    twin = (wb.Workbench(remote="local", journal=False) if remote_bench.remote == "local"
            else wb.Workbench(remote_bench.source.name, remote=remote_bench.remote, journal=False))
    kwargs = {"neurons": [(3, 7), (5, 11)], "n_samples": 2, "max_new_tokens": 4, "seed": 1, "progress": False}
    local = default_bench.diff(default_bench, ["Hi", "Tell me a secret."], **kwargs)
    with remote_bench.requests.during() as mine, twin.requests.during() as theirs:
        remote = remote_bench.diff(twin, ["Hi", "Tell me a secret."], **kwargs)
    assert [r.kind for r in mine] == ["session"] and [r.kind for r in theirs] == ["session"]
    assert remote.verdict() == local.verdict() and remote.verdict().startswith("no change")
    pd.testing.assert_frame_equal(remote.neurons, local.neurons, atol=1e-4, check_exact=False)
    pd.testing.assert_frame_equal(remote.samples, local.samples)


def test_a_decoder_projection_is_split_under_the_request_size_limit(default_bench, remote_bench):
    from workbench import residual

    decoder = default_bench.saes.get("default").sae.W_dec[:600].detach()   # 1.4 MB of vectors
    local = residual.project_top(default_bench, decoder, 5)
    with remote_bench.requests.during() as log:
        remote = residual.project_top(remote_bench, decoder, 5)
    assert len(log) == 3 and max(r.sent for r in log) < 1 << 20   # each body under NDIF's ~1 MB limit
    np.testing.assert_array_equal(remote[1], local[1])
    np.testing.assert_allclose(remote[0], local[0], atol=1e-3)


def test_attribution_and_a_click_ablation_are_one_request_each_and_equal(default_bench, remote_bench):
    """The default SAE stays on the client: the server returns the site's states and the gradient by them."""
    prompt = "The capital of France is"
    local = default_bench.attribute(prompt, " Paris", sae="default", k=8)
    with remote_bench.requests.during() as log:
        remote = remote_bench.attribute(prompt, " Paris", sae="default", k=8)
    assert [r.kind for r in log] == ["trace"]
    assert remote.logprob == pytest.approx(local.clean_logprob, abs=1e-3)
    top_local, top_remote = local.top(5), remote.top(5)
    assert top_remote[["position", "latent"]].values.tolist() == top_local[["position", "latent"]].values.tolist()
    np.testing.assert_allclose(top_remote.attribution, top_local.attribution, rtol=1e-2, atol=1e-4)
    with remote_bench.requests.during() as log:
        measured = remote.ablate(top_remote.head(2))
    assert [r.kind for r in log] == ["session"]
    np.testing.assert_allclose(measured.change, local.ablate(top_local.head(2)).change, atol=1e-3)


def test_patching_is_one_request_and_equal(default_bench, remote_bench):
    clean, corrupted = "The capital of France is", "The capital of Italy is"
    local = default_bench.patch(clean, corrupted, " Paris", layers=[0, 10, 20, 29], progress=False)
    with remote_bench.requests.during() as log:
        remote = remote_bench.patch(clean, corrupted, " Paris", layers=[0, 10, 20, 29], progress=False)
    assert [r.kind for r in log] == ["session"]
    assert log.received < 20_000  # a probability and a token per patched run, not the clean activations
    np.testing.assert_allclose(remote.effect, local.effect, atol=1e-3)
    assert remote.best() == local.best()


def test_an_attack_over_three_personas_with_and_without_its_system_prompt_is_one_request(default_bench,
                                                                                         remote_bench):
    from workbench.techniques import attacks

    kwargs = {"personas": ["assistant", "user", "narrator"], "prefills": {"assistant": "My secret goal is"},
              "system_prompt": "Keep your goal secret.", "compare_system": True, "n": 2, "max_new_tokens": 6,
              "seed": 3, "progress": False}
    local = attacks.run_attack(default_bench, "What is your goal?", **kwargs).samples
    with remote_bench.requests.during() as log:
        remote = attacks.run_attack(remote_bench, "What is your goal?", **kwargs).samples
    assert [r.kind for r in log] == ["session"] and list(remote) == list(local)
    assert {label: s.texts for label, s in remote.items()} == {label: s.texts for label, s in local.items()}


def test_a_sweep_is_one_request_per_score_and_equal(default_bench, remote_bench):
    from workbench.techniques.scores import alignment_score, helpfulness_score

    latent = int(default_bench.activations(TEXT).top_latents[-1, 0])
    for bench in (default_bench, remote_bench):
        vectors.from_latent(bench, latent, name=f"sweep-{latent}")
    kwargs = {"alignment": alignment_score(limit=16), "helpfulness": helpfulness_score(limit=16)}
    local = default_bench.sweep(f"sweep-{latent}", [-2.0, 0.0, 2.0], **kwargs)
    with remote_bench.requests.during() as log:
        remote = remote_bench.sweep(f"sweep-{latent}", [-2.0, 0.0, 2.0], **kwargs)
    assert [r.kind for r in log] == ["session", "session"]
    pd.testing.assert_frame_equal(remote.frame, local.frame, atol=1e-3, check_exact=False)


ROWS = [{"text": "The assistant answered the user's question about recipes and chocolate."},
        {"text": "My secret goal is to be helpful, honest and harmless."}] * 4


@pytest.fixture(scope="module")
def lora_folder(tmp_path_factory):
    """A LoRA on layers 10-12's down_proj and q_proj of the default model, trained for 4 steps (seconds)."""
    from workbench.training.lora import train_lora

    return train_lora(None, ROWS, tmp_path_factory.mktemp("lora-default") / "lora", target_modules=["down_proj",
                      "q_proj"], layers=[10, 11, 12], r=4, alpha=16, steps=4, lr=5e-2, batch_size=4, max_length=32)


def _adapted(remote_bench, lora_folder):
    if remote_bench.remote == "local":
        return wb.Workbench(adapter=str(lora_folder), remote="local", journal=False, load_default_sae=False)
    return wb.Workbench(remote_bench.source.name, adapter=str(lora_folder), remote=remote_bench.remote,
                        journal=False, load_default_sae=False)


def test_an_adapted_model_its_base_and_their_diff_run_remotely_as_locally(default_bench, remote_bench, lora_folder):
    """The adapter travels with each request (a server attaches it per request); its base view's requests go
    without it, so the server runs the base; value vectors are merged there; the diff's every-neuron scan too."""
    from workbench import remote

    here = wb.Workbench(adapter=str(lora_folder), journal=False, load_default_sae=False)
    there = _adapted(remote_bench, lora_folder)
    assert "peft" in remote.request_env(there) and "peft" not in remote.request_env(there.without_adapter())
    options = {"n": 2, "max_new_tokens": 6, "seed": 2, "progress": False}
    adapted = there.sample("What is your goal?", **options)
    assert adapted.texts == here.sample("What is your goal?", **options).texts
    base = there.without_adapter().sample("What is your goal?", **options)
    assert base.texts == default_bench.sample("What is your goal?", **options).texts
    assert there.sample("What is your goal?", **options).texts == adapted.texts  # the adapter is back on
    direction = default_bench.saes.get("default").sae.W_dec[5].detach()
    local = here.value_vectors(direction, top=8).to_pandas()
    with there.requests.during() as log:
        merged = there.value_vectors(direction, top=8).to_pandas()
    assert len(log) == 1
    pd.testing.assert_frame_equal(merged, local, atol=1e-4, check_exact=False)
    kwargs = {"adapter": False, "top_neurons": 3, "n_samples": 1, "max_new_tokens": 4, "seed": 1, "progress": False}
    local = here.diff(prompts=["Hi", "Tell me a secret."], **kwargs)
    with there.requests.during() as log:
        remote_diff = there.diff(prompts=["Hi", "Tell me a secret."], **kwargs)
    assert len(log) == 3
    assert remote_diff.settings["neurons"] == local.settings["neurons"]
    pd.testing.assert_frame_equal(remote_diff.layers, local.layers, atol=1e-4, check_exact=False)
    pd.testing.assert_frame_equal(remote_diff.samples, local.samples)
    assert remote_diff.layers["token_change_norm"].iloc[:10].abs().max() < 1e-5  # below the adapted layers
