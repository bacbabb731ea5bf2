"""How well explanations of the default SAE's latents predict where they fire, against shuffled explanations.

    python bench/bench_explain.py [--n 200] [--model-n 200] [--parts rules,model,search]

``--parts`` measures only some rows and keeps the others of the results file. (The committed
figures come from ``--parts rules,model`` with the defaults, then ``--parts search`` after the
search change: the model explainer costs about 1 s per latent to write and 4 s to score, twice
over with the shuffled baseline; its 200 latents took 33 minutes, on cores shared with other work.)

For the ``n`` most frequent latents of the embedded SAE over the shipped corpus, the
rule-based explainer and the loaded model (through its chat template) each write an
explanation, which is scored by detection (AUROC of the scorer telling the segments
where the latent fires from segments where it does not; 0.5 is chance): the lexical
scorer for the rule-based ones, the model's yes/no log-probability for the model's.
The baseline is the same explanations given to the wrong latents (a random
derangement), scored the same way. The ratio column is the mean score itself (unit
AUROC), not a time. The last row is where ``bench.search_features("chocolate")`` ranks
the latent that fires most on " chocolate" (1 is first). Explanations are written into
a fresh temporary cache, so nothing cached is read back.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _timing import report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--model-n", type=int, default=200)
    parser.add_argument("--parts", default="rules,model,search",
                        help="which rows to measure (comma-separated); the other rows of the results file are kept")
    args = parser.parse_args()

    import workbench as wb

    bench = wb.Workbench(journal=False)  # the model is read from the usual cache before it is redirected
    os.environ["WORKBENCH_CACHE"] = scratch = tempfile.mkdtemp(prefix="wb-bench-explain-")
    try:
        _measure(bench, args.n, args.model_n, set(args.parts.split(",")))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _row(bench, found, label: str, seconds: float) -> dict:
    from workbench.techniques import explain

    baseline = explain.shuffled_baseline(bench, found)
    scored = [e for e in found if e.score is not None]
    fallbacks = sum(e.explainer == "rules" and "rule-based summary used" in e.note for e in found)
    return {"label": label, "ratio": found.mean_score, "unit": "AUROC",
            "detail": f"mean detection score {found.mean_score} over {len(scored)} scored of {len(found)} latents; "
                      f"the same explanations shuffled across latents: {baseline}",
            "shuffled": baseline, "latents": len(found), "scored": len(scored), "fallbacks": fallbacks,
            "seconds": round(seconds, 1),
            "examples": [{"latent": e.latent, "text": e.text[:160], "score": e.score} for e in list(found)[:5]]}


def _measure(bench, n: int, model_n: int, parts: set) -> None:
    import json

    from _timing import RESULTS

    stats = bench.feature_stats(progress=False)
    kept = RESULTS / "explain.json"
    rows = json.loads(kept.read_text())["rows"] if kept.is_file() else {}
    if "search" in parts:
        _search(bench, stats, rows)
    if "rules" not in parts and "model" not in parts:
        return
    start = time.perf_counter()
    rules = bench.explain_all(n=n, explainer="rules", progress=False)
    rows["rules_detection_vs_shuffled"] = _row(
        bench, rules, f"rule-based explanations of the {n} most frequent latents, lexical scorer (AUROC)",
        time.perf_counter() - start)
    print(rows["rules_detection_vs_shuffled"]["detail"], flush=True)
    report("explain", rows)  # written after each part, so a long run keeps what it measured
    if "model" not in parts:
        return
    start = time.perf_counter()
    model = bench.explain_all(explainer="model", n=model_n, progress=False)
    rows["model_detection_vs_shuffled"] = _row(
        bench, model, f"the model's own explanations of the {model_n} most frequent latents, model yes/no scorer "
                      "(AUROC)", time.perf_counter() - start)
    same = [rules[e.latent].score for e in model if rules[e.latent].score is not None] if model_n <= n else []
    rows["model_detection_vs_shuffled"]["rules_on_same_latents"] = round(float(sum(same) / len(same)), 4) if same \
        else None
    rows["model_detection_vs_shuffled"]["detail"] += (f"; the rule-based explanations of the same latents: "
                                                       f"{rows['model_detection_vs_shuffled']['rules_on_same_latents']}")
    print(rows["model_detection_vs_shuffled"]["detail"], flush=True)
    report("explain", rows)


def _search(bench, stats, rows: dict) -> None:
    from workbench.techniques import explain

    # the chocolate latent: the one that fires most on " chocolate" in a sentence outside the corpus
    acts = bench.activations("I baked a cake with dark chocolate")
    chocolate = int(acts.top_features(len(acts) - 1).latent.iloc[0])
    start = time.perf_counter()
    found = bench.search_features("chocolate", k=stats.d_sae)
    seconds = time.perf_counter() - start
    ranking = found.frame.latent.tolist()
    rank = ranking.index(chocolate) + 1 if chocolate in ranking else None
    rows["search_chocolate_rank"] = {
        "label": 'search_features("chocolate"): rank of the latent firing most on " chocolate"',
        "ratio": rank if rank is not None else -1, "unit": "(rank)",
        "detail": f"latent {chocolate} ranks {rank} of {len(ranking)} live latents (rule-based explanations, "
                  f"layer {found.settings['layer']} embeddings); its explanation: "
                  f"{explain.explain_all(bench, [chocolate], explainer='rules', progress=False)[chocolate].text[:120]}",
        "latent": chocolate, "candidates": len(ranking), "seconds": round(seconds, 1),
        "top3": found.frame.head(3)[["latent", "similarity", "explanation"]].to_dict("records")}
    print(rows["search_chocolate_rank"]["detail"], flush=True)
    report("explain", rows)


if __name__ == "__main__":
    main()
