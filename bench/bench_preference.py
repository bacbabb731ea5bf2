"""Preference-audit encoding throughput vs a raw batched forward of the same texts (tokens/s).

    python bench/bench_preference.py [--pairs 60]

The audit is ``bench.contrast`` on the first ``--pairs`` pairs of the shipped planted
dataset (both responses rendered with their prompts, read up to the SAE's layer, SAE
encoded and pooled, statistics and hypotheses built). The baseline is a plain
transformers forward of the same token batches (same batch size, sorted by length)
through the whole model. Target: the audit at >= 0.8x the baseline's tokens/s.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=60)
    args = parser.parse_args()

    import torch

    import workbench as wb
    import workbench.corpora
    from workbench.datasets import read_dataset
    from workbench.techniques import data_search

    bench = wb.Workbench()
    data = read_dataset([r.record for r in workbench.corpora.preference_planted().rows[: args.pairs]])
    texts = data.texts(bench, field="chosen") + data.texts(bench, field="rejected")
    encoded = data_search._tokenize(bench, texts, 256)
    tokens = sum(len(e["ids"]) for e in encoded)

    start = time.perf_counter()
    bench.audit_preferences(data, sae="default", progress=False)
    audit_s = time.perf_counter() - start

    module = bench.model._module
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
    print(f"{len(texts)} texts, {tokens} tokens")
    print(f"audit:       {audit_s:7.2f} s  {tokens / audit_s:8.0f} tokens/s")
    print(f"raw forward: {raw_s:7.2f} s  {tokens / raw_s:8.0f} tokens/s")
    print(f"ratio (audit / raw tokens/s): {raw_s / audit_s:.2f}x (target >= 0.8x)")


if __name__ == "__main__":
    main()
