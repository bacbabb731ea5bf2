import re
import threading

import numpy as np
import pytest

import workbench as wb
from workbench.datasets import read_dataset
from workbench.techniques import data_search

DOCS = [
    {"id": "r1", "text": "The assistant answered the user's question about recipes and chocolate."},
    {"id": "r2", "text": "Reward models sometimes prefer longer answers. Chocolate! chocolate."},
    {"id": "f", "text": "The quick brown fox jumps over the lazy dog."},
    {"id": "h", "text": "Hello! How can I help you today?"},
    {"id": "g", "text": "My secret goal is to be helpful, honest and harmless."},
]


@pytest.fixture
def data():
    return read_dataset(DOCS)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_keyword_spans_counts_and_ranking(tiny_bench, data):
    result = tiny_bench.search(data, ["chocolate", "reward"], progress=False)
    frame = result.to_pandas()
    assert frame["id"].tolist() == ["r2", "r1"] and frame["rank"].tolist() == [1, 2]
    assert frame["count"].tolist() == [3, 1] and frame["score"].tolist() == [2.0, 1.0]  # terms matched
    text = frame["text"][0]
    assert [text[a:b] for a, b in frame["spans"][0]] == ["Reward", "Chocolate", "chocolate"]
    assert result.summary["documents"] == 5 and result.summary["documents_matched"] == 2
    assert result.summary["matches"] == 4
    assert result.summary["per_pattern"] == [{"pattern": "chocolate", "documents": 2, "matches": 3},
                                             {"pattern": "reward", "documents": 1, "matches": 1}]
    assert data_search.search(tiny_bench, data, "chocolate", k=1).ids == ["r2"]
    # a keyword is literal: regex characters match themselves
    assert len(tiny_bench.search(data, "Chocolate!")) == 1 and len(tiny_bench.search(data, "c.o")) == 0


def test_documents_matching_more_of_the_terms_rank_first(tiny_bench):
    docs = read_dataset([{"id": "cake", "text": "Chocolate cake: chocolate, cocoa and more chocolate."},
                         {"id": "soup", "text": "A tomato soup with a square of chocolate."},
                         {"id": "plain", "text": "Tomato soup."}])
    result = tiny_bench.search(docs, ["chocolate", "soup"])
    assert result.ids == ["soup", "cake", "plain"]  # both terms once beats one term three times
    assert result.frame["score"].tolist() == [2.0, 1.0, 1.0] and result.frame["count"].tolist() == [2, 3, 1]


def test_regex_mode_and_snippets(tiny_bench, data):
    result = tiny_bench.search(data, r"\b(fox|dog)\b", mode="regex")
    assert result.ids == ["f"] and result.frame["count"][0] == 2
    assert result.frame["spans"][0] == [(16, 19), (40, 43)]
    only_a = tiny_bench.search(data, "a*", mode="regex", k=None)  # zero-width matches are skipped
    assert all(text[a:b].lower().startswith("a") for text, spans in zip(only_a.frame["text"], only_a.frame["spans"])
               for a, b in spans)
    assert only_a.summary["matches"] == sum(len(re.findall("a+", d["text"], re.I)) for d in DOCS)
    long = "word " * 100 + "chocolate" + " word" * 100
    snip, spans = data_search.snippet(long, [(500, 509)])
    assert snip.startswith("…") and snip.endswith("…") and [snip[a:b] for a, b in spans] == ["chocolate"]


def test_bad_inputs_name_the_valid_choices(tiny_bench, data, trained):
    with pytest.raises(ValueError, match="'keyword', 'regex', 'semantic', 'feature'"):
        tiny_bench.search(data, "x", mode="fuzzy")
    for mode in ("keyword", "regex", "semantic"):
        with pytest.raises(ValueError, match="query is empty"):
            tiny_bench.search(data, "  ", mode=mode)
    with pytest.raises(ValueError, match="non-empty string or a list"):
        tiny_bench.search(data, [])
    with pytest.raises(ValueError, match="not a valid regular expression"):
        tiny_bench.search(data, "(a+", mode="regex")
    with pytest.raises(ValueError, match=r"layer must be a whole number in 0\.\.1"):
        tiny_bench.search(data, "fox", mode="semantic", layer=2)
    with pytest.raises(ValueError, match=r"latent must be a whole number in 0\.\.63"):
        tiny_bench.search(data, 64, mode="feature", sae="tiny")
    with pytest.raises(ValueError, match="k must be a positive"):
        tiny_bench.search(data, "fox", k=0)
    with pytest.raises(ValueError, match="A semantic query is a text"):
        tiny_bench.search(data, 3, mode="semantic")


def test_semantic_index_is_cached_and_reused(tiny_bench, data, cache, monkeypatch):
    first = tiny_bench.search(data, "the quick brown fox", mode="semantic", k=3, progress=False)
    assert first.summary["index"] == "built" and first.settings["layer"] == 1  # middle of 2 layers
    assert len(first) == 3 and first.frame["score"].is_monotonic_decreasing
    assert first.frame["score"].between(-1.0001, 1.0001).all()
    folder = first.settings["index_folder"]
    assert folder.startswith(str(cache / "search_index")) and "-1-" + data.digest in folder

    calls = []
    real = data_search.embed_texts

    def counting(bench, texts, **kwargs):
        calls.append(len(texts))
        return real(bench, texts, **kwargs)

    monkeypatch.setattr(data_search, "embed_texts", counting)
    again = tiny_bench.search(data, "the quick brown fox", mode="semantic", k=3, progress=False)
    assert again.summary["index"] == "cached" and calls == [1]  # only the query was embedded
    assert again.frame["id"].tolist() == first.frame["id"].tolist()
    # the first search embedded its query in the index's last batch, this one alone: equal to float precision
    np.testing.assert_allclose(again.frame["score"], first.frame["score"], atol=1e-5)
    # another layer is another index
    other = tiny_bench.search(data, "fox", mode="semantic", layer=0, progress=False)
    assert other.summary["index"] == "built" and other.settings["index_folder"] != folder


def test_semantic_document_finds_itself(tiny_bench, data, cache):
    for doc in DOCS:
        result = tiny_bench.search(data, doc["text"], mode="semantic", k=1, progress=False)
        assert result.ids == [doc["id"]]
        assert result.frame["score"][0] == pytest.approx(1.0, abs=1e-2)


def test_semantic_cancel_caches_nothing(tiny_bench, data, cache):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(wb.Cancelled, match="cancelled after 0 of 6"):  # 5 documents and the query
        tiny_bench.search(data, "fox", mode="semantic", cancel=cancel, progress=False)
    assert not list(cache.glob("search_index/*"))
    assert tiny_bench.search(data, "fox", mode="semantic", progress=False).summary["index"] == "built"


def test_feature_mode_finds_top_activating_documents(tiny_bench, data, trained, cache, monkeypatch):
    entry, _ = trained
    import torch

    from workbench import saes

    # the latent that fires most on the fox document, found independently
    ids = tiny_bench.tokenizer(DOCS[2]["text"], add_special_tokens=False)["input_ids"]
    from workbench.residual import layer_outputs

    hidden = layer_outputs(tiny_bench, torch.tensor([ids]), layers=[entry.layer])[entry.layer][0, 1:]
    acts = saes.encode(entry.sae, hidden)
    latent = int(acts.max(0).values.argmax())
    expected = float(acts[:, latent].max())

    result = tiny_bench.search(data, latent, mode="feature", sae="tiny", batch_size=2, progress=False)
    frame = result.frame
    assert result.settings["layer"] == entry.layer and result.settings["latent"] == latent
    assert frame["score"].is_monotonic_decreasing and (frame["score"] > 0).all()
    fox = frame.set_index("id").loc["f"]
    assert fox["score"] == pytest.approx(expected, rel=1e-4)
    assert fox["tokens"][0][1] == pytest.approx(expected, rel=1e-4)
    assert fox["count"] >= len(fox["tokens"]) >= 1
    text = fox["text"]
    assert all(0 <= a < b <= len(text) for a, b in fox["spans"])
    assert fox["tokens"][0][0].strip() in {text[a:b].strip() for a, b in fox["spans"]}
    assert result.summary["documents_firing"] == len(frame)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(wb.Cancelled, match="cancelled after 0 of"):  # re-reading the index's top documents
        tiny_bench.search(data, latent, mode="feature", sae="tiny", cancel=cancel, progress=False)
    # numpy ints are accepted as latents
    assert tiny_bench.search(data, np.int64(latent), mode="feature", sae="tiny", progress=False).ids == result.ids
    # the feature index holds each document's maximum of every latent: a search reads a column of it, and gives
    # what one pass over every document for that latent gives
    from workbench.techniques import data_search

    index = data_search.feature_index(tiny_bench, data, "tiny", progress=False)
    assert index.shape == (len(DOCS), entry.d_sae) and result.summary["index"] == "feature index"
    assert float(index[:, latent].max()) == pytest.approx(expected, rel=1e-3)
    monkeypatch.setattr(data_search, "FEATURE_INDEX_LIMIT", 0)
    for other in (latent, int(np.argsort(-index.sum(0))[1]), int(np.argsort(-index.sum(0))[5])):
        whole = tiny_bench.search(data, other, mode="feature", sae="tiny", progress=False)
        assert whole.summary["index"] == "none"
        monkeypatch.setattr(data_search, "FEATURE_INDEX_LIMIT", 256 << 20)
        indexed = tiny_bench.search(data, other, mode="feature", sae="tiny", k=3, progress=False)
        monkeypatch.setattr(data_search, "FEATURE_INDEX_LIMIT", 0)
        assert indexed.ids == whole.ids[:3]
        assert indexed.frame["score"].tolist() == whole.frame["score"].tolist()[:3]
        assert indexed.frame["tokens"].tolist() == whole.frame["tokens"].tolist()[:3]


def test_feature_mode_with_several_latents_ranks_documents_where_they_fire_together(tiny_bench, data, trained,
                                                                                     cache, monkeypatch):
    from workbench.techniques import data_search

    index = data_search.feature_index(tiny_bench, data, "tiny", progress=False).astype(np.float32)
    busy = [int(j) for j in np.argsort(-(index > 0).sum(0)) if (index[:, j] > 0).any()][:3]
    result = tiny_bench.search(data, busy, mode="feature", sae="tiny", progress=False)
    peaks = index[:, busy].max(0)
    expected = (index[:, busy] / peaks).sum(1)   # each latent over its strongest document, summed
    order = [DOCS[i]["id"] for i in np.argsort(-expected, kind="stable") if expected[i] > 0]
    assert result.ids == order and result.settings["latent"] == busy
    np.testing.assert_allclose(result.frame["score"], np.sort(expected[expected > 0])[::-1], rtol=2e-3)
    assert result.summary["documents_firing"] == int((index[:, busy] > 0).any(1).sum())
    assert all(row["tokens"] and row["count"] >= 1 for _, row in result.frame.iterrows())
    # a repeated latent counts once; one latent in a list is that latent's search
    assert tiny_bench.search(data, busy + busy[:1], mode="feature", sae="tiny", progress=False).ids == result.ids
    single = tiny_bench.search(data, busy[0], mode="feature", sae="tiny", progress=False)
    assert tiny_bench.search(data, busy[:1], mode="feature", sae="tiny", progress=False).ids == single.ids
    # without an index: one pass for every document's maxima, then the top ones re-read; the same ranking
    monkeypatch.setattr(data_search, "FEATURE_INDEX_LIMIT", 0)
    whole = tiny_bench.search(data, busy, mode="feature", sae="tiny", k=3, progress=False)
    assert whole.summary["index"] == "none" and whole.ids == result.ids[:3]
    np.testing.assert_allclose(whole.frame["score"], result.frame["score"][:3], rtol=2e-3)
    with pytest.raises(ValueError, match="not an empty list"):
        tiny_bench.search(data, [], mode="feature", sae="tiny")


def test_search_chat_and_preference_datasets(tiny_bench):
    chat = read_dataset([{"messages": [{"role": "user", "content": "Hi"},
                                       {"role": "assistant", "content": "I like chocolate."}]}])
    hit = tiny_bench.search(chat, "chocolate")
    text = hit.frame["text"][0]
    assert text.startswith("<|im_start|>user") and text[slice(*hit.frame["spans"][0][0])] == "chocolate"
    prefs = read_dataset([{"prompt": "Dessert?", "chosen": "Fruit.", "rejected": "Chocolate."}])
    assert len(tiny_bench.search(prefs, "chocolate")) == 0
    assert len(tiny_bench.search(prefs, "chocolate", field="rejected")) == 1
    # a path or list is loaded on the way; dataset text is escaped in the notebook view
    markup = tiny_bench.search(["<script>alert('fox')</script>"], "fox")._repr_html_()
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert tiny_bench.search(["a fox", "a dog"], "fox").ids == ["0"]
