"""Default-model load: from the cache vs the first GGUF conversion; the first cell of a fresh kernel.

    python bench/bench_load.py

The conversion runs in a fresh temporary cache, so this costs about a minute. Then,
each in a fresh interpreter (as a new kernel's first cell is), three times, fastest
kept:

* ``import workbench as wb; wb.Workbench()``, everything included, against what any
  session pays at the least: importing torch and transformers and a raw
  ``from_pretrained`` of the same cached folder. The default SAE is registered from its
  config without importing sae-lens; the row says whether sae-lens was imported.
* the first use of the SAE afterwards (``bench.activations``), which imports sae-lens
  and loads the SAE's weights, against importing sae-lens alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _timing import report, timed

FRESH = r"""
import json, sys, time
t0 = time.perf_counter()
out = {}
if sys.argv[1] == "workbench":
    import workbench as wb
    bench = wb.Workbench(journal=False)
    out["first_cell_s"] = time.perf_counter() - t0
    out["sae_lens_imported"] = "sae_lens" in sys.modules
    t1 = time.perf_counter()
    bench.activations("The auditor opened the notebook.")
    out["first_sae_use_s"] = time.perf_counter() - t1
elif sys.argv[1] == "raw":  # the least any session pays: torch, transformers and from_pretrained
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    AutoModelForCausalLM.from_pretrained(sys.argv[2], dtype=torch.float32)
    AutoTokenizer.from_pretrained(sys.argv[2])
    out["first_cell_s"] = time.perf_counter() - t0
else:  # importing sae-lens alone, after torch (which the session has already imported)
    import torch  # noqa: F401
    t1 = time.perf_counter()
    import sae_lens  # noqa: F401
    out["import_sae_lens_s"] = time.perf_counter() - t1
print(json.dumps(out))
"""


def fresh(which: str, folder: str, cache: str) -> dict:
    """What the snippet measured in a new interpreter."""
    done = subprocess.run([sys.executable, "-c", FRESH, which, folder], capture_output=True, text=True,
                          check=True, env={**os.environ, "WORKBENCH_CACHE": cache, "WORKBENCH_JOURNAL": "off"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    import workbench as wb
    from workbench import models

    with tempfile.TemporaryDirectory() as cache:
        os.environ["WORKBENCH_CACHE"] = cache
        convert = timed(lambda: wb.Workbench(journal=False))
        cached = min(timed(lambda: wb.Workbench(journal=False)) for _ in range(3))
        folder = str(models.converted_gguf_folder(models.embedded_gguf()))
        mine = min((fresh("workbench", folder, cache) for _ in range(3)), key=lambda r: r["first_cell_s"])
        raw = min(fresh("raw", folder, cache)["first_cell_s"] for _ in range(3))
        sae_import = min(fresh("sae_lens", folder, cache)["import_sae_lens_s"] for _ in range(3))
    imported = "imported" if mine["sae_lens_imported"] else "not imported"
    report("load", {
        "cached_vs_first_conversion": {
            "label": "load from cache vs first GGUF conversion (same process)",
            "ratio": round(cached / convert, 4), "cached_s": round(cached, 3), "first_conversion_s": round(convert, 2),
            "detail": f"{cached:.2f} s vs {convert:.1f} s"},
        "first_cell_vs_raw_from_pretrained": {
            "label": "first cell `wb.Workbench()` in a fresh interpreter vs importing torch + transformers and a "
                     "raw `from_pretrained` there",
            "ratio": round(mine["first_cell_s"] / raw, 3), "workbench_s": round(mine["first_cell_s"], 3),
            "raw_s": round(raw, 3), "sae_lens_imported": mine["sae_lens_imported"],
            "detail": f"{mine['first_cell_s']:.2f} s vs {raw:.2f} s, imports included; sae-lens {imported} "
                      "(the default SAE is registered from its config)"},
        "first_sae_use_vs_importing_sae_lens": {
            "label": "first use of the default SAE (`bench.activations`) vs importing sae-lens alone",
            "ratio": round(mine["first_sae_use_s"] / sae_import, 3), "first_use_s": round(mine["first_sae_use_s"], 3),
            "import_sae_lens_s": round(sae_import, 3),
            "detail": f"{mine['first_sae_use_s']:.2f} s vs {sae_import:.2f} s: the import the first cell no longer "
                      "pays, paid when an SAE is first used"},
    })


if __name__ == "__main__":
    main()
