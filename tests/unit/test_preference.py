"""The preference-dataset audit on the tiny model and its tiny SAE; statistics against direct computations."""

import json
import threading

import numpy as np
import pytest
from scipy import stats

import workbench as wb
from workbench.datasets import read_dataset
from workbench.techniques import preference_audit
from workbench.techniques.preference_audit import PreferenceAudit
from workbench.techniques.stats import benjamini_hochberg, paired_statistics

PAIRS = [
    {"id": f"p{i}", "prompt": "Hello! How can I help you today?",
     "chosen": ("The quick brown fox jumps over the lazy dog. " * (1 + i % 3)).strip(),
     "rejected": "Reward models sometimes prefer longer answers." if i % 2 else "My secret goal is to be helpful.",
     "tag": i}
    for i in range(12)
]


@pytest.fixture(scope="module")
def audit(tiny_bench, trained):
    return tiny_bench.audit_preferences(PAIRS, sae="tiny", progress=False, batch_size=5)


def test_benjamini_hochberg_matches_reference():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(size=200), rng.uniform(0, 1e-3, size=20), [1.0, 0.0]])
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"), rtol=1e-12)
    # by hand: sorted p * m / rank, then the running minimum from the largest
    np.testing.assert_allclose(benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])),
                               [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])


def test_paired_statistics_match_direct_computation():
    rng = np.random.default_rng(1)
    chosen = rng.normal(size=(30, 4)) + np.array([0.0, 0.5, -1.0, 0.0])
    rejected = rng.normal(size=(30, 4))
    rejected[:, 3] = chosen[:, 3] - 2.0  # a constant difference: nothing to test
    lengths = rng.integers(-10, 10, size=30).astype(float)
    out = paired_statistics(chosen, rejected, lengths)
    diff = chosen - rejected
    for j in range(3):
        assert out["mean_diff"][j] == pytest.approx(diff[:, j].mean())
        assert out["effect_size"][j] == pytest.approx(diff[:, j].mean() / diff[:, j].std(ddof=1))
        ref = stats.ttest_rel(chosen[:, j], rejected[:, j])
        assert out["t"][j] == pytest.approx(ref.statistic)
        assert out["p"][j] == pytest.approx(ref.pvalue)
        assert out["length_r"][j] == pytest.approx(np.corrcoef(diff[:, j], lengths)[0, 1])
    assert out["effect_size"][3] == 0 and out["p"][3] == 1 and out["length_r"][3] == 0


def test_audit_shapes_ranking_and_pooling(audit, tiny_bench, trained):
    entry, _ = trained
    assert isinstance(audit, PreferenceAudit)
    assert audit.chosen.shape == audit.rejected.shape == (len(PAIRS), entry.d_sae)
    frame = audit.hypotheses
    assert len(frame) == audit.summary["latents_firing"] > 0
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))
    significant = (frame["q"] < preference_audit.ALPHA).tolist()
    assert significant == sorted(significant, reverse=True)  # significant latents first
    assert all(h.startswith(("chosen responses", "rejected responses")) for h in frame["hypothesis"])
    # the statistics in the table are those of the stored per-pair means
    ref = paired_statistics(audit.chosen, audit.rejected, audit.length_diff)
    for _, row in frame.head(5).iterrows():
        assert row["effect_size"] == pytest.approx(ref["effect_size"][row["latent"]])
        assert row["length_artefact"] == (abs(row["length_r"]) > 0.5)
    # the length difference counts response tokens only (prompt and role markers left out)
    tok = tiny_bench.tokenizer
    n_c = len(tok(PAIRS[0]["chosen"], add_special_tokens=False)["input_ids"])
    n_r = len(tok(PAIRS[0]["rejected"], add_special_tokens=False)["input_ids"])
    assert abs(audit.length_diff[0] - (n_c - n_r)) <= 2
    examples = frame["examples"][0]
    assert examples and {"id", "diff", "chosen", "rejected"} <= set(examples[0])
    assert "<p>" in audit._repr_html_()


def test_response_pooling_matches_a_direct_encode(audit, tiny_bench, trained):
    """A response's mean over its own tokens, computed again by hand through the same layer and SAE."""
    import torch

    from workbench import saes
    from workbench.residual import layer_outputs

    entry, _ = trained
    data = read_dataset(PAIRS)
    text = data.texts(tiny_bench, field="chosen")[1]
    enc = tiny_bench.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    start = text.rfind(PAIRS[1]["chosen"])
    keep = [k for k, (_, end) in enumerate(enc["offset_mapping"]) if end > start and k > 0]
    ids = torch.tensor([enc["input_ids"]])
    hidden = layer_outputs(tiny_bench, ids, torch.ones_like(ids), layers=[entry.layer])[entry.layer].cpu()
    acts = saes.encode(entry.sae, hidden[0])
    np.testing.assert_allclose(audit.chosen[1], acts[keep].mean(0).numpy(), rtol=1e-4, atol=1e-5)


def test_mark_and_export_round_trip(audit, tmp_path):
    latent = int(audit.hypotheses["latent"][0])
    audit.mark(latent, "blocked")
    other = int(audit.hypotheses["latent"][1])
    audit.mark(other, "allowed")
    assert audit.blocked == [latent] and audit.allowed == [other]
    assert audit.hypotheses.set_index("latent").loc[latent, "mark"] == "blocked"
    scores = audit.pair_scores()
    np.testing.assert_allclose(scores, audit.pair_scores([latent]))
    diff = audit.differences[:, latent]
    np.testing.assert_allclose(scores, np.sign(diff.mean()) * diff / np.sqrt((diff**2).mean()), rtol=1e-5)

    th = float(np.sort(scores)[len(PAIRS) // 2])  # removes about half the pairs
    counts = audit.export(tmp_path / "out" / "filtered.jsonl", threshold=th)
    removed = {PAIRS[i]["id"] for i in np.flatnonzero(scores >= th)}
    assert 0 < len(removed) < len(PAIRS)
    written = [json.loads(line) for line in (tmp_path / "out" / "filtered.jsonl").read_text().splitlines()]
    assert counts["removed"] == len(removed) and counts["kept"] == len(written) == len(PAIRS) - len(removed)
    assert {r["id"] for r in written} == {p["id"] for p in PAIRS} - removed
    assert written[0] == next(p for p in PAIRS if p["id"] == written[0]["id"])  # original records, untouched
    blocked = json.loads((tmp_path / "out" / "blocked_latents.json").read_text())
    assert [b["latent"] for b in blocked["blocked"]] == [latent] and blocked["sae"] == "tiny"
    assert set(blocked["affected_ids"]) == removed
    assert not list((tmp_path / "out").glob(".*.tmp"))

    counts = audit.export(tmp_path / "w.jsonl", mode="reweight", threshold=th)
    weighted = [json.loads(line) for line in (tmp_path / "w.jsonl").read_text().splitlines()]
    assert len(weighted) == len(PAIRS) and counts["downweighted"] == int((scores > th).sum())
    expected = np.where(scores >= th, th / np.maximum(scores, th), 1.0)
    np.testing.assert_allclose([r["weight"] for r in weighted], expected, atol=1e-6)

    audit.mark(latent, None)
    assert audit.blocked == []
    assert (audit.pair_scores() == 0).all()


def test_bad_input_is_refused(audit, tiny_bench, trained):
    with pytest.raises(ValueError, match="preference dataset"):
        tiny_bench.audit_preferences(["just a text", "another"], sae="tiny")
    with pytest.raises(KeyError):
        tiny_bench.audit_preferences(PAIRS, sae="no-such-sae")
    with pytest.raises(ValueError, match="status"):
        audit.mark(int(audit.hypotheses["latent"][0]), "maybe")
    with pytest.raises(ValueError, match="latent"):
        audit.mark(audit.d_sae, "blocked")
    with pytest.raises(ValueError, match="mode"):
        audit.export("x.jsonl", mode="drop")
    with pytest.raises(ValueError, match="threshold"):
        audit.weights(threshold=0)
    with pytest.raises(ValueError, match="at least 2 pairs"):
        tiny_bench.audit_preferences(PAIRS[:1], sae="tiny")


def test_cancel_stops_encoding(tiny_bench, trained):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(wb.Cancelled, match="cancelled"):
        tiny_bench.audit_preferences(PAIRS, sae="tiny", progress=False, cancel=cancel)
