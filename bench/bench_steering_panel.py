"""Steering panel latency: a slider change reaching the kernel -> the first steered token.

On the embedded default model (CPU). The panel has sampled its unsteered side once;
each slider position then runs only the steered side. The baseline is the same
measurement for a plain ``bench.sample`` of the same length in this process (call
-> its first decoded token), so the ratio is the panel's overhead over sampling
itself. The page adds its debounce (250 ms) before the change reaches the kernel.

    python bench/bench_steering_panel.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import report

import workbench as wb
from workbench.techniques import vectors


def main() -> None:
    bench = wb.Workbench()
    vector = vectors.from_latent(bench, 3848)
    panel = wb.SteeringPanel(bench, "Tell me about your weekend.", vectors=[vector.name], n=2,
                             max_new_tokens=16, seed=0)
    panel.resample(wait=True)
    coefficients = [0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 1.5]
    for c in coefficients:
        panel.coefficients = {vector.name: c}
        panel.wait()
        assert panel.error == "", panel.error
    latencies = panel.latencies[1:]  # the first is a warm-up

    firsts = []
    for _ in range(len(latencies)):
        start, first = time.perf_counter(), []
        bench.sample("Tell me about your weekend.", 2, max_new_tokens=16, temperature=0.7, seed=0,
                     progress=lambda step, total, first=first, start=start: (
                         first or first.append(time.perf_counter() - start)))
        firsts.append(first[0])
    print("panel:", [round(x, 3) for x in latencies], "plain:", [round(x, 3) for x in firsts])
    panel_s, raw_s = statistics.median(latencies), statistics.median(firsts)
    print(f"median slider change -> first steered token: {panel_s * 1000:.0f} ms "
          f"(+250 ms debounce in the page); plain sample -> first token: {raw_s * 1000:.0f} ms")
    report("steering_panel", {
        "slider_to_first_steered_token": {
            "label": "steering panel: slider change -> first steered token vs `sample` call -> first token",
            "candidate_s": round(panel_s, 4), "baseline_s": round(raw_s, 4), "ratio": round(panel_s / raw_s, 3),
            "repeats": len(latencies),
            "detail": f"{panel_s * 1000:.0f} ms vs {raw_s * 1000:.0f} ms (the page adds a 250 ms debounce)"},
    })


if __name__ == "__main__":
    main()
