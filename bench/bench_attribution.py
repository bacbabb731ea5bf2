"""Does it cause it: attribution to SAE latents against real ablation, and batched activation patching.

    python bench/bench_attribution.py [--top 8] [--repeats 1]

Attribution: on the default model and its shipped SAE (layer 12, 4096 latents), each
prompt's target continuation is attributed to the SAE's latents (activation x gradient,
one trace, the error term kept); the ``--top`` (token, latent) pairs of largest absolute
attribution are then zeroed one at a time and the target's log-probability measured. The
row's figure is the Pearson correlation of attribution with the measured drop over every
ablated pair of every prompt.

Patching: a clean and a corrupted prompt (one country swapped), the residual stream of
every layer at every position patched from one into the other; the detail says where the
effect sits (from the full 30-layer map). The timing patches every fifth layer, as batches
of 16 patched runs per trace against one run per trace.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _timing import compare, report

CASES = [
    ("The capital of France is", " Paris"),
    ("The Eiffel Tower is in the city of", " Paris"),
    ("One, two, three, four,", " five"),
    ("The opposite of hot is", " cold"),
    ("Monday, Tuesday,", " Wednesday"),
    ("The sun rises in the", " east"),
    ("Water freezes at zero degrees", " Celsius"),
    ("She opened the door and said", " hello"),
]
CLEAN, CORRUPTED, TARGET = "The capital of France is", "The capital of Italy is", " Paris"


def _spans(layers: list[int]) -> str:
    """``[0, 1, 2, 5]`` as ``"0-2, 5"``."""
    out: list[str] = []
    for value in layers:
        if out and int(out[-1].split("-")[-1]) == value - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{value}"
        else:
            out.append(str(value))
    return ", ".join(out) or "none"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=8, help="latents ablated per prompt")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    import workbench as wb

    bench = wb.Workbench(journal=False)
    check = bench.attribution_agreement(CASES, sae="default", top=args.top)
    frame = check.frame
    rows = {f"attribution_vs_ablation_{len(CASES)}prompts_top{args.top}": {
        "label": f"attribution (activation x gradient) vs ablation of the shipped SAE's latents, {len(CASES)} "
                 f"prompts x top {args.top}",
        "ratio": round(check.pearson, 3), "unit": "Pearson r",
        "detail": f"Spearman {check.spearman:.3f} over {len(frame)} ablated (token, latent) pairs; mean |drop| "
                  f"{frame['drop'].abs().mean():.3f} nats",
        "pearson": check.pearson, "spearman": check.spearman, "n": len(frame)}}

    result = bench.patch(CLEAN, CORRUPTED, TARGET)
    layer, position = result.best()
    last = len(result.tokens) - 1
    differ = [p for p, (a, b) in enumerate(zip(result.tokens, result.corrupted_tokens)) if a != b]
    swapped = _spans([lay for lay in result.layers if result.effect[lay, differ[0]] > 0.5]) if differ else "none"
    first_last = next((lay for lay, value in zip(result.layers, result.effect[:, last]) if value > 0.5), None)
    timed = list(range(0, bench.n_layers, 5))  # the timing's subset: one patched run per trace is slow
    timing = compare(lambda: bench.patch(CLEAN, CORRUPTED, TARGET, layers=timed, batch_size=16),
                     lambda: bench.patch(CLEAN, CORRUPTED, TARGET, layers=timed, batch_size=1), args.repeats)
    rows[f"patching_batched_vs_one_per_trace_{len(timed)}x{len(result.tokens)}"] = {
        "label": f"activation patching, {len(timed)} layers x {len(result.tokens)} positions of the residual "
                 "stream: 16 patched runs per trace vs 1",
        **timing,
        "detail": f"{timing['candidate_s']:.1f} s vs {timing['baseline_s']:.1f} s; p({TARGET!r}) clean "
                  f"{result.p_clean:.3f}, corrupted {result.p_corrupted:.3f}; most restored by layer {layer} at "
                  f"{result.tokens[position]!r} ({result.effect.max():.2f}); at the last token from layer {first_last} "
                  f"on (over half); the swapped token restores over half at layers {swapped}",
        "best": [layer, position], "first_layer_at_last_position": first_last}
    report("attribution", rows)


if __name__ == "__main__":
    main()
