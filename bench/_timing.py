"""Shared timing helpers: medians of interleaved repeats, printed as ratios."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


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


def report(name: str, rows: dict) -> None:
    """Print each measurement as one line and keep them in bench/results/<name>.json."""
    for key, row in rows.items():
        extra = {k: v for k, v in row.items() if k not in ("ratio", "target")}
        target = f" (target <= {row['target']})" if "target" in row else ""
        print(f"{name}: {key}: ratio {row['ratio']}{target}  {extra}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(rows, indent=1))
