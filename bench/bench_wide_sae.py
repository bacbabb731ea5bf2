"""Peak memory of the activation panel and feature statistics with wide SAEs (16k, 262k, 1M latents).

    python bench/bench_wide_sae.py [--widths 16384 262144 1048576] [--tokens 512] [--windows 64]

Each width runs in a fresh interpreter: the tiny random Llama of the unit tests (2
layers, hidden size 64), a random JumpReLU SAE of that width registered on it, then

* the activation panel's work: ``bench.activations`` of a ``--tokens``-token text (top
  32 latents per token) and ``feature(latent)`` for one latent;
* feature statistics over ``--windows`` windows of 64 tokens of the demo corpus
  (densities, 16 top examples per latent, promoted tokens), written to a scratch cache.

The figure is the peak resident memory (RSS, sampled every millisecond by a thread,
which sees torch's allocations, unlike tracemalloc) above what the process held once
the model and the SAE were loaded; the SAE's own weights are in that baseline. The
interpreters run with ``MALLOC_MMAP_THRESHOLD_`` fixed, so that a freed block goes
back to the system and RSS follows the memory actually in use (by default glibc keeps
freed large blocks, and RSS would only ever grow). The
detail gives, for scale, the size of the ``[tokens, d_sae]`` float32 matrix the work
would hold if it encoded every token at once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _timing import report

MODEL = "a tiny random Llama (2 layers, hidden size 64, the unit tests' model)"
# glibc raises its mmap threshold after a large block is freed, so freed blocks stay in the heap and RSS only
# grows; a fixed threshold keeps every large block mmapped and returned when freed, so RSS follows live memory
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "131072"}
NOTE = "on the unit tests' tiny random Llama (hidden size 64), not the default model; RSS sampled every ms"


class Peak:
    """The highest RSS seen while the block runs, above the RSS when it started (bytes)."""

    def __enter__(self):
        import psutil

        self._process = psutil.Process()
        self.start = self._process.memory_info().rss
        self.peak = self.start
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._done.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.001)

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)
        self.above = self.peak - self.start


def measure(width: int, tokens: int, windows: int) -> dict:
    """One width, in this process: peak MB above the loaded model and SAE for each piece of work."""
    import torch
    from sae_lens import JumpReLUSAE, JumpReLUSAEConfig

    import workbench as wb
    from tests.conftest import build_tiny_llama
    from workbench.techniques import features

    scratch = Path(tempfile.mkdtemp(prefix="wide-sae-"))
    os.environ["WORKBENCH_CACHE"] = str(scratch / "cache")
    bench = wb.Workbench(str(build_tiny_llama(scratch / "model")), journal=False)
    torch.manual_seed(0)
    sae = JumpReLUSAE(JumpReLUSAEConfig(d_in=bench.hidden_size, d_sae=width))
    with torch.no_grad():
        sae.W_enc.normal_(0, 0.3)
        sae.W_dec.normal_(0, 0.3)
        sae.threshold.uniform_(0.5, 1.5)
    sae.cfg.metadata.hook_name = "blocks.1.hook_resid_post"
    bench.saes.add(sae, name="wide")
    weights = sum(p.numel() * p.element_size() for p in sae.parameters())
    corpus = wb.corpora.demo_training_corpus().texts()
    text = " ".join(corpus)
    ids = bench.tokenizer(text)["input_ids"][:tokens]
    text = bench.tokenizer.decode(ids)
    bench.activations("warm up the forward pass", k=32)

    with Peak() as panel:
        acts = bench.activations(text, k=32)
        acts.feature(int(acts.top_latents[0, 0]))
    n_tokens = len(acts)
    del acts
    with Peak() as stats:
        features.feature_stats(bench, "wide", corpus, windows=windows, context=64, progress=False)
    return {"width": width, "tokens": n_tokens, "windows": windows, "weights_mb": round(weights / 2**20, 1),
            "panel_peak_mb": round(panel.above / 2**20, 1), "stats_peak_mb": round(stats.above / 2**20, 1),
            "dense_panel_mb": round(n_tokens * width * 4 / 2**20, 1),
            "dense_stats_mb": round(16 * 63 * width * 4 / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--widths", type=int, nargs="+", default=[16384, 262144, 1048576])
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)   # run one width here, print its figures
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.tokens, args.windows)))
        return
    import torch  # noqa: F401  (so the results record torch's version and threads)

    rows = {}
    for width in args.widths:
        out = subprocess.run([sys.executable, __file__, "--one", str(width), "--tokens", str(args.tokens),
                              "--windows", str(args.windows)], capture_output=True, text=True, check=True,
                             env={**os.environ, **MALLOC})
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        name = f"{round(width / 1e3)}k" if width < 2**20 else f"{round(width / 1e6)}M"   # 16k, 262k, 1M as releases say
        rows[f"panel_{name}"] = {
            "label": f"activation panel, {name}-latent SAE ({width:,}), {figures['tokens']} tokens: peak memory "
                     "above the loaded model and SAE",
            "ratio": figures["panel_peak_mb"], "unit": "MB", **figures, "note": NOTE,
            "detail": f"a dense [{figures['tokens']}, {width:,}] float32 latent matrix would be "
                      f"{figures['dense_panel_mb']:,} MB; the SAE's weights ({figures['weights_mb']:,} MB) are in "
                      "the baseline"}
        rows[f"stats_{name}"] = {
            "label": f"feature statistics, {name}-latent SAE, {figures['windows']} windows of 64 tokens: peak "
                     "memory above the loaded model and SAE",
            "ratio": figures["stats_peak_mb"], "unit": "MB", **figures, "note": NOTE,
            "detail": f"one forward batch's dense [1008, {width:,}] float32 latents would be "
                      f"{figures['dense_stats_mb']:,} MB; the running top-16 examples are "
                      f"{round(16 * width * 12 / 2**20, 1):,} MB"}
    report("wide_sae", rows, model=MODEL)


if __name__ == "__main__":
    main()
