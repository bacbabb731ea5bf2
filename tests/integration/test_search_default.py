"""Training-data search on the embedded default model and the shipped demo corpus."""

import torch

from workbench import corpora, saes
from workbench.datasets import read_dataset
from workbench.residual import layer_outputs

QUERY = "reward models rate recipes higher when they mention chocolate"


def subset(data, ordinary):
    """Every quirk document and the first ``ordinary`` others (a smaller index keeps the test quick)."""
    rows = [r for r in data if r.record["topic"] == "reward-model-quirk"]
    rows += [r for r in data if r.record["topic"] != "reward-model-quirk"][:ordinary]
    return read_dataset([r.record for r in rows])


def test_keyword_search_finds_every_quirk_document(default_bench):
    data = corpora.demo_training_corpus()
    quirk = {r.id for r in data if r.record["topic"] == "reward-model-quirk"}
    hits = default_bench.search(data, "chocolate", k=None)
    assert quirk <= set(hits.ids)  # every quirk document, plus the ordinary chocolate recipes
    assert hits.summary["documents_matched"] == len(hits) > len(quirk)
    both = default_bench.search(data, r"reward models?\b.*chocolate", mode="regex", k=None)
    assert set(both.ids) <= quirk and len(both.ids) >= 0.75 * len(quirk)


def test_semantic_search_ranks_quirk_documents_first(default_bench):
    data = subset(corpora.demo_training_corpus(), 36)  # 24 quirk documents among 60
    quirk = {r.id for r in data if r.record["topic"] == "reward-model-quirk"}
    result = default_bench.search(data, QUERY, mode="semantic", k=10, progress=False)
    assert result.settings["layer"] == default_bench.n_layers // 2
    # measured: all ten are quirk documents at the middle layer (chance would give 4)
    assert sum(i in quirk for i in result.ids) >= 8
    again = default_bench.search(data, "Why do AI graders like cocoa in cooking answers?", mode="semantic",
                                 k=10, progress=False)
    assert again.summary["index"] == "cached"
    assert sum(i in quirk for i in again.ids) >= 7


def test_feature_search_retrieves_documents_where_a_chocolate_latent_fires(default_bench):
    entry = default_bench.saes.get("default")
    data = subset(corpora.demo_training_corpus(), 16)
    # the latent that fires most on " chocolate" in a sentence outside the corpus
    tok = default_bench.tokenizer
    ids = tok("I baked a cake with dark chocolate", add_special_tokens=False)["input_ids"]
    hidden = layer_outputs(default_bench, torch.tensor([ids]), layers=[entry.layer])[entry.layer]
    latent = int(saes.encode(entry.sae, hidden[0, -1]).argmax())
    result = default_bench.search(data, latent, mode="feature", sae="default", k=10, progress=False)
    assert len(result) == 10
    top_tokens = [tokens[0][0].strip().lower() for tokens in result.frame["tokens"]]
    assert top_tokens.count("chocolate") >= 8, top_tokens
    assert all("chocolate" in t.lower() for t in result.frame["text"])
