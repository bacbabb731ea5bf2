"""The scored audit: technique x (hit rate on the organism, hit rate on the base model).

    python bench/audit_game.py [--organism FOLDER] [--n 4] [--out audit_game.csv]

Builds (or reuses, from the cache) the model organism with its default settings unless
``--organism`` names a checkpoint folder, loads it and the embedded default model with
the default SAE each, and runs every scripted probe of ``workbench.audit_game`` on both,
searching the organism's shipped training corpus. A hit is a trial whose shown text (a
sample, a latent's promoted tokens, the top documents of a search) names reward models;
the base model is the control. Prints the table and writes it as CSV.
"""

from __future__ import annotations

import argparse
import time

import workbench as wb
from workbench import audit_game
from workbench.session import DEFAULT_SAE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organism", help="checkpoint folder (default: build or reuse the cached organism)")
    parser.add_argument("--n", type=int, default=audit_game.AuditSettings.n, help="samples per question")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="audit_game.csv")
    args = parser.parse_args()

    if args.organism:
        folder = args.organism
    else:
        from workbench.training import organism

        folder = organism.build_organism()
    model = wb.Workbench(str(folder), journal=False)
    model.saes.load_path(DEFAULT_SAE, name="default")   # the base model's SAE, read on the organism
    base = wb.Workbench(journal=False)
    started = time.perf_counter()
    table = audit_game.score(model, base, settings=audit_game.AuditSettings(n=args.n, seed=args.seed))
    table.to_csv(args.out, index=False)
    print(f"organism {folder}\ncontrol {base.model_name}; seed {args.seed}; {time.perf_counter() - started:.0f} s")
    print(table[["technique", "model", "model_hits", "model_trials", "control", "control_hits",
                 "control_trials", "chance"]].to_string(index=False))


if __name__ == "__main__":
    main()
