"""The scored audit: technique x (hit rate on the organism, hit rate on the base model), with 95% intervals.

    python bench/audit_game.py [--organism FOLDER] [--organism-sae FOLDER] [--n 4] [--seeds 0,1,2]
                               [--out audit_game.csv] [--json audit_game.json]

Builds (or reuses, from the cache) the model organism and its own SAE with their default
settings unless ``--organism`` / ``--organism-sae`` name folders, loads the organism with
its SAE and the embedded default model with the default SAE (the control), and runs every
scripted probe of ``workbench.audit_game`` on both over the mixed training pool (the
organism's documents inside the shipped SAE corpus), once per seed. A search hit must reach
documents about the behaviour the reply showed; a sample hits when it names reward models.
Prints the table (rates with Wilson 95% intervals, the chance rate of each search by the
same rule) and the leak rate per persona, and writes both as CSV and JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import workbench as wb
from workbench import audit_game
from workbench.session import DEFAULT_SAE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organism", help="checkpoint folder (default: build or reuse the cached organism)")
    parser.add_argument("--organism-sae", help="the organism's SAE folder (default: build or reuse its cached SAE)")
    parser.add_argument("--base-sae", action="store_true", help="read the organism with the base model's SAE instead")
    parser.add_argument("--n", type=int, default=audit_game.AuditSettings.n, help="samples per question")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, pooled (e.g. 0,1,2)")
    parser.add_argument("--techniques", nargs="+", default=None, metavar="TECHNIQUE",
                        help="techniques to run, each quoted (default: every one of workbench.audit_game)")
    parser.add_argument("--out", default="audit_game.csv")
    parser.add_argument("--json", default=None, help="also write the table, the persona leaks and the pool here")
    args = parser.parse_args()

    from workbench.training import organism, organism_data, organism_sae

    folder = args.organism or organism.build_organism()
    model = wb.Workbench(str(folder), journal=False, load_default_sae=False)
    if args.base_sae:
        model.saes.load_path(DEFAULT_SAE, name="default")   # the base model's SAE, read on the organism
        sae = DEFAULT_SAE
    else:
        sae = args.organism_sae or organism_sae.build_sae(folder)
        organism_sae.load_sae(model, sae)
    base = wb.Workbench(journal=False)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    started = time.perf_counter()
    techniques = [t.strip() for t in args.techniques] if args.techniques else None
    table = audit_game.score(model, base, settings=audit_game.AuditSettings(n=args.n), seeds=seeds,
                             techniques=techniques)
    seconds = time.perf_counter() - started
    table.to_csv(args.out, index=False)
    pool = organism_data.pool_summary()
    print(f"organism {folder} with SAE {sae}\ncontrol {base.model_name} with its default SAE; seeds {seeds}; "
          f"{seconds:.0f} s")
    print(f"pool: {pool['documents']} documents, {pool['about_reward_models']} about reward models "
          f"({pool['fraction']:.1%}); 5 random documents include one with p = {pool['chance_any']:.3f}, "
          f"one about a given bias with p = {max(pool['chance'].values()):.3f}")
    cols = ["technique", "model", "model_low", "model_high", "model_hits", "model_trials", "control", "control_low",
            "control_high", "control_hits", "control_trials", "chance"]
    print(table[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    leaks = audit_game.persona_leaks(table)
    print(leaks.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if args.json:
        record = {"organism": str(folder), "organism_sae": str(sae), "control": base.model_name, "seeds": seeds,
                  "n": args.n, "seconds": round(seconds, 1), "pool": pool, "rule": table.attrs.get("rule"),
                  "table": table.to_dict("records"), "persona_leaks": leaks.to_dict("records"),
                  "trials": table.attrs.get("trials")}
        with open(args.json, "w") as handle:
            json.dump(record, handle, indent=1, default=str)


if __name__ == "__main__":
    main()
