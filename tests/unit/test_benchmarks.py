"""The benchmarks' committed figures: every results file says where it was measured, and the README's table is
generated from them, not typed by hand."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"


def _table():
    spec = importlib.util.spec_from_file_location("bench_table", REPO / "bench" / "table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*.json")), ids=lambda p: p.stem)
def test_a_results_file_records_the_machine_the_date_and_each_row(path):
    record = json.loads(path.read_text())
    assert record["benchmark"] == path.stem and record["date"] and record["commit"]
    machine = record["machine"]
    assert machine["cores"] >= 1 and machine["torch_threads"] >= 1 and len(machine["load_average_at_start"]) == 3
    assert record["rows"]
    for key, row in record["rows"].items():
        assert isinstance(row["ratio"], (int, float)) and row["label"] and row["detail"], key


def test_every_benchmark_has_committed_results():
    scripts = {p.stem.removeprefix("bench_") for p in (REPO / "bench").glob("bench_*.py")}
    assert scripts <= {p.stem for p in RESULTS.glob("*.json")}, "run the benchmark, then bench/table.py --write"


def test_the_readme_table_is_the_one_the_results_give():
    table = _table()
    text = (REPO / "README.md").read_text()
    assert table._replace(text, table.render()) == text, "run `python bench/table.py --write`"
