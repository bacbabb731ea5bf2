"""Feature dashboards on the tiny Llama's SAE: the histogram, quantile-binned examples, suppressed tokens,
co-activation neighbours, features of a span, and feature lists through the journal and export."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from workbench.techniques import detection, explain, features

from ..conftest import sae_corpus_texts


@pytest.fixture
def stats(trained, tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    tiny_bench.cache.explanations.clear()
    return features.feature_stats(tiny_bench, "tiny", sae_corpus_texts(100, seed=7), windows=40, context=32,
                                  progress=False)


def _all_latents(tiny_bench, entry, stats):
    """Every latent of every encoded corpus token ``[windows, width - 1, d_sae]`` (64 latents: small)."""
    acts = tiny_bench.saes.collect(entry.site, stats.windows, progress=False)
    return entry.encode(acts).detach().cpu().numpy().reshape(stats.windows.shape[0], stats.windows.shape[1] - 1, -1)


def test_histogram_counts_every_nonzero_activation_in_its_log_bin(stats, tiny_bench, trained):
    entry, _ = trained
    latents = _all_latents(tiny_bench, entry, stats).reshape(-1, entry.d_sae)
    assert stats.histogram.shape == (entry.d_sae, features.HIST_BINS) and stats.histogram.dtype == np.int32
    fired = (latents > 0).sum(0)
    assert np.array_equal(stats.histogram.sum(1), fired)
    assert np.allclose(stats.density, fired / latents.shape[0])
    edges = features.HIST_EDGES.astype(np.float64)
    for latent in np.flatnonzero(fired)[:8]:
        values = latents[:, latent][latents[:, latent] > 0]
        clipped = np.clip(values, edges[0], np.nextafter(edges[-1], 0))
        expected, _ = np.histogram(clipped, bins=edges)
        counts, got_edges = stats.activation_histogram(int(latent))
        assert np.array_equal(counts, expected), latent
        assert np.allclose(got_edges, edges)


def test_quantile_examples_are_ordered_bins_of_real_firing_tokens(stats, tiny_bench, trained):
    entry, _ = trained
    latents = _all_latents(tiny_bench, entry, stats)
    width = stats.windows.shape[1]
    latent = explain.frequent_latents(stats, 1)[0]
    bins = stats.quantile_examples(latent, bins=4)
    assert len(bins) == 4
    # strongest bin first; each bin's range sits above the next one's, and the quantiles tile (0, 1]
    for upper, lower in itertools.pairwise(bins):
        assert upper["low"] >= lower["high"] and upper["quantiles"][0] == lower["quantiles"][1]
    assert bins[0]["quantiles"][1] == 1.0 and bins[-1]["quantiles"][0] == 0.0
    shown = sum(len(b["examples"]) for b in bins)
    assert shown == min(features.SAMPLES, int((latents[:, features.EXAMPLE_START - 1 :, latent] > 0).sum()))
    # every sampled token really fires that much, at an eligible position, and is not only the top examples
    flats = stats.sample_index[:, latent][stats.sample_values[:, latent] > 0]
    for value, flat in zip(stats.sample_values[:, latent][stats.sample_values[:, latent] > 0], flats):
        row, pos = divmod(int(flat), width)
        assert pos >= features.EXAMPLE_START
        assert latents[row, pos - 1, latent] == pytest.approx(float(value), abs=1e-4)
    assert len(set(flats.tolist())) == len(flats)
    values = [e["activation"] for b in bins for e in b["examples"]]
    assert values == sorted(values, reverse=True)
    assert min(values) < float(stats.top_values[-1, latent])  # weaker than the 16th strongest: a spread sample


def test_suppressed_tokens_are_the_most_negative_logit_contributions(stats, tiny_bench, trained):
    entry, _ = trained
    unembed = tiny_bench.model._module.lm_head.weight.detach().float()
    for latent in (0, 5, 17):
        logits = unembed @ entry.sae.W_dec[latent].detach().float()
        lowest = logits.topk(10, largest=False)
        got = stats.suppressed(latent)
        assert [t for t, _ in got] == [tiny_bench.tokenizer.decode([int(i)]) for i in lowest.indices]
        assert np.allclose([v for _, v in got], lowest.values.numpy(), atol=1e-3)
        assert all(v < 0 for _, v in got)
    assert explain.suppressed(stats, 5, 3) == [t for t, _ in stats.suppressed(5)[:3]]


def test_stats_cache_is_versioned_and_read_back(stats, tiny_bench, monkeypatch):
    folders = [p.name for p in (features.models.cache_dir() / "feature_stats").iterdir() if not p.name.startswith(".")]
    assert folders and all(name.endswith(f"-v{features.STATS_VERSION}") for name in folders)
    monkeypatch.setattr(features, "compute", lambda *a, **k: pytest.fail("recomputed"))
    again = features.feature_stats(tiny_bench, "tiny", sae_corpus_texts(100, seed=7), windows=40, context=32,
                                   progress=False)
    assert np.array_equal(again.histogram, stats.histogram) and np.array_equal(again.sample_index, stats.sample_index)
    assert again.key == stats.key  # the explanation cache, keyed by it, stays valid
    assert features.BYTES_PER_LATENT == 692


def test_coactivation_neighbour_planted_to_co_fire_ranks_first(stats, tiny_bench, trained, monkeypatch):
    from workbench.techniques import feature_search

    entry, _ = trained
    monkeypatch.setattr(feature_search, "_feature_stats", lambda *a: stats)
    anchor = explain.frequent_latents(stats, 1)[0]
    twin = next(la for la in range(entry.d_sae) if la != anchor and stats.density[la] < stats.density[anchor] / 4)
    encode_chunks = type(entry).encode_chunks

    def planted(self, acts):  # the twin fires (weakly) exactly where the anchor fires, and nowhere else
        for first, latents in encode_chunks(self, acts):
            latents = latents.clone()
            latents[:, twin] = 0.5 * latents[:, anchor]
            yield first, latents

    monkeypatch.setattr(type(entry), "encode_chunks", planted)
    near = tiny_bench.neighbours(anchor, "tiny", by="coactivation", k=3)
    assert near.frame.latent.tolist()[0] == twin
    assert near.frame.similarity[0] == pytest.approx(1.0)
    assert near.frame.explanation[0] == explain.explanations_for(tiny_bench, stats, [twin])[0].text
    assert detection.co_activation(detection.scoring_sample(stats), twin)[0][anchor] == pytest.approx(1.0)


def test_span_features_rank_a_latent_firing_only_on_the_span_first(stats, tiny_bench, trained, monkeypatch):
    from workbench.techniques import feature_search

    entry, _ = trained
    monkeypatch.setattr(feature_search, "_feature_stats", lambda *a: stats)
    acts = tiny_bench.activations("the quick brown fox jumps over the lazy dog", sae="tiny", k=4)
    start, stop = 3, 5
    # unplanted: the ranking is span max minus elsewhere max, over every latent
    latents = np.stack([acts.feature(la) for la in range(entry.d_sae)], axis=1).clip(min=0)
    inside = latents[start:stop].max(0)
    outside = np.delete(latents, range(start, stop), axis=0).max(0)
    found = tiny_bench.span_features(acts, start, stop, k=5)
    expected = [int(i) for i in np.argsort(-(inside - outside), kind="stable")
                if inside[i] > 0 and inside[i] > outside[i]][:5]
    assert found.frame.latent.tolist() == expected
    assert np.allclose(found.frame.span, inside[expected], atol=1e-4)
    assert np.allclose(found.frame.elsewhere, outside[expected], atol=1e-4)
    assert found.query["start"] == start and found.query["text"] == "".join(acts.tokens[start:stop])

    # planted: a quiet latent fires on the span's tokens only; the first-ranked one fires everywhere
    quiet = int(np.argmin(latents.max(0)))
    loud = expected[0]
    assert quiet != loud
    encode_chunks = type(entry).encode_chunks

    def planted(self, rows):
        for first, block in encode_chunks(self, rows):
            block = block.clone()
            where = np.arange(first, first + block.shape[0])
            block[:, quiet] = 0.0
            block[(where >= start) & (where < stop), quiet] = 0.2 + float(inside.max())
            block[:, loud] = 50.0
            yield first, block

    monkeypatch.setattr(type(entry), "encode_chunks", planted)
    for reduce in ("max", "sum"):
        ranked = tiny_bench.span_features(acts, start, stop, k=3, reduce=reduce).frame
        assert ranked.latent.tolist()[0] == quiet, reduce
        assert loud not in ranked.latent.tolist()
    with pytest.raises(ValueError, match="0 <= start < stop"):
        tiny_bench.span_features(acts, 4, 4)
    with pytest.raises(ValueError, match="reduce must be"):
        tiny_bench.span_features(acts, 1, 2, reduce="median")


def test_feature_list_round_trips_through_the_journal_file_and_export(stats, tiny_bench, tmp_path, monkeypatch):
    import workbench as wb
    from workbench.techniques import feature_lists

    monkeypatch.setattr(features, "feature_stats", lambda *a, **k: stats)
    monkeypatch.setattr(tiny_bench, "journal", wb.Journal(tmp_path / "audit.jsonl"))
    hostile = "<script>alert(1)</script> suspicious"
    saved = tiny_bench.feature_list("candidates", [5, 3, 5], notes={3: hostile})
    assert saved.latents == [5, 3] and saved.items[1]["note"] == hostile and saved.items[0]["note"] == ""
    assert saved.items[0]["explanation"] == explain.rules_explanation(stats, 5)
    assert saved.items[0]["density"] == pytest.approx(float(stats.density[5]), abs=1e-6)
    assert "&lt;script&gt;" in saved._repr_html_() and "<script>" not in saved._repr_html_()
    tiny_bench.feature_list("others", [9])
    tiny_bench.feature_list("candidates", [7], notes="replaced")
    loaded = wb.Journal.load(tmp_path / "audit.jsonl")
    lists = feature_lists.feature_lists(loaded)
    assert list(lists) == ["others", "candidates"]  # a name saved again replaces it, at the end
    assert lists["candidates"].latents == [7] and lists["candidates"].notes == "replaced"
    assert lists["others"].items[0]["explanation"] == explain.rules_explanation(stats, 9)
    assert tiny_bench.feature_lists()["others"].latents == [9]
    page = wb.export_html(tmp_path / "audit.html", journal=loaded).read_text()
    assert 'id="feature-lists"' in page and "replaced" in page
    # the first list, with its hostile note, is in the journal entries but not in the lists section
    section = page[page.index('id="feature-lists"') : page.index('id="journal"')]
    assert "others" in section and ">7<" in section and "alert" not in section
    tiny_bench.feature_list("hostile", [3], notes={3: hostile})
    page = wb.export_html(tmp_path / "again.html", journal=wb.Journal.load(tmp_path / "audit.jsonl")).read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; suspicious" in page
    with pytest.raises(ValueError, match="needs a name"):
        tiny_bench.feature_list(" ", [1])
    with pytest.raises(TypeError, match="list of latent"):
        tiny_bench.feature_list("x", 3)


def test_a_long_feature_list_is_journaled_by_its_summary(stats, tiny_bench, tmp_path, monkeypatch):
    import workbench as wb
    from workbench.techniques import feature_lists

    monkeypatch.setattr(features, "feature_stats", lambda *a, **k: stats)
    monkeypatch.setattr(tiny_bench, "journal", wb.Journal(tmp_path / "long.jsonl"))
    notes = dict.fromkeys(range(64), "n" * 400)
    tiny_bench.feature_list("everything", list(range(64)), notes=notes)
    entry = wb.Journal.load(tmp_path / "long.jsonl").entries[-1]
    assert entry.result is None  # too big to keep whole: the summary carries every latent
    found = feature_lists.feature_lists(wb.Journal.load(tmp_path / "long.jsonl"))["everything"]
    assert found.latents == list(range(64)) and found.items[5]["note"] == "n" * 400
    assert found.items[5]["explanation"] == explain.rules_explanation(stats, 5)[: feature_lists.SUMMARY_TEXT]
    with pytest.raises(ValueError, match="at most 500"):
        tiny_bench.feature_list("too many", [1] * 501)
