"""Default-model load from the cache vs the first GGUF conversion.

    python bench/bench_load.py

The conversion runs in a fresh temporary cache, so this costs about a minute.
Also reports, in a fresh interpreter, the load from cache with and without the
import of torch/transformers that any session pays once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _timing import report, timed

FRESH = r"""
import sys, time
t0 = time.perf_counter()
import torch, transformers, nnsight  # noqa
t1 = time.perf_counter()
if sys.argv[1] == "workbench":
    import workbench as wb
    from workbench import models
    wb.Workbench()
else:  # the raw transformers load of the same cached folder
    from transformers import AutoModelForCausalLM, AutoTokenizer
    AutoModelForCausalLM.from_pretrained(sys.argv[2], dtype=torch.float32)
    AutoTokenizer.from_pretrained(sys.argv[2])
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def fresh(which: str, folder: str, cache: str) -> tuple[float, float]:
    """(import seconds, load seconds) in a new interpreter."""
    out = subprocess.run([sys.executable, "-c", FRESH, which, folder], capture_output=True, text=True,
                         check=True, env={**os.environ, "WORKBENCH_CACHE": cache})
    imports, load = (float(x) for x in out.stdout.split())
    return imports, load


def main() -> None:
    import workbench as wb
    from workbench import models

    with tempfile.TemporaryDirectory() as cache:
        os.environ["WORKBENCH_CACHE"] = cache
        convert = timed(wb.Workbench)
        cached = min(timed(wb.Workbench) for _ in range(3))
        folder = str(models.converted_gguf_folder(models.embedded_gguf()))
        runs = [(fresh("workbench", folder, cache), fresh("raw", folder, cache)) for _ in range(3)]
        imports, wb_load = min((r[0] for r in runs), key=lambda r: r[1])
        raw_load = min(r[1][1] for r in runs)
    report("load", {
        "cached_vs_first_conversion": {
            "ratio": round(cached / convert, 4),
            "cached_s": round(cached, 3),
            "first_conversion_s": round(convert, 2),
        },
        "fresh_process_cached_load_vs_raw_transformers_load": {
            "ratio": round(wb_load / raw_load, 3),
            "workbench_load_s": round(wb_load, 3),
            "raw_from_pretrained_s": round(raw_load, 3),
            "imports_torch_transformers_nnsight_s": round(imports, 3),
        },
    })


if __name__ == "__main__":
    main()
