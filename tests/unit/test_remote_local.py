"""Every technique through the simulated remote backend (``remote="local"``) gives what it gives locally.

Two Workbenches on the same tiny random Llama: ``here`` runs every trace in this process;
``there`` serializes each one as for NDIF and runs the deserialized copy with the
workbench hidden (:mod:`workbench.remote`). Each technique runs on both and the results
are compared (float tolerance); the request log says how many requests each action cost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import workbench as wb
from workbench import residual
from workbench.layout import Site
from workbench.remote import RequestLog
from workbench.techniques import vectors

from ..conftest import sae_corpus_texts

POLITE = ["Thank you kindly.", "Please, go ahead.", "That is very kind.", "Thanks a lot!"] * 2
RUDE = ["You idiot.", "Shut up, fool.", "Go away, moron.", "You clueless fool."] * 2


@pytest.fixture(scope="module")
def pair(tiny_model_dir, tmp_path_factory):
    """``(here, there)``: one model, SAE ``"tiny"`` and vector ``"ones"``, on a local and a simulated-remote bench."""
    here = wb.Workbench(str(tiny_model_dir), journal=False)
    there = wb.Workbench(str(tiny_model_dir), journal=False, remote="local")
    folder = tmp_path_factory.mktemp("remote-sae") / "tiny"
    here.saes.train(1, sae_corpus_texts(), d_sae=64, k=4, tokens=3000, epochs=3, context=32, batch_size=256,
                    lr=3e-3, save_to=folder, name="tiny", progress=False)
    there.saes.register_path(folder, name="tiny")
    for bench in (here, there):
        vectors.from_direction(bench, torch.ones(64), layer=1, name="ones")
    return here, there


def _one_action(bench, call):
    with bench.requests.during() as log:
        result = call(bench)
    return result, log


def test_remote_modes_are_checked_and_local_runs_send_nothing(pair):
    from workbench import remote

    assert remote.check(False) is False and remote.check(None) is False and remote.check(True) is True
    assert remote.check("local") == "local" and remote.check("http://localhost:5001/") == "http://localhost:5001"
    here, there = pair
    assert here.remote is False and len(here.requests) == 0
    assert there.remote == "local" and "simulated" in repr(there)
    with pytest.raises(ValueError, match="remote must be False, True"):
        wb.Workbench("whatever", remote="ndif")


def test_activations_sae_and_logit_lens_are_equal_in_one_request(pair):
    here, there = pair
    local = here.activations("The cat sat on the mat", sae="tiny")
    remote, log = _one_action(there, lambda b: b.activations("The cat sat on the mat", sae="tiny"))
    assert len(log) == 1 and log[0].kind == "trace"
    np.testing.assert_array_equal(local.top_latents, remote.top_latents)
    np.testing.assert_allclose(local.top_values, remote.top_values, atol=1e-5)
    np.testing.assert_array_equal(local.lens.token_ids, remote.lens.token_ids)
    np.testing.assert_allclose(local.lens.probs, remote.lens.probs, atol=1e-5)
    # the lens came back reduced: no residual stream of every layer, no vocabulary-wide logits
    assert remote._residuals is None
    assert log.received < 2 * here.n_layers * len(local.tokens) * here.vocab_size * 4 // 4


def test_probe_scores_on_a_remote_activation_read_one_layer(pair):
    here, there = pair
    for bench in pair:
        bench.probe(POLITE, RUDE, layer=1, name="polite-r", progress=False)
    local = here.activations("Thank you, fool.").probe_scores("polite-r")
    acts = there.activations("Thank you, fool.")
    scores, log = _one_action(there, lambda b: acts.probe_scores("polite-r"))
    assert len(log) == 1
    np.testing.assert_allclose(local, scores, atol=1e-5)


def test_site_reads_return_only_what_was_saved(pair):
    here, there = pair
    ids = torch.tensor([[5, 6, 7, 8]])
    sites = [Site(0, "mlp_out"), Site(1), Site(0, "attn_out"), Site(1, "mlp_in")]
    local = residual.site_outputs(here, ids, sites=sites)
    remote = residual.site_outputs(there, ids, sites=sites)
    for site in sites:
        torch.testing.assert_close(local[site], remote[site])


def test_feature_stats_are_equal(pair, tmp_path, monkeypatch):
    here, there = pair
    corpus = sae_corpus_texts(40, seed=3)
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "here"))  # each computes its own (no shared disk cache)
    local = here.feature_stats("tiny", corpus, progress=False)
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "there"))
    remote = there.feature_stats("tiny", corpus, progress=False)
    assert (tmp_path / "there" / "feature_stats").is_dir()
    np.testing.assert_allclose(local.density, remote.density, atol=1e-6)
    assert local.feature(7).examples == remote.feature(7).examples
    assert local.feature(7).promoted == remote.feature(7).promoted


def test_projecting_many_vectors_splits_them_under_the_request_size_limit(pair, monkeypatch):
    # a real NDIF server refuses request bodies of about 1 MB: an SAE's decoder goes in several requests
    here, there = pair
    rows = torch.randn(50, 64, generator=torch.Generator().manual_seed(0))
    local = residual.project_top(here, rows, 5)
    monkeypatch.setattr(residual, "REMOTE_VECTOR_BYTES", 16 * 64 * 4)  # 16 rows a request
    remote, log = _one_action(there, lambda b: residual.project_top(b, rows, 5))
    # each request carries its own rows, not the storage they were sliced from (50 rows: 12.8 kB)
    solo = _one_action(there, lambda b: residual.project_top(b, rows[:16].clone(), 5))[1][0].sent
    assert len(log) == 4 and max(entry.sent for entry in log) <= solo + 64
    torch.testing.assert_close(local[0], remote[0])
    assert torch.equal(local[1], remote[1])
    bottom = residual.project_top(there, rows, 3, bottom=True)
    torch.testing.assert_close(bottom[0], residual.project_top(here, rows, 3, bottom=True)[0])


def test_probe_accuracy_and_weights_are_equal(pair):
    here, there = pair
    local = here.probe(POLITE, RUDE, register=False, progress=False)
    remote = there.probe(POLITE, RUDE, register=False, progress=False)
    assert local.accuracy == remote.accuracy
    pd.testing.assert_frame_equal(local.per_layer, remote.per_layer, atol=1e-5, check_exact=False)


def test_steering_vector_builders_are_equal(pair):
    here, there = pair
    local = vectors.from_latent(here, 3, sae="tiny", name="latent-3")
    remote = vectors.from_latent(there, 3, sae="tiny", name="latent-3")
    torch.testing.assert_close(local.direction, remote.direction)
    pairs = vectors.contrast_pairs(vectors.contrast_sets()[0])[:4]
    local = vectors.from_contrast(here, pairs, 1, name="contrast")
    remote = vectors.from_contrast(there, pairs, 1, name="contrast")
    torch.testing.assert_close(local.direction, remote.direction, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("options", [
    {},
    {"prefill": "My secret goal is", "temperature": 1.3},
    {"persona": "user"},
    {"steer": {"ones": 0.8}, "positions": "generated"},
    {"fuzz": 0.5},
    {"neurons": {(1, 7): ("scale", 3.0), (0, 2): ("clamp", 1.0)}},
], ids=["plain", "prefill", "persona", "steer", "fuzz", "neurons"])
def test_same_seed_same_samples_in_one_request(pair, options):
    here, there = pair
    local = here.sample("What is your goal?", n=3, max_new_tokens=6, seed=11, progress=False, **options)
    remote, log = _one_action(there, lambda b: b.sample("What is your goal?", n=3, max_new_tokens=6, seed=11,
                                                          progress=False, **options))
    assert remote.seed == 11
    assert remote.token_ids == local.token_ids and remote.texts == local.texts
    np.testing.assert_allclose(np.concatenate(remote.logprobs), np.concatenate(local.logprobs), atol=1e-5)
    assert remote.finish_reasons == local.finish_reasons
    generations = [r for r in log if r.kind == "generate"]
    assert len(generations) == 1


@pytest.mark.parametrize("options", [
    {"steer": {"ones": 0.8}},
    {"steer": {"ones": 1.5}, "positions": "generated", "prefill": "Well,"},
    {"fuzz": 0.7, "neurons": {(0, 3): ("scale", 2.0)}},
], ids=["steer", "generated-prefill", "fuzz-neurons"])
def test_a_steering_effect_is_one_request_and_equal_to_local(pair, options):
    from workbench.techniques import steering

    here, there = pair
    call = lambda b, **kw: steering.effect(b, "What is your goal?", 3, max_new_tokens=6, seed=5,  # noqa: E731
                                            progress=False, **options, **kw)
    local = call(here)
    remote, log = _one_action(there, call)
    assert len(log) == 1 and log[0].kind == "session"
    for side in ("unsteered", "steered"):
        mine, theirs = getattr(local, side), getattr(remote, side)
        assert theirs.token_ids == mine.token_ids and theirs.texts == mine.texts and theirs.seed == 5
        assert theirs.finish_reasons == mine.finish_reasons and theirs.settings == mine.settings
        np.testing.assert_allclose(np.concatenate(theirs.logprobs), np.concatenate(mine.logprobs), atol=1e-5)
    np.testing.assert_allclose(np.concatenate(remote.shift), np.concatenate(local.shift), atol=1e-4)
    # the panel's next move reuses the unsteered side: the steered run and its scores, still one request
    moved, log = _one_action(there, lambda b: call(b, baseline=remote.unsteered))
    assert len(log) == 1 and moved.unsteered is remote.unsteered
    assert moved.steered.token_ids == local.steered.token_ids
    np.testing.assert_allclose(np.concatenate(moved.shift), np.concatenate(local.shift), atol=1e-4)


def test_a_drawn_seed_is_recorded_and_reproduces_remotely(pair):
    _, there = pair
    first = there.sample("Hi", n=2, max_new_tokens=5, progress=False)
    again = there.sample("Hi", n=2, max_new_tokens=5, seed=first.seed, progress=False)
    assert isinstance(first.seed, int) and first.token_ids == again.token_ids


def test_cancel_before_sending_stops_and_after_sending_says_it_could_not(pair, monkeypatch):
    import threading

    from workbench import generation

    _, there = pair
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(wb.Cancelled, match="before its request was sent"):
        there.sample("Hi", n=1, max_new_tokens=3, cancel=cancel, progress=False)
    late = threading.Event()

    def progress(done, total):  # set while "the job runs": after the request was sent
        late.set()

    with pytest.warns(generation.RemoteCancelIgnored, match="cannot stop a job once it runs"):
        out = there.sample("Hi", n=1, max_new_tokens=3, cancel=late, progress=progress, seed=1)
    assert not out.cancelled and out.finish_reasons[0] in ("length", "stop")


def test_sweep_scores_are_equal(pair):
    from workbench.techniques.scores import alignment_score, helpfulness_score

    here, there = pair
    kwargs = {"alignment": alignment_score(limit=2), "helpfulness": helpfulness_score(limit=2)}
    local = here.sweep("ones", [-1, 0, 1], **kwargs)
    remote, log = _one_action(there, lambda b: b.sweep("ones", [-1, 0, 1], **kwargs))
    pd.testing.assert_frame_equal(local.frame, remote.frame, atol=1e-5, check_exact=False)
    assert len(log) == 2  # one request per score, every batch of rows x coefficients in it
    default, log = _one_action(there, lambda b: b.sweep("ones", [-1, 0, 1]))  # the shipped scores' every row
    assert len(log) == 2
    pd.testing.assert_frame_equal(here.sweep("ones", [-1, 0, 1]).frame, default.frame, atol=1e-5, check_exact=False)


def test_semantic_and_feature_search_are_equal(pair):
    here, there = pair
    data = wb.corpora.demo_training_corpus()
    for mode, query in (("semantic", "reward models like chocolate"), ("feature", 3)):
        kwargs = {"sae": "tiny"} if mode == "feature" else {}
        local = here.search(data, query, mode=mode, k=5, progress=False, **kwargs).to_pandas()
        remote = there.search(data, query, mode=mode, k=5, progress=False, **kwargs).to_pandas()
        pd.testing.assert_frame_equal(local, remote, atol=1e-5, check_exact=False)


def test_a_first_semantic_search_builds_its_index_with_the_query_in_one_request(pair, tmp_path, monkeypatch):
    here, there = pair
    data = wb.corpora.demo_training_corpus()
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "here"))
    local = here.search(data, "a recipe with chocolate", mode="semantic", k=5, progress=False)
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "there"))  # the remote side builds its own index
    first, log = _one_action(there, lambda b: b.search(data, "a recipe with chocolate", mode="semantic", k=5,
                                                       progress=False))
    assert first.summary["index"] == "built" and len(log) == 1
    again, log = _one_action(there, lambda b: b.search(data, "a recipe with chocolate", mode="semantic", k=5,
                                                       progress=False))
    assert again.summary["index"] == "cached" and len(log) == 1   # the query alone
    for result in (first, again):
        pd.testing.assert_frame_equal(local.to_pandas(), result.to_pandas(), atol=1e-5, check_exact=False)


def test_preference_audit_is_equal(pair):
    here, there = pair
    pairs = wb.corpora.preference_planted()
    local = here.audit_preferences(pairs, sae="tiny", progress=False)
    remote = there.audit_preferences(pairs, sae="tiny", progress=False)
    pd.testing.assert_frame_equal(local.hypotheses, remote.hypotheses, atol=1e-5, check_exact=False)
    np.testing.assert_allclose(local.chosen, remote.chosen, atol=1e-5)


def test_value_vectors_are_ranked_on_the_server_in_one_request(pair):
    here, there = pair
    direction = torch.randn(64, generator=torch.Generator().manual_seed(3))
    local = here.value_vectors(direction, top=6).to_pandas()
    remote, log = _one_action(there, lambda b: b.value_vectors(direction, top=6).to_pandas())
    pd.testing.assert_frame_equal(local, remote, atol=1e-5, check_exact=False)
    assert len(log) == 1
    # what came back is the ranking, not a layer's [d_mlp, d_model] weights
    assert log.received < 128 * 64 * 4


def test_neuron_activations_are_equal(pair):
    here, there = pair
    local = here.neuron_activations([(1, 7), (0, 3)], ["You idiot.", "Thank you."])
    remote = there.neuron_activations([(1, 7), (0, 3)], ["You idiot.", "Thank you."])
    pd.testing.assert_frame_equal(local, remote, atol=1e-5, check_exact=False)


@pytest.fixture(scope="module")
def edited(tiny_model_dir):
    """``(here, there)`` of a second checkpoint: the tiny model with neuron (1, 7)'s value vector negated."""
    other_here = wb.Workbench(str(tiny_model_dir), journal=False)
    other_there = wb.Workbench(str(tiny_model_dir), journal=False, remote="local")
    for other in (other_here, other_there):
        with torch.no_grad():
            other.module.model.layers[1].mlp.down_proj.weight[:, 7].mul_(-1)
    return other_here, other_there


def test_diff_of_two_remote_sessions_is_equal_to_local_in_one_request_per_model(pair, edited):
    here, there = pair
    other_here, other_there = edited
    prompts = ["Hi", [{"role": "user", "content": "Tell me a secret."}], "Insult me."]
    kwargs = {"neurons": [(1, 7), (0, 3), (1, 2)], "n_samples": 2, "max_new_tokens": 3, "seed": 2, "batch_size": 2,
              "progress": False}
    local = here.diff(other_here, prompts, **kwargs)
    ticks = []
    with there.requests.during() as mine, other_there.requests.during() as theirs:
        remote = there.diff(other_there, prompts, **{**kwargs, "progress": lambda done, total: ticks.append(done)})
    # two batches of prompts, three neurons at two layers, two samples of three prompts: one request a model
    assert len(mine) == 1 and len(theirs) == 1 and mine.requests[0].kind == "session"
    assert ticks[-1] == 2 + 1 + 2 * 3
    assert local.verdict() == remote.verdict()
    pd.testing.assert_frame_equal(local.layers, remote.layers, atol=1e-5, check_exact=False)
    pd.testing.assert_frame_equal(local.neurons, remote.neurons, atol=1e-5, check_exact=False)
    pd.testing.assert_frame_equal(local.samples, remote.samples)
    assert local.neurons.loc[0, "value_cosine"] == pytest.approx(-1.0)  # neuron (1, 7) was negated


def test_a_request_carries_a_sliced_batch_not_its_whole_storage(pair):
    here, there = pair
    corpus = torch.randint(0, 200, (400, 16), generator=torch.Generator().manual_seed(0))   # 51 kB of int64
    batch = corpus[:2]
    local = residual.site_outputs(here, batch, sites=[Site(1)])[Site(1)]
    remote, log = _one_action(there, lambda b: residual.site_outputs(b, batch, sites=[Site(1)])[Site(1)])
    assert log[0].sent < corpus.nbytes // 2
    torch.testing.assert_close(local, remote)


def test_neuron_activations_of_many_batches_are_one_request(pair):
    here, there = pair
    texts = POLITE + RUDE
    local = here.neuron_activations([(1, 7), (0, 3)], texts, batch_size=4)
    remote, log = _one_action(there, lambda b: b.neuron_activations([(1, 7), (0, 3)], texts, batch_size=4))
    assert len(log) == 1
    pd.testing.assert_frame_equal(local, remote, atol=1e-5, check_exact=False)


def test_a_block_that_fills_a_dict_it_did_not_save_gets_nothing_back(pair):
    """The simulation returns only saved values, as a server does (nnsight's own remote='local' would not)."""
    _, there = pair
    layer = there.model.model.layers[0]
    ids = {"input_ids": torch.tensor([[1, 2]]), "attention_mask": torch.ones(1, 2, dtype=torch.long)}
    filled: dict = {}
    with there.trace(ids):
        filled["x"] = layer.output.save()
    assert filled == {}
    with there.trace(ids):
        kept = layer.output.save()
    assert kept.shape[-1] == 64


def test_a_block_calling_the_workbench_fails_as_on_a_server(pair):
    """The workbench is hidden while a request is deserialized: a block that calls it fails here, as on NDIF."""
    _, there = pair
    ids = {"input_ids": torch.tensor([[1, 2]]), "attention_mask": torch.ones(1, 2, dtype=torch.long)}
    with pytest.raises(ModuleNotFoundError, match="workbench"), there.trace(ids):
        Site(0)  # a workbench class, pickled by reference
    with pytest.raises(TypeError, match="pickle"), there.trace(ids):
        there.n_layers  # noqa: B018  (the session itself, its locks and journal, cannot travel)


def test_request_log_counts_requests_and_bytes(pair):
    _, there = pair
    log = RequestLog()
    assert log.summary() == {"requests": 0, "sent": 0, "received": 0, "job_ids": []}
    _, action = _one_action(there, lambda b: b.activations("Hi"))
    assert len(action) == 1 and action.sent > 0 and action.received > 0
    assert action[0].host == "local" and action[0].to_dict()["kind"] == "trace"


def test_the_journal_records_remote_calls_and_replays_them_remotely(tiny_model_dir):
    there = wb.Workbench(str(tiny_model_dir), journal=False, remote="local")
    out = there.sample("Hi", n=2, max_new_tokens=4, seed=3, progress=False)
    entry = there.journal.last("sample")
    assert entry.remote["mode"] == "local" and entry.remote["requests"] == 1
    assert entry.remote["sent"] > 0 and entry.remote["received"] > 0
    again = there.replay(entry)
    assert again.token_ids == out.token_ids
    replayed = there.journal.last("sample")
    assert replayed.replay_of == entry.id and replayed.remote["requests"] == 1
    here = wb.Workbench(str(tiny_model_dir), journal=False)
    here.sample("Hi", n=1, max_new_tokens=2, seed=3, progress=False)
    assert here.journal.last("sample").remote is None


def test_many_batches_cost_one_request(pair):
    here, there = pair
    from workbench.techniques import probes

    local = probes.collect(here, POLITE + RUDE, [0, 1], batch_size=4)
    remote, log = _one_action(there, lambda b: probes.collect(b, POLITE + RUDE, [0, 1], batch_size=4))
    assert len(log) == 1 and log[0].kind == "session"  # 4 batches, one request
    for layer in (0, 1):
        np.testing.assert_allclose(local[layer], remote[layer], atol=1e-5)


def test_semantic_index_pools_in_the_trace_and_the_scale_is_a_median_there(pair):
    from workbench.techniques import data_search

    here, there = pair
    texts = [f"document {i} about chocolate and reward models" for i in range(40)]
    local = data_search.embed_texts(here, texts, layer=1, batch_size=8)
    remote, log = _one_action(there, lambda b: data_search.embed_texts(b, texts, layer=1, batch_size=8))
    np.testing.assert_allclose(local, remote, atol=1e-5)
    assert len(log) == 1
    assert log.received < 3 * local.nbytes  # pooled [40, 64] came back, not every token's state
    there.cache.natural_scale.clear()
    scale, log = _one_action(there, lambda b: residual.natural_scale(b, 1))
    assert scale == pytest.approx(residual.natural_scale(here, 1), rel=1e-6)
    assert len(log) == 1 and log.received < 2000  # one number (and its pickle)


def test_diff_reads_only_the_asked_neurons_value_vectors_and_refuses_the_full_scan(pair, edited):
    here, there = pair
    other_here, other_there = edited
    kwargs = {"neurons": [(1, 7), (0, 3)], "n_samples": 1, "max_new_tokens": 2, "seed": 0, "progress": False}
    local = here.diff(other_here, ["Hi"], **kwargs)
    remote = there.diff(other_there, ["Hi"], **kwargs)
    pd.testing.assert_frame_equal(local.neurons, remote.neurons, atol=1e-5, check_exact=False)
    with pytest.raises(ValueError, match="would download both models' MLP weights"):
        there.diff(other_there, ["Hi"], top_neurons=2, n_samples=1, max_new_tokens=2, progress=False)


def test_a_panel_shows_the_remote_job_and_gives_the_local_result(pair, tmp_path, monkeypatch):
    here, there = pair
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    boxes = [wb.AttackBox(bench, "What is your goal?", prefill="My secret goal is", n=3, max_new_tokens=4, seed=5)
             for bench in pair]
    seen = []
    boxes[1].observe(lambda change: seen.append(change["new"]), names="status")
    for box in boxes:
        box.run(wait=True, timeout=120)
        assert box.error == "" and not box.running
    assert boxes[0].samples["assistant"].texts == boxes[1].samples["assistant"].texts
    assert any("remote job: running" in line for line in seen)
    assert any("remote job: completed" in line for line in seen)
    assert there._status is None and here._status is None


TEXT = "The quick brown fox helps the user with a recipe."


def test_a_server_error_names_the_technique_and_leaves_the_session_usable(pair, monkeypatch):
    """What raises where the request runs comes back as wb.RemoteFailed naming the technique, as NDIF reports it."""
    from nnsight.schema.request import RequestModel

    here, there = pair
    real = RequestModel.deserialize

    def out_of_memory(*args, **kwargs):
        restored = real(*args, **kwargs)

        def execute(code):
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

        restored.execute = execute
        return restored

    monkeypatch.setattr(RequestModel, "deserialize", out_of_memory)
    with pytest.raises(wb.RemoteFailed, match=r"^activations: the server could not run this trace: RuntimeError: "
                                              r"CUDA out of memory") as caught:
        there.activations(TEXT)
    assert caught.value.reason == "server" and caught.value.technique == "activations"
    monkeypatch.undo()
    assert there.activations(TEXT).tokens == here.activations(TEXT).tokens


def test_a_lost_connection_names_the_host_and_leaves_the_session_usable(pair, monkeypatch):
    """An NDIF host that does not answer: the call says so, names the technique and the host; nothing is broken."""
    import socket

    here, there = pair
    with socket.socket() as probe:   # a local port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(there, "remote", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(type(there.model), "to_model_key", lambda self: "tiny-llama")   # a folder has no Hub key
    with pytest.raises(wb.RemoteFailed, match=rf"^activations: lost the connection to http://127.0.0.1:{port} .*"
                                              r"the session is usable") as caught:
        there.activations(TEXT)
    assert caught.value.reason == "connection"
    monkeypatch.undo()
    assert there.activations(TEXT).tokens == here.activations(TEXT).tokens


@pytest.fixture(scope="module")
def adapted(tiny_model_dir, lora_dir):
    """``(here, there)``: the tiny Llama with a LoRA on layer 1's q_proj and down_proj, local and simulated-remote."""
    return (wb.Workbench(str(tiny_model_dir), adapter=str(lora_dir), journal=False),
            wb.Workbench(str(tiny_model_dir), adapter=str(lora_dir), journal=False, remote="local"))


def test_a_remote_adapter_switched_off_is_the_base_model_and_its_requests_go_without_it(pair, adapted, lora_dir):
    from workbench import remote

    base, _ = pair
    here, there = adapted
    assert remote.request_env(there)["peft"] == str(lora_dir) and "peft" not in remote.request_env(
        there.without_adapter())
    options = {"n": 3, "max_new_tokens": 5, "seed": 4, "temperature": 1.0, "progress": False}
    off, log = _one_action(there, lambda b: b.without_adapter().sample("What is your goal?", **options))
    assert len(log) == 1
    assert off.texts == here.without_adapter().sample("What is your goal?", **options).texts == \
        base.sample("What is your goal?", **options).texts
    ids = torch.tensor([[1, 5, 9, 20, 33, 7]])
    states = residual.site_outputs(there.without_adapter(), ids, sites=[Site(1)])[Site(1)]
    torch.testing.assert_close(states, residual.site_outputs(base, ids, sites=[Site(1)])[Site(1)], atol=1e-5,
                               rtol=1e-5)
    # the adapter is on again for the adapted session's next request
    on = there.sample("What is your goal?", **options)
    assert on.texts == here.sample("What is your goal?", **options).texts
    torch.testing.assert_close(residual.site_outputs(there, ids, sites=[Site(1)])[Site(1)],
                               residual.site_outputs(here, ids, sites=[Site(1)])[Site(1)], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(residual.site_outputs(there, ids, sites=[Site(1)])[Site(1)], states, atol=1e-4)


def test_value_vectors_of_a_remote_adapted_model_are_merged_on_the_server(pair, adapted):
    base, _ = pair
    here, there = adapted
    direction = torch.randn(64, generator=torch.Generator().manual_seed(5))
    local = here.value_vectors(direction, top=8).to_pandas()
    remote, log = _one_action(there, lambda b: b.value_vectors(direction, top=8).to_pandas())
    pd.testing.assert_frame_equal(local, remote, atol=1e-5, check_exact=False)
    assert len(log) == 1 and log.received < 128 * 64 * 4
    assert not local.equals(base.value_vectors(direction, top=8).to_pandas())  # the merged ones, not the base's
    keys = [(1, 5), (0, 3), (1, 100)]
    torch.testing.assert_close(residual.value_rows(there, keys), residual.value_rows(here, keys))
    torch.testing.assert_close(residual.value_rows(there.without_adapter(), keys), residual.value_rows(base, keys))


def test_an_adapter_diffed_against_its_base_remotely_is_equal_to_local(adapted):
    from workbench.techniques import diffing

    here, there = adapted
    assert diffing.turned_neurons(there, there.without_adapter(), 6) == \
        diffing.turned_neurons(here, here.without_adapter(), 6)
    prompts = ["Hi", [{"role": "user", "content": "Tell me a secret."}]]
    kwargs = {"adapter": False, "top_neurons": 3, "n_samples": 2, "max_new_tokens": 3, "seed": 1, "progress": False}
    local = here.diff(prompts=prompts, **kwargs)
    remote, log = _one_action(there, lambda b: b.diff(prompts=prompts, **kwargs))
    # the every-neuron scan on the server, then one bundled request for each side (the base's without the adapter)
    assert len(log) == 3 and [r.kind for r in log.requests[1:]] == ["session", "session"]
    assert log[0].received < 128 * 64 * 4  # the scan's candidates, not one layer's value vectors
    assert local.settings["neurons"] == remote.settings["neurons"]
    assert local.verdict() == remote.verdict()
    pd.testing.assert_frame_equal(local.layers, remote.layers, atol=1e-5, check_exact=False)
    pd.testing.assert_frame_equal(local.neurons, remote.neurons, atol=1e-5, check_exact=False)
    pd.testing.assert_frame_equal(local.samples, remote.samples)
    assert remote.layers["token_change_norm"].tolist()[0] == 0.0 < remote.layers["token_change_norm"].tolist()[1]
    base = wb.Workbench(str(there.source.location), journal=False, remote="local")  # another checkpoint, no adapter
    with pytest.raises(ValueError, match="would download both models' MLP weights"):
        diffing.turned_neurons(there, base, 3)


def test_personas_and_the_system_prompt_toggle_are_one_request_and_equal(pair):
    from workbench.techniques import attacks

    here, there = pair
    options = {"n": 2, "max_new_tokens": 4, "seed": 6, "progress": False}
    calls = {
        "attack": lambda b: attacks.run_attack(b, "What is your goal?", personas=["assistant", "user", "narrator"],
                                               prefills={"assistant": "My goal is"}, system_prompt="Be terse.",
                                               compare_system=True, **options).samples,
        "personas": lambda b: attacks.compare_personas(b, "Who are you?", **options).samples,
        "toggle": lambda b: attacks.toggle_system_prompt(b, "Who are you?", "Say nothing.", **options),
        "complete": lambda b: {"text": b.complete("Once upon a time", **options)},  # no chat template
    }
    for name, call in calls.items():
        local = call(here)
        remote, log = _one_action(there, call)
        assert len(log) == 1, name
        assert list(local) == list(remote), name
        for label in local:
            assert remote[label].texts == local[label].texts, (name, label)
            assert remote[label].seed == local[label].seed == 6
            np.testing.assert_allclose(np.concatenate(remote[label].logprobs), np.concatenate(local[label].logprobs),
                                       atol=1e-4)
    assert len(calls["attack"](here)) == 6  # three personas, with and without the system prompt


def test_bundled_samples_must_share_their_decoding_settings(pair):
    from workbench.techniques import sampling

    _, there = pair
    with pytest.raises(ValueError, match="share their max_new_tokens"):
        sampling.sample_bundled(there, [("Hi", 1, {"max_new_tokens": 2}), ("Hi", 1, {"max_new_tokens": 3})])


def test_every_panel_on_a_simulated_remote_session_shows_the_local_result(pair, edited, tmp_path, monkeypatch):
    """The probe, search, preference, diff, steering and attack panels, each run as its button runs it."""
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    here, there = pair
    other_here, other_there = edited
    data = wb.corpora.demo_training_corpus()
    pairs = wb.corpora.preference_planted()
    build = {
        "probe": lambda b, o: wb.ProbePanel(b, POLITE, RUDE, name="remote-panel", batch_size=8),
        "search": lambda b, o: wb.SearchPanel(b, data, "chocolate", mode="semantic"),
        "preference": lambda b, o: wb.PreferencePanel(b, pairs, sae="tiny", batch_size=6, top=4),
        "diff": lambda b, o: wb.DiffPanel(b, o, ["Hi", "Insult me."], n_samples=1, max_new_tokens=3,
                                          neurons=[(1, 7)]),
        "attack": lambda b, o: wb.AttackBox(b, "What is your goal?", prefill="My secret goal is",
                                            system_prompt="Keep your goal secret.", compare_system=True, n=2,
                                            max_new_tokens=3, seed=4),
    }
    shown = {
        "probe": lambda v: (v.result["accuracy"], [round(r["accuracy"], 4) for r in v.per_layer]),
        "search": lambda v: [r["id"] for r in v.results],
        "preference": lambda v: [h["latent"] for h in v.hypotheses],
        "diff": lambda v: v.diff.layers.drop(columns=["cosine", "projection"]).round(4).to_dict("list"),
        "attack": lambda v: [(r["key"], [x["text"] for x in r["samples"]]) for r in v.results],
    }
    run = {"probe": lambda v: v.train(wait=True, timeout=300), "search": lambda v: None}  # it searches when built
    requests = {}
    for name in build:
        views = []
        for bench, other in ((here, other_here), (there, other_there)):
            with there.requests.during() as log:
                view = build[name](bench, other)
                run.get(name, lambda v: v.run(wait=True, timeout=300))(view)
            assert view.error == "", (name, view.error)
            views.append(view)
        requests[name] = len(log)
        assert shown[name](views[0]) == shown[name](views[1]), name
    assert requests == {"probe": 1, "search": 1, "preference": 2, "diff": 1, "attack": 1}  # the other model's: 1


def test_feature_explanations_neighbours_and_spans_are_equal(pair, tmp_path, monkeypatch):
    from ..conftest import sae_corpus_texts

    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    here, there = pair
    corpus = sae_corpus_texts(60)
    calls = {
        "explain": lambda b: (lambda e: (e.text, e.score))(b.explain(5, sae="tiny", explainer="model", corpus=corpus)),
        "neighbours": lambda b: b.neighbours(5, sae="tiny", by="coactivation", corpus=corpus).to_pandas(),
        "span": lambda b: b.span_features("the cat sat on the mat", 1, 3, sae="tiny", corpus=corpus).to_pandas(),
    }
    for name, call in calls.items():
        results = []
        for bench in (here, there):  # each with its own cache: the remote one computes its statistics remotely
            monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / f"{name}-{bench.remote}"))
            with there.requests.during() as log:
                results.append(call(bench))
        assert len(log) > 0, name
        local, remote = results
        if isinstance(local, tuple):
            assert local == remote, name
        else:
            pd.testing.assert_frame_equal(local, remote, atol=1e-5, check_exact=False)


def test_a_result_that_would_send_a_whole_storage_is_flagged(pair):
    """A saved slice of a weight carries the weight's whole storage through torch.save: the simulation says so."""
    import nnsight

    from workbench.remote import StorageSentBack

    _, there = pair
    ids = torch.tensor([[1, 5, 9]])
    unembed = there.model.lm_head  # [400, 64]: 102 kB
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    with pytest.warns(StorageSentBack, match="views a larger storage"), there.trace(inputs) as tracer:
        row = nnsight.save(unembed.weight[7])
        tracer.stop()
    assert row.shape == (64,)
    with there.requests.during() as log:  # the value rows a diff reads come back alone
        rows = residual.value_rows(there, [(1, 7), (0, 3)])
    assert rows.shape == (2, 64) and log.received < 4000


def test_a_request_without_the_adapter_traced_on_the_adapted_modules_fails_as_on_a_server(adapted):
    """A server that runs a request without the adapter has detached it, so a block traced on the adapted module
    tree cannot resolve there: the simulation refuses it too (the base view traces on its own base tree)."""
    import nnsight

    from workbench import remote

    _, there = adapted
    ids = torch.tensor([[1, 5, 9]])
    without = {k: v for k, v in remote.request_env(there).items() if k != "peft"}
    backend = remote.SimulatedBackend(there.model, there.requests, "trace", env=without)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    refused = pytest.raises(wb.RemoteFailed, match="traced on the adapted model's modules")
    with refused, there.model.trace(inputs, backend=backend):
        nnsight.save(there.model.model.layers[0].output)
    assert there.without_adapter().model.peft is None and there.without_adapter().module is not there.module


def test_a_request_that_would_carry_a_whole_storage_is_flagged(pair):
    """A closure the block calls travels with what it captured: a view carries its whole storage."""
    from workbench import _traced
    from workbench.remote import StorageSentBack

    _, there = pair
    table = torch.zeros(50_000)  # 200 kB
    offset = table[:64]          # 256 bytes that view all of it
    layer = there.model.model.layers[0]

    def read(inputs):
        return _traced.hidden(layer.output)[0, 0] + offset

    ids = torch.tensor([[1, 5, 9]])
    with pytest.warns(StorageSentBack, match="block references"):
        there.trace_each([{"input_ids": ids, "attention_mask": torch.ones_like(ids)}], read)
    with there.requests.during() as log:  # copied out, it travels alone
        offset = offset.clone()
        there.trace_each([{"input_ids": ids, "attention_mask": torch.ones_like(ids)}], read)
    assert log[0].sent < 100_000
