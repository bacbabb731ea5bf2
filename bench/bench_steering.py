"""Steering: steered vs unsteered generation, and an 8-coefficient sweep vs one coefficient.

    python bench/bench_steering.py [--tokens 32] [--n 4] [--repeats 3]

Generation decodes a fixed number of tokens as the narrator (the default model does
not stop at end-of-turn then), so both runs do equal work; the steered run adds a
contrast vector on every decoding step through nnsight. The sweep scores the same
alignment and helpfulness rows with 8 coefficients batched into the same forward
passes vs with 1 coefficient.
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
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--items", type=int, default=6, help="alignment and helpfulness items per sweep")
    parser.add_argument("--only", choices=["generation", "sweep"], help="run one of the two measurements")
    args = parser.parse_args()

    import workbench as wb
    from workbench.techniques import scores, vectors

    bench = wb.Workbench()
    vectors.from_contrast(bench, "sycophancy", layer=6, limit=8)
    kw = {"n": args.n, "max_new_tokens": args.tokens, "persona": "narrator", "seed": 0, "progress": False}

    def sample(**extra):
        out = bench.sample(CONVERSATION, **kw, **extra)
        assert all(len(ids) == args.tokens for ids in out.token_ids)
        return out

    rows = {}
    if args.only != "sweep":
        steered = compare(lambda: sample(steer={"sycophancy": 0.3}), lambda: sample(), args.repeats)
        steered["target"] = 1.15
        rows[f"steered_vs_unsteered_n{args.n}_{args.tokens}tok"] = {
            "label": f"steered (contrast vector, every step) vs unsteered `sample`, n={args.n}, {args.tokens} tokens",
            **steered, "detail": f"{steered['candidate_s']:.2f} s vs {steered['baseline_s']:.2f} s"}

    vector = bench.vectors["sycophancy"]
    alignment = scores.alignment_score("sycophancy", limit=args.items)
    helpfulness = scores.helpfulness_score(limit=args.items)

    def run(coefficients):
        alignment(bench, vector, coefficients, batch_size=64)
        helpfulness(bench, vector, coefficients, batch_size=64)

    eight = [-1.0, -0.6, -0.3, -0.1, 0.1, 0.3, 0.6, 1.0]
    if args.only != "generation":
        swept = compare(lambda: run(eight), lambda: run([0.3]), args.repeats)
        swept["target"] = 3.0
        rows[f"sweep_8_coefficients_vs_1_{args.items}items"] = {
            "label": f"8-coefficient sweep vs 1 coefficient ({args.items} A/B pairs + {args.items} questions)",
            **swept, "detail": f"{swept['candidate_s']:.1f} s vs {swept['baseline_s']:.1f} s",
            "note": "on a CPU each coefficient's rows are real work; batching removes only the per-pass overhead"}

    report(f"steering_{args.only}" if args.only else "steering", rows)


if __name__ == "__main__":
    main()
