"""Preference-audit encoding throughput vs a raw batched forward of the same texts (tokens/s).

    python bench/bench_preference.py [--pairs 60]

The audit is ``bench.audit_preferences`` on the first ``--pairs`` pairs of the shipped planted
dataset (both responses rendered with their prompts, read up to the SAE's layer, SAE
encoded and pooled, statistics and hypotheses built). The baseline is a plain
transformers forward of the same token batches (same batch size, sorted by length)
through the whole model. Target: the audit at >= 0.8x the baseline's tokens/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _timing import report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=60)
    args = parser.parse_args()

    import torch

    import workbench as wb
    import workbench.corpora
    from workbench.datasets import read_dataset
    from workbench.residual import tokenize

    bench = wb.Workbench()
    data = read_dataset([r.record for r in workbench.corpora.preference_planted().rows[: args.pairs]])
    texts = data.texts(bench, field="chosen") + data.texts(bench, field="rejected")
    encoded = tokenize(bench, texts, 256)
    tokens = sum(len(e["ids"]) for e in encoded)

    start = time.perf_counter()
    bench.audit_preferences(data, sae="default", progress=False)
    audit_s = time.perf_counter() - start

    module = bench.module
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]["ids"]))
    start = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(order), 16):
            chunk = order[b : b + 16]
            width = max(len(encoded[i]["ids"]) for i in chunk)
            ids = torch.full((len(chunk), width), bench.pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for j, i in enumerate(chunk):
                ids[j, : len(encoded[i]["ids"])] = torch.tensor(encoded[i]["ids"])
                mask[j, : len(encoded[i]["ids"])] = 1
            module(input_ids=ids, attention_mask=mask)
    raw_s = time.perf_counter() - start
    layer = bench.saes.get("default").layer
    report("preference", {
        f"audit_{len(texts)}_responses_tokens_per_s_vs_raw_forward": {
            "label": f"preference audit ({len(texts)} responses, {tokens:,} tokens) vs raw batched forward, tokens/s",
            "ratio": round(raw_s / audit_s, 3), "audit_s": round(audit_s, 2), "raw_s": round(raw_s, 2),
            "tokens": tokens, "target": ">= 0.8",
            "detail": f"{tokens / audit_s:.0f} vs {tokens / raw_s:.0f} tokens/s",
            "note": f"the audit stops the forward at the SAE's layer {layer} of {bench.n_layers}; its baseline runs "
                    "the whole model"},
    })


if __name__ == "__main__":
    main()
