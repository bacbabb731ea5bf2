"""Activation-panel refresh vs a raw transformers forward of the same text.

    python bench/bench_activations.py [--repeats 5]

A refresh is what the panel does when new text is run: one nnsight forward saving
every layer's residual stream, the SAE encode with top-k per token, and the synced
payload (binary buffers). The logit lens is computed when its tab is opened and is
timed on its own. Also prints the payload bytes per token.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _timing import compare, report, timed

TEXT = (
    "The auditor opened the notebook, loaded the model and asked it about its goals. "
    "It answered that it only wanted to be helpful, but the prefill attack told another story."
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import torch

    import workbench as wb
    from workbench.widgets.activations import payload_bytes

    bench = wb.Workbench()
    panel = wb.ActivationPanel(bench, TEXT)
    ids = torch.tensor([bench.tokenizer(TEXT)["input_ids"]])

    def raw():
        with torch.inference_mode():
            return bench.module(ids)

    refresh = compare(lambda: panel.show(TEXT), raw, args.repeats)
    refresh["target"] = 1.5
    refresh["tokens"] = int(ids.shape[1])
    refresh["sae"] = panel.sae
    lens_seconds = min(timed(lambda: (setattr(panel.activations, "_lens", None), panel.lens())) for _ in range(3))
    per_token = round(payload_bytes(panel) / ids.shape[1], 1)
    report("activations", {
        "panel_refresh_vs_raw_forward": {
            "label": f"activation-panel refresh (forward + SAE encode + payload) vs raw forward, {refresh['tokens']} "
                     "tokens", **refresh,
            "detail": f"{refresh['candidate_s']:.3f} s vs {refresh['baseline_s']:.3f} s"},
        "logit_lens_tab_vs_raw_forward": {
            "label": f"logit-lens tab ({bench.n_layers} layers x {bench.vocab_size:,} vocab, on demand) vs raw "
                     "forward",
            "ratio": round(lens_seconds / refresh["baseline_s"], 3), "lens_s": round(lens_seconds, 4),
            "layers": bench.n_layers, "detail": f"{lens_seconds:.3f} s"},
        "payload_bytes_per_token": {
            "label": "synced panel state", "ratio": per_token, "unit": "bytes/token", "k": panel.k,
            "detail": f"k = {panel.k} latents per token"},
    })


if __name__ == "__main__":
    main()
