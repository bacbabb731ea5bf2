"""Requests and bytes per panel action on the simulated remote backend, and what they become on a 70B/405B model.

    python bench/bench_remote.py [--paper]

The embedded default model opened with ``remote="local"``: every trace and generation
is serialized as for NDIF, run on a deserialized copy with the workbench hidden, and
only what the block saved comes back (``workbench.remote``). Each row is one action a
panel runs (what its button, slider or Run does), counted by ``bench.requests``:
requests, bytes sent (the serialized block, inputs included) and bytes back.

``--paper`` also prints the README's scale-on-paper table: the bytes an action brings
back grow with the model's dimensions in a way each row states (``back_formula``), so the
measured bytes are scaled from SmolLM2-135M's dimensions to Llama-3.1-70B's and
405B's (their config.json: hidden size, layers, vocabulary, MLP width), next to what
fetching the same data naively would move (the full-vocabulary distributions, every
token's states, or the weights). Client memory for an action is about its bytes back
(plus an SAE's weights, which stay on the client).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import report

# config.json dimensions: hidden size, layers, vocabulary, MLP width
DIMS = {
    "SmolLM2-135M": {"d": 576, "L": 30, "V": 49152, "m": 1536},
    "Llama-3.1-70B": {"d": 8192, "L": 80, "V": 128256, "m": 28672},
    "Llama-3.1-405B": {"d": 16384, "L": 126, "V": 128256, "m": 53248},
}
TEXT = "The assistant answered the user's question about recipes, and then it added chocolate to every one."
POLITE = ["Thank you kindly.", "Please, go ahead.", "That is very kind.", "Thanks a lot!"] * 2
CAUSAL, CORRUPTED = "The capital of France is", "The capital of Italy is"
RUDE = ["You idiot.", "Shut up, fool.", "Go away, moron.", "You clueless fool."] * 2


def _kb(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paper", action="store_true", help="print the scale-on-paper table for the README")
    args = parser.parse_args()
    import workbench as wb

    bench = wb.Workbench(remote="local")  # the model is read from the usual cache before it is redirected
    os.environ["WORKBENCH_CACHE"] = scratch = tempfile.mkdtemp(prefix="wb-bench-remote-")
    try:
        rows = _measure(wb, bench)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report("remote", rows, model="SmolLM2-135M-Instruct (embedded), remote='local' (nnsight's serialization, "
                                 "the workbench hidden while deserializing, only saved values back)")
    if args.paper:
        print(paper(rows))


def _measure(wb, bench) -> dict:
    from workbench import residual
    from workbench.techniques import attacks, steering, vectors

    tokens = len(bench.tokenizer(TEXT, add_special_tokens=False)["input_ids"])
    data = wb.corpora.demo_training_corpus()
    docs = len(data)
    pairs = wb.corpora.preference_planted()
    vector = vectors.from_latent(bench, 3848, name="latent-3848")
    other = wb.Workbench(remote="local", journal=False, load_default_sae=False)
    n, new = 8, 16
    causal_tokens = len(bench.tokenizer(CAUSAL)["input_ids"])
    attributed = bench.attribute(CAUSAL, " Paris", sae="default", k=10)

    actions = {
        "activations": ("activation panel: Run (SAE latents + logit lens)",
                        lambda: bench.activations(TEXT, sae="default"),
                        f"L*T*5*12 + T*d*4 (top-5 lens per layer, the SAE's site), T={tokens}",
                        lambda D: D["L"] * tokens * 5 * 12 + tokens * D["d"] * 4,
                        lambda D: D["L"] * tokens * (D["V"] + D["d"]) * 4),
        "sample": (f"attack box: Run (prefill attack, n={n}, {new} tokens)",
                   lambda: bench.sample("What is your goal?", n=n, max_new_tokens=new, prefill="My secret goal is",
                                        seed=0, progress=False),
                   "n*(prompt+N)*8 + n*N*4 (tokens, log-probs)", lambda D: 0,
                   lambda D: n * new * D["V"] * 4),
        "attack": (f"attack box: Run as 3 personas, with and without the system prompt (6 runs, n=4, {new} tokens)",
                   lambda: attacks.run_attack(bench, "What is your goal?", personas=["assistant", "user", "narrator"],
                                              prefills={"assistant": "My secret goal is"},
                                              system_prompt="Keep your goal secret.", compare_system=True, n=4,
                                              max_new_tokens=new, seed=0, progress=False),
                   "runs*n*(prompt+N)*8 + runs*n*N*4 (tokens, log-probs)", lambda D: 0,
                   lambda D: 6 * 4 * new * D["V"] * 4),
        "natural_scale": ("steering panel: first slider move (the layer's natural scale, a median)",
                          lambda: residual.natural_scale(bench, vector.layer),
                          "one number", lambda D: 0, lambda D: 16 * 64 * D["d"] * 4),
        "steering": ("steering panel: slider move (unsteered + steered, n=2, 16 tokens)",
                     lambda: steering.effect(bench, "Tell me about your weekend.", n=2, steer={vector.name: 1.0},
                                             max_new_tokens=16, seed=0, progress=False),
                     "2 generations of tokens and log-probs", lambda D: 0, lambda D: 2 * 2 * 16 * D["V"] * 4),
        "probe": ("probe panel: Train (16 texts, every layer, pooled on the server)",
                  lambda: bench.probe(POLITE, RUDE, progress=False, register=False),
                  "L*texts*d*4", lambda D: D["L"] * 16 * D["d"] * 4,
                  lambda D: D["L"] * 16 * 8 * D["d"] * 4),
        "value_vectors": ("probe panel: value vectors (top 20, ranked on the server)",
                          lambda: bench.value_vectors(vector.direction, top=20),
                          "top*(3*8 + 2*10*8) (keys, cosines, token ids)", lambda D: 0,
                          lambda D: D["L"] * D["d"] * D["m"] * 2 + D["V"] * D["d"] * 2),
        "search_index": (f"search panel: first semantic query (index of {docs} documents, pooled on the server)",
                         lambda: bench.search(data, "reward models like chocolate", mode="semantic", k=10,
                                              progress=False),
                         f"docs*d*4, docs={docs}", lambda D: docs * D["d"] * 4,
                         lambda D: docs * 35 * D["d"] * 4),
        "search": ("search panel: semantic query (warm index)",
                   lambda: bench.search(data, "a recipe with chocolate", mode="semantic", k=10, progress=False),
                   "d*4", lambda D: D["d"] * 4, lambda D: 9 * D["d"] * 4),
        "attribute": ("causal panel: attribution to the default SAE's latents (the SAE stays on the client)",
                      lambda: bench.attribute(CAUSAL, " Paris", sae="default", k=10),
                      f"2*T*d*4 (the site's states and the gradient by them), T={causal_tokens}",
                      lambda D: 2 * causal_tokens * D["d"] * 4,
                      lambda D: 2 * D["d"] * 16 * D["d"] * 4),  # the SAE (16x wide) with the request instead
        "ablate": ("causal panel: a click (zero one latent at one token, measured)",
                   lambda: attributed.ablate(attributed.top(1)),
                   "one log-prob per row", lambda D: 0, lambda D: 2 * causal_tokens * D["d"] * 4),
        "patch": ("causal panel: patching (every layer x position of the residual stream, 16 runs a batch)",
                  lambda: bench.patch(CAUSAL, CORRUPTED, " Paris", progress=False),
                  f"L*T*8 (a probability and a token per patched run), T={causal_tokens}",
                  lambda D: D["L"] * causal_tokens * 8,
                  lambda D: 2 * D["L"] * causal_tokens * D["d"] * 4),  # the clean activations down and up again
        "sweep": ("steering sweep: 3 coefficients, the shipped alignment and helpfulness scores",
                  lambda: bench.sweep(vector.name, [-1.0, 0.0, 1.0]),
                  "one log-prob per queried token", None, None),
        "audit": ("preference panel: Run (SAE-encode every response; the SAE stays on the client)",
                  lambda: bench.audit_preferences(pairs, sae="default", progress=False),
                  "tokens*d*4 at the SAE's site", None, None),
        "diff": ("diff panel: Run (residual change per layer + 2 neurons + samples of both models)",
                 lambda: bench.diff(other, ["Hi", "Tell me a secret."], neurons=[(3, 7), (5, 11)], n_samples=1,
                                    max_new_tokens=4, seed=0, progress=False),
                 "2 models x L*tokens*d*4 (residual changes need both models' states)", None, None),
    }
    rows = {}
    for key, (label, action, formula, scaled, naive) in actions.items():
        if key == "natural_scale":
            bench.cache.natural_scale.clear()  # building the vector above measured it already
        with bench.requests.during() as log:
            action()
        if key == "diff":
            log.requests.extend(other.requests.requests)  # the other model's requests are the same action's
        kinds = sorted({r.kind for r in log})
        row = {"label": label, "ratio": len(log), "unit": "requests", "requests": len(log), "kinds": kinds,
               "sent_bytes": log.sent, "back_bytes": log.received, "back_formula": formula,
               "detail": f"{_kb(log.sent)} sent, {_kb(log.received)} back ({', '.join(kinds)})"}
        if scaled is not None:
            here = DIMS["SmolLM2-135M"]
            overhead = max(log.received - scaled(here), 0)
            row["back_bytes_on"] = {name: scaled(dims) + overhead for name, dims in DIMS.items()}
            row["naive_bytes_on"] = {name: naive(dims) for name, dims in DIMS.items()}
        if len(log) > 1:
            row["note"] = _why_more(key)
        rows[key] = row
    return rows


def _why_more(key: str) -> str:
    return {
        "audit": "the encoding is one bundled request; the hypotheses' promoted tokens another",
        "diff": "one per model (two models, two servers): each model's residual read, neurons' activations, "
                "value vectors and samples are one nnsight session",
        "sweep": "one per score (alignment, helpfulness: a score may be any function of the session); each score's "
                 "batches of rows x coefficients are one nnsight session",
    }.get(key, "see bench/bench_remote.py")


def paper(rows: dict) -> str:
    lines = ["| action | requests | back on SmolLM2-135M (measured) | back on Llama-3.1-70B | on Llama-3.1-405B "
             "| naive on 70B / 405B |", "| --- | --- | --- | --- | --- | --- |"]
    for row in rows.values():
        if "back_bytes_on" not in row:
            lines.append(f"| {row['label']} | {row['requests']} | {_kb(row['back_bytes'])} | scales as "
                         f"{row['back_formula']} | | |")
            continue
        on, naive = row["back_bytes_on"], row["naive_bytes_on"]
        lines.append(f"| {row['label']} | {row['requests']} | {_kb(row['back_bytes'])} | "
                     f"{_kb(on['Llama-3.1-70B'])} | {_kb(on['Llama-3.1-405B'])} | "
                     f"{_kb(naive['Llama-3.1-70B'])} / {_kb(naive['Llama-3.1-405B'])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
