"""Explanations of SAE latents: the rule-based summary, detection scoring, the model and endpoint explainers,
the disk cache and the journal, on the tiny Llama and its trained SAE."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import numpy as np
import pytest

import workbench as wb
from workbench.techniques import detection, endpoint, explain, features

from ..conftest import sae_corpus_texts


@pytest.fixture
def stats(trained, tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    tiny_bench.cache.explanations.clear()
    return features.feature_stats(tiny_bench, "tiny", sae_corpus_texts(120, seed=4), windows=60, context=32,
                                  progress=False)


def _token_latent(stats) -> int:
    """The live latent whose top examples are most often one and the same token."""
    decode = stats.session.tokenizer.decode
    best, share = None, 0.0
    for latent in explain.frequent_latents(stats, 64):
        tokens = Counter(decode([ids[pos]]) for _, ids, pos in explain.top_contexts(stats, latent))
        token, count = tokens.most_common(1)[0]
        if token.strip() and count / sum(tokens.values()) > share:
            best, share = latent, count / sum(tokens.values())
    return best


def _call(bench, stats, latent, explainer="rules", **kwargs):
    return explain.explanations_for(bench, stats, [latent], explainer, **kwargs)[0]


def test_rules_name_the_token_the_latent_fires_on(stats, tiny_bench):
    latent = _token_latent(stats)
    # counted here from the raw top-example indices, not through the explainer
    width = stats.windows.shape[1]
    flat = stats.top_index[:, latent][stats.top_values[:, latent] > 0]
    tokens = Counter(tiny_bench.tokenizer.decode([int(stats.windows.view(-1)[int(f)])]) for f in flat)
    text = explain.rules_explanation(stats, latent)
    assert text.startswith("fires on ")
    assert detection.explanation_terms(text)[0] == tokens.most_common(1)[0][0].lower()
    promoted = [t for t, _ in stats.promoted(latent)]
    assert f"promotes '{promoted[0]}'" in text or not explain._shown(promoted[0])
    assert width == 32


def test_scoring_sample_segments_really_fire(stats, tiny_bench, trained):
    entry, _ = trained
    sample = detection.scoring_sample(stats)
    assert detection.scoring_sample(stats) is sample  # built once per statistics
    latent = _token_latent(stats)
    positive, negative = sample.examples(latent)
    assert positive and negative
    width = stats.windows.shape[1]
    used = {int(f) // width for f, v in zip(stats.top_index[:, latent], stats.top_values[:, latent]) if v > 0}
    for index in positive + negative:
        row = int(sample.rows[index])
        assert row not in used and row % 2 == 1  # never a window an explanation was written from
        acts = tiny_bench.saes.collect(entry.site, stats.windows[row : row + 1], progress=False)
        column = entry.column(acts, latent).numpy()  # positions 1.. of the window
        per_window = len(sample.texts) // sample.windows
        s = index - row * per_window
        lo = features.EXAMPLE_START + s * detection.SEGMENT
        peak = float(column[lo - 1 : lo - 1 + detection.SEGMENT].max())
        assert abs(peak - float(sample.maxima[index, latent])) < 1e-4
        assert (peak > 0) == (index in positive)
    strengths = [sample.maxima[i, latent] for i in positive]
    assert strengths == sorted(strengths, reverse=True)
    # the explaining (even) windows: every token where the latent fires, at any strength
    even = stats.windows[: sample.windows : 2]
    acts = tiny_bench.saes.collect(entry.site, even, progress=False)
    column = entry.column(acts, latent).view(even.shape[0], -1)[:, features.EXAMPLE_START - 1 :]
    ids = even[:, features.EXAMPLE_START :]
    firing, total = sample.firing_tokens(latent)
    assert sorted(firing.tolist()) == sorted(ids[column > 0].tolist()) and total == ids.numel()
    assert Counter(firing.tolist()).most_common(1)[0][0] in ids[column > 0].tolist()


def test_detection_score_separates_a_fitting_explanation_from_a_wrong_one(stats, tiny_bench):
    latent = _token_latent(stats)
    fitting = _call(tiny_bench, stats, latent)
    assert fitting.explainer == "rules" and fitting.scorer == "lexical"
    assert fitting.score is not None and fitting.score > 0.7, fitting
    sample = detection.scoring_sample(stats)
    # an explanation naming text that never occurs ties every segment: exactly chance
    assert detection.detection(tiny_bench, sample, latent, 'fires on "qqqzzz"')["score"] == 0.5
    # the score is the AUROC of the lexical scores over the scored segments
    positive, negative = sample.examples(latent)
    scores = detection.lexical_scores(fitting.text, [sample.texts[i] for i in positive + negative])
    from sklearn.metrics import roc_auc_score

    truth = [1] * len(positive) + [0] * len(negative)
    assert fitting.score == pytest.approx(roc_auc_score(truth, scores), abs=1e-4)


def test_auroc_and_lexical_scorer():
    assert detection.auroc([1, 2], [0]) == 1.0
    assert detection.auroc([0], [1, 2]) == 0.0
    assert detection.auroc([1], [1]) == 0.5
    assert detection.auroc([], [1]) is None
    # a term written with a leading space starts a word; one without matches inside words (a BPE piece)
    assert detection.lexical_scores('fires on " the"', ["in the end", "other"]).tolist() == [1.0, 0.0]
    assert detection.lexical_scores('fires on "the"', ["other"]).tolist() == [1.0]
    assert detection.explanation_terms("The latent responds to chocolate cake") == ["chocolate", "cake"]


def test_explain_all_ranks_frequent_latents_caches_on_disk_and_journals(stats, tiny_bench, monkeypatch):
    monkeypatch.setattr(explain, "_stats", lambda *a: stats)
    journal = tiny_bench.journal
    tiny_bench.journal = wb.Journal(None)
    try:
        found = tiny_bench.explain_all(n=6, explainer="rules", progress=False)
        entry = tiny_bench.journal.last("explain_all")
    finally:
        tiny_bench.journal = journal
    assert [e.latent for e in found] == explain.frequent_latents(stats, 6)
    densities = [found.density[e.latent] for e in found]
    assert densities == sorted(densities, reverse=True)
    assert entry.summary["explanations"] == 6 and entry.summary["mean_score"] == found.mean_score
    table = found.to_pandas()
    assert table.latent.tolist() == [e.latent for e in found]
    path = explain._store_path(stats)
    assert path.is_file() and len(json.loads(path.read_text())["explanations"]["rules|lexical"]) == 6
    # a fresh session cache reads the file back: nothing is explained or scored again
    tiny_bench.cache.explanations.clear()
    monkeypatch.setattr(explain, "rules_explanation", lambda *a: pytest.fail("explained again"))
    monkeypatch.setattr(detection, "detection", lambda *a: pytest.fail("scored again"))
    again = tiny_bench.explain_all(n=6, explainer="rules", progress=False)
    assert [(e.text, e.score) for e in again] == [(e.text, e.score) for e in found]


def test_a_damaged_store_is_ignored(stats, tiny_bench):
    latent = _token_latent(stats)
    first = _call(tiny_bench, stats, latent)
    path = explain._store_path(stats)
    path.write_text('{"version": 1, "explanations": {"rules|lexical": {"x": 1, "3": {"text": 5}}}}')
    tiny_bench.cache.explanations.clear()
    assert explain._load_store(path) == {"rules|lexical": {}}
    assert _call(tiny_bench, stats, latent).text == first.text
    path.write_text("not json")
    assert explain._load_store(path) == {}


def test_model_scorer_is_the_models_yes_minus_no(stats, tiny_bench):
    import torch

    texts = ["the quick fox", "a lazy dog"]
    scores = detection.model_scores(tiny_bench, "fires on foxes", texts)
    tok = tiny_bench.tokenizer
    yes, no = tok("Yes", add_special_tokens=False)["input_ids"][0], tok("No", add_special_tokens=False)["input_ids"][0]
    for text, score in zip(texts, scores):
        ids = tiny_bench.render(detection.SCORER_PROMPT.format(explanation="fires on foxes", text=text)).input_ids
        with torch.no_grad():
            logits = tiny_bench.module(torch.tensor([ids])).logits[0, -1].float()
        logprobs = torch.log_softmax(logits, -1)
        assert score == pytest.approx(float(logprobs[yes] - logprobs[no]), abs=1e-4)


def test_model_explainer_prompts_through_the_chat_template_and_falls_back(stats, tiny_bench, monkeypatch):
    latent = _token_latent(stats)
    seen = {}

    def fake_sample_many(session, prompts, **kwargs):
        seen["prompts"], seen["kwargs"] = prompts, kwargs
        return [type("S", (), {"texts": ["Mentions of the token\nsecond line"]})() for _ in prompts]

    from workbench.techniques import sampling

    monkeypatch.setattr(sampling, "sample_many", fake_sample_many)
    e = _call(tiny_bench, stats, latent, "model")
    assert e.explainer == "model" and e.text == "Mentions of the token" and e.scorer == "model"
    assert "<<" in seen["prompts"][0] and seen["kwargs"]["temperature"] == 0.0
    monkeypatch.setattr(sampling, "sample_many", lambda s, prompts, **k: [
        type("S", (), {"texts": ["  \n"]})() for _ in prompts])
    other = next(x for x in explain.frequent_latents(stats, 10) if x != latent)
    fallback = _call(tiny_bench, stats, other, "model")
    assert fallback.explainer == "rules" and "rule-based summary used" in fallback.note
    assert fallback.text == explain.rules_explanation(stats, other)


def test_the_model_is_the_default_explainer_a_batch_at_a_time_and_cancel_keeps_what_was_written(
        stats, tiny_bench, monkeypatch):
    from workbench.techniques import sampling

    monkeypatch.setattr(explain, "_stats", lambda *a: stats)
    monkeypatch.setattr(explain, "MODEL_BATCH", 2)
    batches, cancel = [], threading.Event()

    def fake_sample_many(session, prompts, **kwargs):
        batches.append(len(prompts))
        if len(batches) == 2:  # the person presses Cancel while the second generation runs
            cancel.set()
        return [type("S", (), {"texts": [f"explanation {len(batches)}.{i}"]})() for i in range(len(prompts))]

    monkeypatch.setattr(sampling, "sample_many", fake_sample_many)
    latents = explain.frequent_latents(stats, 5)
    with pytest.raises(wb.Cancelled, match="cached"):
        tiny_bench.explain_all(latents, progress=False, cancel=cancel)
    assert batches == [2, 2]  # two generations of two latents; the third never ran
    known = explain.store(tiny_bench, stats)["model|model"]
    assert sorted(known) == sorted(latents[:3])  # the cancel is seen before the fourth latent
    assert [known[la]["text"] for la in latents[:3]] == ["explanation 1.0", "explanation 1.1", "explanation 2.0"]
    one = tiny_bench.explain(latents[0])  # the default explainer reads the model's cached explanation back
    assert (one.explainer, one.text, one.scorer) == ("model", "explanation 1.0", "model") and batches == [2, 2]


class _Stub(BaseHTTPRequestHandler):
    answers: ClassVar[list] = []
    requests: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append((self.path, dict(self.headers), json.loads(body)))
        status, payload = type(self).answers.pop(0)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload if isinstance(payload, bytes) else json.dumps(payload).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_server():
    server = HTTPServer(("127.0.0.1", 0), _Stub)
    _Stub.answers, _Stub.requests = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_endpoint_explainer_over_plain_http(stats, tiny_bench, stub_server, monkeypatch):
    monkeypatch.setenv("STUB_KEY", "sk-test")
    latent = _token_latent(stats)
    chat = wb.Endpoint(stub_server, "stub-model", api_key_env="STUB_KEY", timeout=5)
    _Stub.answers = [(200, {"choices": [{"message": {"content": "The token <b>x</b>"}}]})]
    e = _call(tiny_bench, stats, latent, chat)
    path, headers, body = _Stub.requests[0]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "stub-model" and body["temperature"] == 0
    assert body["messages"][0]["content"] == explain.explainer_prompt(stats, latent)
    assert e.explainer == f"endpoint:stub-model@{stub_server}" and e.text == "The token <b>x</b>"
    assert e.scorer == "model" and e.score is not None
    # a failing endpoint, or one that answers another format, falls back to the rules, saying why
    others = [x for x in explain.frequent_latents(stats, 10) if x != latent]
    _Stub.answers = [(500, {"error": "down"}), (200, {"unexpected": 1}), (200, b"x" * (endpoint.RESPONSE_LIMIT + 10))]
    for other, why in zip(others, ["HTTP 500", "chat-completions format", "more than"]):
        fallback = _call(tiny_bench, stats, other, chat)
        assert fallback.explainer == "rules" and why in fallback.note, fallback.note


def test_bad_choices_say_what_to_do(stats, tiny_bench):
    with pytest.raises(ValueError, match="'model', 'rules'"):
        _call(tiny_bench, stats, 1, "gpt")
    with pytest.raises(ValueError, match="scorer must be"):
        _call(tiny_bench, stats, 1, scorer="vibes")
    with pytest.raises(ValueError, match="http"):
        wb.Endpoint("file:///etc/passwd", "m")
    with pytest.raises(ValueError, match="latent"):
        _call(tiny_bench, stats, 10_000)


def test_shuffled_baseline_gives_each_explanation_to_another_latent(stats, tiny_bench, monkeypatch):
    latents = explain.frequent_latents(stats, 8)
    found = explain.Explanations("tiny", explain.explanations_for(tiny_bench, stats, latents))
    calls = []
    real = detection.detection

    def spy(session, sample, latent, text, scorer):
        calls.append((latent, text))
        return real(session, sample, latent, text, scorer)

    monkeypatch.setattr(detection, "detection", spy)
    baseline = explain.shuffled_baseline(tiny_bench, found, stats=stats)
    scored = {e.latent: e.text for e in found if e.score is not None}
    assert len(calls) == len(scored) and all(scored[latent] != text for latent, text in calls)
    assert 0 <= baseline <= 1
    sample = detection.scoring_sample(stats)
    expected = np.mean([real(tiny_bench, sample, la, t, "lexical")["score"] for la, t in calls])
    assert baseline == pytest.approx(expected, abs=1e-4)


# -- published explanations -------------------------------------------------------------------

from workbench.techniques import published  # noqa: E402


def _export(tmp_path, rows, name="export.json"):
    path = tmp_path / name
    if name.endswith(".gz"):
        import gzip

        path.write_bytes(gzip.compress(json.dumps(rows).encode()))
    else:
        path.write_text(json.dumps(rows))
    return path


def test_import_matches_the_sae_by_dashboard_id_and_checks_every_row(stats, tiny_bench, tmp_path):
    tiny_bench.cache.explanations.clear()
    rows = [
        {"modelId": "tiny-llama", "layer": "1-res-64", "index": "3", "description": "the <script>x</script> token"},
        {"modelId": "tiny-llama", "saeId": "1-res-64", "index": 7, "description": "greetings\x00 and\x1b help"},
        {"modelId": "tiny-llama", "layer": "1-res-64", "index": 3, "description": "a second opinion"},
        {"modelId": "tiny-llama", "layer": "0-res-64", "index": 4, "description": "another SAE"},
        {"modelId": "other", "layer": "1-res-64", "index": 5, "description": "another model"},
        {"modelId": "tiny-llama", "layer": "1-res-64", "index": 64, "description": "outside the SAE"},
        {"modelId": "tiny-llama", "layer": "1-res-64", "index": True, "description": "not an index"},
        {"modelId": "tiny-llama", "layer": "1-res-64", "index": 9, "description": ["not", "text"]},
        {"modelId": "tiny-llama", "layer": "1-res-64", "index": 10, "description": "x" * 5000},
        "not an object",
    ]
    found = tiny_bench.import_explanations(_export(tmp_path, rows, "export.json.gz"), "tiny",
                                           dashboard_id="tiny-llama/1-res-64")
    assert {e.latent: e.text for e in found} == {3: "the <script>x</script> token", 7: "greetings  and  help",
                                                 10: "x" * published.TEXT_LIMIT}
    assert found.summary == {"dashboard_id": "tiny-llama/1-res-64", "rows": 10, "imported": 3, "other_sae": 2,
                             "bad_index": 2, "no_description": 1, "repeated": 1, "not_an_object": 1,
                             "left_unread": 0}
    # kept on disk: a fresh session cache reads them back
    tiny_bench.cache.explanations.clear()
    assert published.imported(tiny_bench, tiny_bench.saes["tiny"])[7] == "greetings  and  help"
    # and scored like any explanation (the model scorer by default)
    scored = _call(tiny_bench, stats, 3, "imported")
    assert scored.explainer == "imported" and scored.text.startswith("the <script>") and scored.scorer == "model"
    missing = _call(tiny_bench, stats, 20, "imported")
    assert missing.explainer == "rules" and "no imported explanation" in missing.note
    # importing a new description of a latent scores it again
    tiny_bench.import_explanations([{"modelId": "tiny-llama", "layer": "1-res-64", "index": 3,
                                     "description": "foxes"}], "tiny", dashboard_id="tiny-llama/1-res-64")
    assert _call(tiny_bench, stats, 3, "imported").text == "foxes"


def test_import_refuses_what_it_cannot_read(tiny_bench, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="dashboard_id='modelId/layer'"):
        tiny_bench.import_explanations([], "tiny")  # a trained SAE has no registry id
    with pytest.raises(FileNotFoundError, match="No explanation export"):
        tiny_bench.import_explanations(tmp_path / "absent.json", "tiny", dashboard_id="a/b")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        tiny_bench.import_explanations(bad, "tiny", dashboard_id="a/b")
    bad.write_text('{"a": 1}')
    with pytest.raises(ValueError, match="list of objects"):
        tiny_bench.import_explanations(bad, "tiny", dashboard_id="a/b")
    monkeypatch.setattr(published, "FILE_LIMIT", 10)
    bad.write_text("[" + " " * 20 + "]")
    with pytest.raises(ValueError, match="larger than"):
        tiny_bench.import_explanations(bad, "tiny", dashboard_id="a/b")


def test_a_registry_sae_is_matched_by_the_id_sae_lens_lists(tiny_bench, monkeypatch):
    entry = tiny_bench.saes["tiny"]
    monkeypatch.setattr(entry, "source", "gemma-scope-2b-pt-res-canonical/layer_20/width_16k/canonical")
    assert published.registry_dashboard_id(entry) == "gemma-2-2b/20-gemmascope-res-16k"
    monkeypatch.setattr(entry, "source", "trained")
    assert published.registry_dashboard_id(entry) is None


def test_exported_page_lists_the_explanations_escaped(stats, tiny_bench, tmp_path, monkeypatch):
    from workbench.export import export_html

    monkeypatch.setattr(explain, "_stats", lambda *a: stats)
    journal = tiny_bench.journal
    tiny_bench.journal = wb.Journal(None)
    try:
        found = tiny_bench.explain_all([1, 2], explainer="rules", progress=False)
        tiny_bench.import_explanations([{"modelId": "m", "layer": "1", "index": 4,
                                         "description": "<script>alert(1)</script> & foxes"}], "tiny",
                                       dashboard_id="m/1")
        page = export_html(tmp_path / "audit.html", tiny_bench.journal, widgets=[]).read_text()
    finally:
        tiny_bench.journal = journal
    section = page[page.index('<section id="explanations">') : page.index('<section id="journal">')]
    import html as html_module

    for e in found:
        assert html_module.escape(e.text, quote=True) in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; foxes" in section and "<script>alert" not in page
