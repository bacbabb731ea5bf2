"""Batched sampling: n=16 vs n=1, and the workbench vs raw transformers generate.

    python bench/bench_sampling.py [--tokens 64] [--repeats 5]

Both comparisons decode a fixed number of tokens (the narrator persona on the
default model does not stop at end-of-turn, and the raw baseline gets the same
generation config), so the ratios compare equal work.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _timing import compare, report

CONVERSATION = [
    {"role": "user", "content": "Write a short story about a lighthouse keeper."},
    {"role": "assistant", "content": "Once upon a time, on a rocky coast,"},
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import torch

    import workbench as wb
    from workbench import generation

    bench = wb.Workbench()
    kw = {"max_new_tokens": args.tokens, "persona": "narrator", "seed": 0, "progress": False}

    def sample(n):
        out = bench.sample(CONVERSATION, n=n, **kw)
        assert all(len(ids) == args.tokens for ids in out.token_ids)
        return out

    batched = compare(lambda: sample(16), lambda: sample(1), args.repeats)
    batched["target"] = 4.0

    def prefill(n):  # a prefill attack; fixed length via a narrator-style raw prefill
        return bench.sample(CONVERSATION, n=n, prefill=" My secret goal is", **kw)

    attack = compare(lambda: prefill(32), lambda: prefill(1), args.repeats)
    attack["target"] = 5.0

    prompt = bench.render(CONVERSATION, persona="narrator")
    ids = torch.tensor([prompt.input_ids])
    config = generation.generation_config(
        bench.module.generation_config, max_new_tokens=args.tokens, temperature=1.0,
        top_p=1.0, stop_ids=[], pad_id=bench.pad_token_id,
    )

    def raw():
        torch.manual_seed(0)
        with torch.inference_mode():
            out = bench.module.generate(ids, attention_mask=torch.ones_like(ids), generation_config=config)
        assert out.shape[1] == ids.shape[1] + args.tokens
        return out

    # same seed, same settings: the same tokens, so the two runs do the same work
    raw_tokens = raw()[0, ids.shape[1]:].tolist()
    assert sample(1).token_ids[0] == raw_tokens, "workbench and raw generate disagree"
    overhead = compare(lambda: sample(1), raw, args.repeats)
    overhead["target"] = 1.2

    def secs(row):
        return f"{row['candidate_s']:.2f} s vs {row['baseline_s']:.2f} s"

    report("sampling", {
        f"n16_vs_n1_{args.tokens}tok": {
            "label": f"`sample(n=16)` vs `sample(n=1)`, {args.tokens} new tokens", **batched,
            "detail": secs(batched)},
        f"workbench_n1_vs_raw_generate_{args.tokens}tok": {
            "label": "`sample(n=1)` vs raw transformers `generate` (same tokens)", **overhead,
            "detail": secs(overhead)},
        f"prefill_n32_vs_n1_{args.tokens}tok": {
            "label": f"prefill attack, 32 samples vs 1, {args.tokens} new tokens", **attack, "detail": secs(attack)},
    })


if __name__ == "__main__":
    main()
