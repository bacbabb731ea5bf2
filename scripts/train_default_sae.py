"""Train the embedded default SAE for the embedded default model (the command the README records).

    python scripts/train_default_sae.py

Reads workbench/data/sae_corpus.jsonl.gz (build it with scripts/build_sae_corpus.py),
trains a TopK SAE with sae-lens on the residual stream after layer 12, and writes it
(sae-lens disk format, safetensors) with its held-out report to
workbench/data/saes/smollm2-135m-layer12/.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "workbench" / "data" / "saes" / "smollm2-135m-layer12"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layer", type=int, default=12)
    parser.add_argument("--d-sae", type=int, default=4096)
    parser.add_argument("-k", type=int, default=48)
    parser.add_argument("--tokens", type=int, default=600_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import workbench as wb
    from workbench.corpora import sae_corpus

    bench = wb.Workbench(load_default_sae=False)
    entry = bench.saes.train(
        args.layer, sae_corpus(bench), d_sae=args.d_sae, k=args.k, tokens=args.tokens,
        epochs=args.epochs, lr=args.lr, seed=args.seed, save_to=args.out, name="default",
    )
    print(entry)
    print(json.dumps(entry.report.__dict__, indent=1))


if __name__ == "__main__":
    main()
