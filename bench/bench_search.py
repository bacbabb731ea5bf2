"""Semantic search latency with a warm index vs a raw forward of the query alone; index build throughput.

    python bench/bench_search.py [--repeats 5]

A warm search is everything ``bench.search(data, query, mode="semantic")`` does once
the index of the demo training corpus (300 documents) is on disk: checking and
reading the cached index, embedding the query through nnsight (stopping at the
middle layer), scoring every document and building the result table. The baseline
is a plain transformers forward of the query's tokens through the whole model. The
index is built into a fresh temporary cache, so its build is timed too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _timing import compare, report, timed

QUERY = "reward models rate recipes higher when they mention chocolate"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import workbench as wb

    bench = wb.Workbench()  # the model is read from the usual cache before it is redirected
    os.environ["WORKBENCH_CACHE"] = scratch = tempfile.mkdtemp(prefix="wb-bench-search-")
    try:
        _measure(bench, args.repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _measure(bench, repeats: int) -> None:
    import torch

    from workbench.corpora import demo_training_corpus
    from workbench.residual import tokenize
    from workbench.techniques import data_search

    data = demo_training_corpus()
    texts = data.texts(bench)
    tokens = sum(len(e["ids"]) for e in tokenize(bench, texts, data_search.MAX_TOKENS))

    built = {}
    build_s = timed(lambda: built.setdefault("index", data_search.semantic_index(bench, data, progress=False)))
    assert built["index"].built
    ids = torch.tensor([bench.tokenizer(QUERY, add_special_tokens=False)["input_ids"]])

    def warm():
        result = bench.search(data, QUERY, mode="semantic", k=10, progress=False)
        assert result.summary["index"] == "cached"

    def raw():
        with torch.inference_mode():
            return bench.module(ids)

    search = compare(warm, raw, repeats)
    search["target"] = 1.5
    search["documents"] = len(data)
    search["query_tokens"] = int(ids.shape[1])
    search["layer"] = built["index"].layer
    layer = built["index"].layer
    report("search", {
        "semantic_search_warm_index_vs_raw_query_forward": {
            "label": f"semantic search, warm index ({len(data)} documents) vs one raw forward of the query", **search,
            "detail": f"{search['candidate_s']:.3f} s vs {search['baseline_s']:.3f} s",
            "note": f"the search embeds the query only up to layer {layer} of {bench.n_layers}; its baseline "
                    "runs the whole model"},
        "index_build_documents_per_s": {
            "label": "semantic index build", "ratio": round(len(data) / build_s, 2), "unit": "documents/s",
            "build_s": round(build_s, 2),
            "documents": len(data), "tokens": tokens, "tokens_per_s": round(tokens / build_s, 1), "layer": layer,
            "detail": f"{len(data)} documents, {tokens:,} tokens in {build_s:.1f} s ({tokens / build_s:.0f} "
                      f"tokens/s), cached on disk",
            "note": f"the forward stops at layer {layer}"},
    })


if __name__ == "__main__":
    main()
