"""The README's performance table, generated from the committed results in bench/results/*.json.

    python bench/table.py            # print the table
    python bench/table.py --write    # put it in README.md, between the bench-table markers
    python bench/table.py --check    # exit 1 when README.md's table is not the generated one

A figure in the README is never typed by hand: each row is one row of a results file
(written by the benchmark that measured it, see ``bench/_timing.py``), with the date
and the load average of the machine when that benchmark started.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE.parent / "README.md"
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
# the order the table lists the benchmarks in (others follow, by name)
ORDER = ("sampling", "load", "activations", "steering", "steering_panel", "search", "preference")


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _ratio(value: object, unit: str | None = None) -> str:
    if not isinstance(value, (int, float)):
        return _cell(value)
    return f"{value:g} {unit}" if unit else f"{value:g}x"


def records(folder: Path = RESULTS) -> list[dict]:
    """Every results file, in table order."""
    found = {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
    names = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    return [found[name] for name in names]


def render(folder: Path = RESULTS) -> str:
    """The markdown table (with a line on where and when it was measured)."""
    rows = ["| measurement | ratio | detail | measured |", "| --- | --- | --- | --- |"]
    machines = set()
    for record in records(folder):
        info = record.get("machine", {})
        machines.add(f"{info.get('cores')} cores, torch {info.get('torch', '?')} "
                     f"({info.get('torch_threads', '?')} threads)")
        load = info.get("load_average_at_start")
        when = f"{str(record.get('date', ''))[:10]}, load {load[0]:.2f}" if load else str(record.get("date", ""))[:10]
        for row in record["rows"].values():
            detail = row["detail"] + (f" ({row['note']})" if row.get("note") else "")
            ratio = _ratio(row["ratio"], row.get("unit"))
            rows.append(f"| {_cell(row['label'])} | {ratio} | {_cell(detail)} | {_cell(when)} |")
    header = (f"Measured on {'; '.join(sorted(machines))}, default model, by the scripts above "
              "(raw figures in `bench/results/*.json`; load = the 1-minute load average when the benchmark "
              "started):")
    return header + "\n\n" + "\n".join(rows) + "\n"


def _replace(text: str, table: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"{README} has no {START} ... {END} section for the table.")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="write the table into README.md")
    group.add_argument("--check", action="store_true", help="fail when README.md's table is stale")
    args = parser.parse_args(argv)
    table = render()
    if not args.write and not args.check:
        print(table, end="")
        return 0
    text = README.read_text()
    new = _replace(text, table)
    if args.check:
        if new != text:
            print("README.md's performance table is not the one bench/results/*.json gives: "
                  "run `python bench/table.py --write`.", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    print(f"wrote the table of {len(records())} benchmarks into {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
