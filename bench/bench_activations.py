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
            return bench.model._module(ids)

    refresh = compare(lambda: panel.show(TEXT), raw, args.repeats)
    refresh["target"] = 1.5
    refresh["tokens"] = int(ids.shape[1])
    refresh["sae"] = panel.sae
    lens_seconds = min(timed(lambda: (setattr(panel.activations, "_lens", None), panel.lens())) for _ in range(3))
    report("activations", {
        "panel_refresh_vs_raw_forward": refresh,
        "logit_lens_tab_vs_raw_forward": {
            "ratio": round(lens_seconds / refresh["baseline_s"], 3),
            "lens_s": round(lens_seconds, 4),
            "layers": bench.n_layers,
        },
        "payload_bytes_per_token": {
            "ratio": round(payload_bytes(panel) / ids.shape[1], 1),
            "k": panel.k,
            "note": "ratio = bytes per token of the synced state",
        },
    })


if __name__ == "__main__":
    main()
