"""Neighbours of a latent (decoder cosine, co-activation) and search over explanations, on the tiny Llama's SAE."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.techniques import detection, explain, feature_search, features

from ..conftest import sae_corpus_texts


@pytest.fixture
def stats(trained, tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    tiny_bench.cache.explanations.clear()
    stats = features.feature_stats(tiny_bench, "tiny", sae_corpus_texts(120, seed=4), windows=60, context=32,
                                   progress=False)
    monkeypatch.setattr(feature_search, "_feature_stats", lambda *a: stats)
    return stats


def test_decoder_neighbours_are_the_nearest_decoder_directions(stats, tiny_bench, trained):
    import torch

    entry, _ = trained
    near = tiny_bench.neighbours(3, "tiny", k=5)
    w = entry.sae.W_dec.detach()
    cosine = torch.nn.functional.cosine_similarity(w, w[3][None], dim=-1)
    cosine[3] = -2
    expected = cosine.topk(5)
    assert near.frame.latent.tolist() == expected.indices.tolist()
    assert np.allclose(near.frame.similarity, expected.values.numpy(), atol=1e-4)
    for row in near.frame.itertuples():
        assert row.explanation == explain.rules_explanation(stats, row.latent)
    # a planted twin (the same direction, scaled) is the nearest, at cosine 1
    original = w[9].clone()
    with torch.no_grad():
        entry.sae.W_dec[9] = 3 * w[3]
    try:
        twin = tiny_bench.neighbours(3, "tiny", k=1)
    finally:
        with torch.no_grad():
            entry.sae.W_dec[9] = original
    assert twin.frame.latent.tolist() == [9] and twin.frame.similarity[0] == pytest.approx(1.0, abs=1e-4)


def test_coactivation_neighbours_are_the_jaccard_overlap_of_firing_tokens(stats, tiny_bench, trained):
    entry, _ = trained
    latent = explain.frequent_latents(stats, 1)[0]
    near = tiny_bench.neighbours(latent, "tiny", by="coactivation", k=6)
    sample = detection.scoring_sample(stats)
    acts = tiny_bench.saes.collect(entry.site, stats.windows[: sample.windows], progress=False)
    on = (entry.encode(acts) > 0).cpu().numpy()  # every latent of every token at once: 64 latents is small
    both = (on & on[:, [latent]]).sum(0)
    union = (on | on[:, [latent]]).sum(0)
    jaccard = np.where(union > 0, both / np.maximum(union, 1), 0.0)
    jaccard[latent] = -1
    order = np.argsort(-jaccard, kind="stable")[:6]
    assert near.frame.latent.tolist() == [int(i) for i in order if jaccard[i] > 0]
    assert np.allclose(near.frame.similarity, jaccard[near.frame.latent], atol=1e-4)
    assert near.settings["tokens_fired"] == int(on[:, latent].sum())


def test_search_finds_the_latent_whose_explanation_means_the_query(stats, tiny_bench):
    rows = [{"modelId": "m", "layer": "1", "index": i, "description": text} for i, text in
            [(5, "recipes with chocolate and cocoa"), (9, "foxes jumping over lazy dogs"),
             (12, "greetings and polite hellos")]]
    tiny_bench.import_explanations(rows, "tiny", dashboard_id="m/1")
    for query, latent in [("chocolate cocoa recipes", 5), ("foxes jumping lazy dogs", 9)]:
        found = tiny_bench.search_features(query, "tiny", explainer="imported", latents=[5, 9, 12, 20, 30], k=3)
        assert found.frame.latent.tolist()[0] == latent, found.frame
        assert found.frame.similarity.is_monotonic_decreasing and len(found) == 3
    # a one-word query: its pooled state alone says little, the explanation naming the word comes first
    for query, latent in [("cocoa", 5), ("hellos", 12), ("dogs", 9)]:
        found = tiny_bench.search_features(query, "tiny", explainer="imported", latents=[5, 9, 12, 20, 30], k=5)
        assert found.frame.latent.tolist()[0] == latent, found.frame
    # the ranking is the cosine of centred embeddings, as data search embeds documents, plus the share of the
    # query's words the explanation names
    from workbench.techniques.data_search import embed_texts

    items = explain.explanations_for(tiny_bench, stats, [5, 9, 12, 20, 30], "imported")
    vectors = embed_texts(tiny_bench, [feature_search.search_text(e.text) for e in items], layer=1, max_tokens=64)
    mean = vectors.mean(0)
    unit = (vectors - mean) / np.linalg.norm(vectors - mean, axis=-1, keepdims=True)
    q = embed_texts(tiny_bench, ["greetings polite hellos"], layer=1, max_tokens=64)[0] - mean
    expected = unit @ (q / np.linalg.norm(q)) + np.array(
        [feature_search.word_overlap("greetings polite hellos", e.text) for e in items])
    assert sorted(set(np.round(expected - unit @ (q / np.linalg.norm(q)), 4))) == [0.0, 1.0]
    found = tiny_bench.search_features("greetings polite hellos", "tiny", explainer="imported",
                                       latents=[5, 9, 12, 20, 30], k=5)
    by_latent = dict(zip(found.frame.latent, found.frame.similarity))
    assert np.allclose([by_latent[e.latent] for e in items], expected, atol=1e-3)


def test_bad_requests_say_what_to_do(stats, tiny_bench):
    with pytest.raises(ValueError, match="'decoder', 'coactivation'"):
        tiny_bench.neighbours(3, "tiny", by="cosine")
    with pytest.raises(ValueError, match="k must be"):
        tiny_bench.neighbours(3, "tiny", k=0)
    with pytest.raises(ValueError, match="query is empty"):
        tiny_bench.search_features("  ", "tiny")
    with pytest.raises(ValueError, match="latent"):
        tiny_bench.neighbours(999, "tiny")
