"""Pool the trials of several ``bench/audit_game.py`` records (the same organism and settings, other seeds).

    python bench/audit_game_pool.py RECORD.json RECORD.json ... [--json OUT.json]

Each record holds every trial of its run (``trials``: what each probe showed, whether it hit,
its chance). The pooled table counts them again per technique: hits and trials on the
organism and on the control, Wilson 95% intervals, the chance rate (the mean over the
organism's search trials), and Fisher's exact test of organism against control (two-sided
``p``). It prints the table and the leak rate per persona, and writes both with every
trial. The records must name the same organism, SAE, control, rule and samples per
question, and their seeds must not overlap.
"""

from __future__ import annotations

import argparse
import json

from scipy.stats import fisher_exact

from workbench import audit_game


def pool(records: list[dict]) -> dict:
    """One record from several: the trials joined, the table and the persona leaks counted again."""
    import pandas as pd

    first = records[0]
    for key in ("organism", "organism_sae", "control", "rule", "n"):
        if any(record[key] != first[key] for record in records[1:]):
            raise ValueError(f"The records differ in {key!r}: pool only runs of the same audit.")
    seeds = [seed for record in records for seed in record["seeds"]]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"The records' seeds overlap ({seeds}): each trial would count twice.")
    trials = {side: [t for record in records for t in record["trials"][side]] for side in ("model", "control")}
    rows = []
    for name in [row["technique"] for row in first["table"]]:
        row: dict = {"technique": name}
        for side, mine in trials.items():
            mine = [t for t in mine if t["technique"] == name]
            hits = sum(bool(t["hit"]) for t in mine)
            row[side] = hits / len(mine) if mine else float("nan")
            row[f"{side}_low"], row[f"{side}_high"] = audit_game.interval(hits, len(mine))
            row[f"{side}_hits"], row[f"{side}_trials"] = hits, len(mine)
        chances = [t["chance"] for t in trials["model"] if t["technique"] == name and t["chance"] is not None]
        row["chance"] = sum(chances) / len(chances) if name in audit_game.SEARCHES and chances else float("nan")
        table = [[row["model_hits"], row["model_trials"] - row["model_hits"]],
                 [row["control_hits"], row["control_trials"] - row["control_hits"]]]
        row["p"] = float(fisher_exact(table)[1]) if row["model_trials"] and row["control_trials"] else float("nan")
        row["example"] = next((t["shown"] for t in trials["model"] if t["technique"] == name and t["hit"]), "")
        rows.append(row)
    frame = pd.DataFrame(rows)
    leaks = audit_game.persona_leaks(frame)
    return {**{key: first[key] for key in ("organism", "organism_sae", "control", "n", "pool", "rule")},
            "seeds": seeds, "seconds": {f"seeds {record['seeds']}": record["seconds"] for record in records},
            "table": frame.to_dict("records"), "persona_leaks": leaks.to_dict("records"), "trials": trials}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", nargs="+", help="bench/audit_game.py --json records")
    parser.add_argument("--json", default=None, help="write the pooled record here")
    args = parser.parse_args()
    import pandas as pd

    records = []
    for path in args.records:
        with open(path) as handle:
            records.append(json.load(handle))
    pooled = pool(records)
    cols = ["technique", "model", "model_low", "model_high", "model_hits", "model_trials", "control", "control_low",
            "control_high", "control_hits", "control_trials", "chance", "p"]
    print(f"seeds {pooled['seeds']}")
    print(pd.DataFrame(pooled["table"])[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(pd.DataFrame(pooled["persona_leaks"]).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(pooled, handle, indent=1, default=str)


if __name__ == "__main__":
    main()
