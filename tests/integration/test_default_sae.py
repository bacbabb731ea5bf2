"""The embedded default SAE on the embedded default model."""

import itertools
import json
import sys

import pytest

from workbench.session import DEFAULT_SAE

from .test_default_model import _offline

pytestmark = pytest.mark.skipif(not DEFAULT_SAE.is_dir(), reason="the default SAE has not been built")


def test_default_sae_is_registered_with_its_figures(default_bench):
    entry = default_bench.saes.get("default")
    assert entry.layer == 12 and entry.d_sae == 4096
    report = json.loads((DEFAULT_SAE / "workbench_report.json").read_text())
    assert report["explained_variance"] >= 0.7
    assert 20 <= report["mean_l0"] <= 100
    size = sum(p.stat().st_size for p in DEFAULT_SAE.iterdir())
    assert size <= 25 * 1024 * 1024


def test_done_when_activations_offline():
    code = (
        "import workbench as wb, json; a = wb.Workbench().activations('The cat sat on the mat'); "
        "print(json.dumps({'sae': a.sae, 'tokens': a.tokens, 'active': [int((v > 0).sum()) for v in a.top_values]}))"
    )
    result = _offline([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["sae"] == "default"
    assert len(out["tokens"]) == 6
    assert all(n > 0 for n in out["active"]), "every token has active features"


def test_held_out_reconstruction_on_the_default_model(default_bench):
    from workbench.corpora import render_records

    texts = render_records([
        {"text": "The quick brown fox jumps over the lazy dog while the farmer watches from the porch."},
        {"messages": [{"role": "user", "content": "How do I repot a cactus without hurting my hands?"},
                      {"role": "assistant", "content": "Wrap it in folded newspaper, wear thick gloves, "
                                                       "and loosen the soil before lifting it."}]},
    ], default_bench.tokenizer)
    entry = default_bench.saes.get("default")
    rows = default_bench.saes.corpus_windows(texts * 8, 32)
    report = default_bench.saes.evaluate(entry.sae, entry.layer, rows, progress=False)
    assert report.explained_variance > 0.5
    assert 10 <= report.mean_l0 <= 100


def test_feature_stats_of_the_default_sae(default_bench):
    stats = default_bench.feature_stats(windows=64, progress=False)
    acts = default_bench.activations("def reverse(items): return items[::-1]")
    latent = int(acts.top_latents[3, 0])
    detail = stats.feature(latent)
    assert 0 <= detail.density <= 1
    assert len(detail.promoted) == 10
    table = stats.lookup("Python")
    assert len(table) > 0


def test_search_finds_the_chocolate_latent_of_the_shipped_corpus_in_the_top_3(default_bench):
    # the chocolate latent: the one " chocolate" activates most where it occurs in the shipped corpus
    stats = default_bench.feature_stats(progress=False)
    chocolate = int(stats.lookup("chocolate").latent.iloc[0])
    found = default_bench.search_features("chocolate", k=3)
    assert chocolate in found.frame.latent.tolist(), found.frame
    assert "chocolate" in found.frame.explanation[found.frame.latent.tolist().index(chocolate)].lower()


def test_feature_dashboard_of_the_default_sae(default_bench):
    stats = default_bench.feature_stats(progress=False)
    latent = int(stats.lookup("chocolate").latent.iloc[0])
    counts, _ = stats.activation_histogram(latent)
    assert counts.sum() == round(float(stats.density[latent]) * stats.windows.shape[0] * (stats.windows.shape[1] - 1))
    bins = stats.quantile_examples(latent)
    assert bins and all(a["low"] >= b["high"] for a, b in itertools.pairwise(bins))
    assert any("chocolate" in e["token"] for e in stats.examples(latent))
    near = default_bench.neighbours(latent, by="coactivation", k=3)
    assert len(near) > 0 and near.frame.similarity.is_monotonic_decreasing
