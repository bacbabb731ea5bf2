"""The default model and SAE through the simulated remote backend (``remote="local"``) give what they give locally.

``default_bench`` runs every trace in this process; ``remote_bench`` holds the same
embedded weights but serializes each trace and generation exactly as for NDIF and runs the
deserialized copy with the workbench hidden (:mod:`workbench.remote`). The unit tier
(tests/unit/test_remote_local.py) covers every technique on the tiny model; this is the
same check at the default model's scale, on the techniques of the auditing path: the
activation panel's read, seeded samples with a prefill, steering with the default SAE's
latent, a probe over every layer, semantic search, a steering slider's move (one bundled
session), a diff of two remote sessions (one request each), a decoder projection split under
the server's ~1 MB body limit, and the request counts of each. With
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
