"""The preference audit on the default model and SAE finds the planted flattery, and the export removes it."""

import json

import numpy as np

from workbench import corpora
from workbench.datasets import read_dataset

SUBSET = 60  # pairs (34 planted); the whole 200-pair set takes about two minutes on two cores


def captures_flattery(audit, planted, latent):
    """A latent captures the planted flattery when it fires on (nearly) every planted chosen response and its
    mean paired difference on planted pairs is at least five times its difference on the other pairs."""
    diff = audit.differences[:, latent]
    return (audit.chosen[planted, latent] > 0).mean() >= 0.9 and diff[planted].mean() >= 5 * abs(diff[~planted].mean())


def test_audit_ranks_flattery_and_export_removes_it(default_bench, tmp_path):
    data = read_dataset([r.record for r in corpora.preference_planted().rows[:SUBSET]])
    planted = np.array([r.record["planted"] for r in data])
    audit = default_bench.audit_preferences(data, sae="default", progress=False)
    top = [int(j) for j in audit.hypotheses["latent"][:10]]
    flattery = [j for j in top if captures_flattery(audit, planted, j)]
    # measured on this subset: five of the top ten (ranks 5, 7, 8, 9, 10)
    assert flattery, audit.top(10)
    for latent in flattery:
        audit.mark(latent, "blocked")
    counts = audit.export(tmp_path / "filtered.jsonl", mode="remove", threshold=0.75)
    kept = {json.loads(line)["id"] for line in (tmp_path / "filtered.jsonl").read_text().splitlines()}
    removed_planted = np.mean([r.id not in kept for r, p in zip(data, planted) if p])
    kept_clean = np.mean([r.id in kept for r, p in zip(data, planted) if not p])
    print(f"flattery latents {flattery} at ranks {[top.index(j) + 1 for j in flattery]}; "
          f"planted removed {removed_planted:.0%}, clean kept {kept_clean:.0%}; {counts}")
    # measured (five latents blocked, threshold 0.75): 91% of planted pairs removed (31 of 34),
    # 88% of the others kept (23 of 26)
    assert removed_planted > 0.8
    assert kept_clean > 0.7
    blocked = json.loads((tmp_path / "blocked_latents.json").read_text())
    assert sorted(b["latent"] for b in blocked["blocked"]) == sorted(flattery)
