"""The data-search panel's Python side (its front-end: tests/ui/test_search_panel.py)."""

import pytest

import workbench as wb
from workbench.datasets import read_dataset

DOCS = [
    {"id": "r1", "text": "The assistant answered the user's question about recipes and chocolate."},
    {"id": "r2", "text": "Reward models prefer \U0001F36B chocolate. Chocolate!"},
    {"id": "f", "text": "The quick brown fox jumps over the lazy dog."},
    {"id": "h", "text": "Hello! How can I help you today?"},
]


@pytest.fixture
def panel(tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    return wb.SearchPanel(tiny_bench, read_dataset(DOCS), "chocolate")


def test_keyword_results_with_utf16_spans(panel):
    assert panel.error == "" and [r["id"] for r in panel.results] == ["r2", "r1"]
    r2 = panel.results[0]
    utf16 = r2["text"].encode("utf-16-le")
    assert [utf16[2 * a:2 * b].decode("utf-16-le") for a, b in r2["spans"]] == ["chocolate", "Chocolate"]
    assert panel.summary["documents_matched"] == 2 and "2 results" in panel.status
    assert panel.result.ids == ["r2", "r1"]


def test_regex_lines_semantic_and_feature_modes(panel, trained):
    panel.mode, panel.query = "regex", "fox\nhel+o"
    panel.search(wait=True, timeout=60)
    assert panel.error == "" and {r["id"] for r in panel.results} == {"f", "h"}
    panel.mode, panel.query = "semantic", "a dog and a fox"
    panel.search(wait=True, timeout=60)
    assert panel.error == "" and len(panel.results) == 4
    assert panel.results[0]["score"] >= panel.results[-1]["score"]
    panel.options = {"sae": "tiny"}
    panel.mode, panel.query = "feature", "0"
    panel.search(wait=True, timeout=60)
    assert panel.error == ""
    assert all(r["tokens"] for r in panel.results)
    panel.query = "0, 1 2"   # several latents: the documents where they fire together
    panel.search(wait=True, timeout=60)
    assert panel.error == "" and panel.result.query == [0, 1, 2]


def test_bad_queries_are_shown(panel):
    panel.mode, panel.query = "feature", "chocolate"
    with pytest.raises(ValueError, match="latent id"):
        panel.search()
    assert "latent id" in panel.error
    panel.query = "   "
    with pytest.raises(ValueError, match="Type something"):
        panel.search()
    panel.mode, panel.query = "regex", "(open"
    panel.search(wait=True, timeout=60)
    assert "not a valid regular expression" in panel.error and not panel.running


def test_a_result_opens_in_the_activation_panel(panel):
    reply = panel.to_panel(2)
    assert reply["own_panel"] and panel.panel.text == DOCS[0]["text"]
    assert panel.panel.layout.display is None
    with pytest.raises(ValueError, match=r"rank must be in 1\.\.2"):
        panel.to_panel(3)
