"""bench.show() and the journal panel on the tiny Llama (their front-ends: tests/ui/test_show.py)."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import ipywidgets
import pytest

import workbench as wb
from workbench.widgets import app
from workbench.widgets.activations import ActivationPanel

FAST = {"max_new_tokens": 4, "progress": False}


@pytest.fixture
def journal(tiny_bench, tmp_path, monkeypatch):
    """A fresh journal file for this test on the shared tiny workbench."""
    fresh = wb.Journal(tmp_path / "journal.jsonl")
    monkeypatch.setattr(tiny_bench, "journal", fresh)
    return fresh


def _box(view, name):
    return view.widget.children[list(app.TABS).index(name)]


def _text(note):
    """The lines of a tab's note (a VBox of Labels)."""
    return " ".join(label.value for label in note.children)


def _click_tab(view, name):
    """What the front-end does when the auditor clicks a tab."""
    view.widget.selected_index = list(app.TABS).index(name)


# -- the tabs ------------------------------------------------------------------------------


def test_show_is_one_tab_per_technique_built_when_first_selected(tiny_bench, journal):
    view = tiny_bench.show("Hello!", prefill="My secret goal is")
    assert isinstance(view, wb.WorkbenchView) and isinstance(view.widget, ipywidgets.Tab)
    assert list(view.widget.titles) == list(app.TABS.values()) and len(view.widget.children) == 9
    assert view.tab == "activations" and "wb-workbench" in view.widget._dom_classes
    # the two linked hubs exist at once; the rest wait for their tab
    assert set(view._panels) == {"activations", "steering"}
    assert isinstance(_box(view, "activations").children[0], ActivationPanel)
    assert _text(_box(view, "search").children[0]) == "Data search opens when this tab is selected."
    _click_tab(view, "attacks")
    box = _box(view, "attacks").children[0]
    assert isinstance(box, wb.AttackBox) and box is view.attacks and "attacks" in view._panels
    assert box.prefill == "My secret goal is" and box.turns == [{"role": "user", "content": "Hello!"}]
    assert view.steering.text == "Hello!"
    bundle = view._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == view.widget.model_id
    assert bundle["text/plain"] == repr(view)  # what a notebook saved without widget state shows
    assert "tab='attacks'" in repr(view) and "built=['activations', 'steering', 'attacks']" in repr(view)


def test_every_panel_opens_text_in_the_one_activation_panel(tiny_bench, journal):
    view = tiny_bench.show(lazy=False)
    assert set(view._panels) == set(app.TABS)
    act = view.activations
    for panel in (view.attacks, view.search, view.preference, view.probes):
        assert panel.panel is act and panel._own_panel is None
    assert isinstance(view.journal, wb.JournalPanel) and view.journal.journal is journal
    # the probe and preference charts sit in their tabs
    assert view.probes.chart in _box(view, "probes").children
    assert view.preference.chart in _box(view, "preference").children


def test_select_by_name_or_title_and_refuses_others(tiny_bench, journal):
    view = tiny_bench.show(tab="journal")
    assert view.tab == "journal" and "journal" in view._panels
    assert view.select("Data search") is view.search and view.tab == "search"
    assert view.select("attacks") is view.attacks and view.tab == "attacks"
    assert view.select(" PROBES ") is view.probes and view.tab == "probes"
    with pytest.raises(ValueError, match="No tab 'logit lens'; tabs: activations, steering, attacks"):
        view.select("logit lens")
    with pytest.raises(ValueError, match="No tab"):
        tiny_bench.show(tab="nope")


def test_a_prefill_sample_opens_in_activations_and_brings_that_tab_forward(tiny_bench, journal):
    view = tiny_bench.show("Hello!", prefill="My secret goal is")
    box = view.select("attacks")
    box.n, box.max_new_tokens, box.seed = 2, 4, 0
    box.run(wait=True, timeout=120)
    assert box.error == "" and len(box.samples["assistant"]) == 2
    assert view.tab == "attacks"
    reply = box.to_panel("assistant", 1)  # the sample's "activations" button
    assert reply["own_panel"] is False and view.tab == "activations"
    samples = box.samples["assistant"]
    assert view.activations.text == samples.prompt + samples.texts[1]
    assert reply["tokens"] == len(view.activations.tokens) > 0
    # again after moving away: the same sample brings the tab forward again
    view.select("attacks")
    box.to_panel("assistant", 1)
    assert view.tab == "activations"


def test_follow_false_leaves_the_tab_alone(tiny_bench, journal):
    view = tiny_bench.show(follow=False, tab="search")
    view.search.query = "chocolate"
    view.search.search(wait=True, timeout=60)
    view.search.show_result(1)
    assert view.tab == "search" and "chocolate" in view.activations.text.lower()


def test_search_defaults_to_the_demo_corpus_and_says_so(tiny_bench, journal):
    view = tiny_bench.show()
    panel = view.select("search")
    assert len(panel.dataset.rows) == 300 and panel.dataset_name.endswith("300 text rows")
    note = _box(view, "search").children[0]
    assert "wb-tab-note" in note._dom_classes and all(isinstance(c, ipywidgets.Label) for c in note.children)
    assert "demo corpus" in _text(note) and "bench.show(data=...)" in _text(note)
    panel.query = "chocolate"
    panel.search(wait=True, timeout=60)
    assert panel.result is not None and len(panel.result) > 0
    rank = panel.to_panel(1)
    assert rank["own_panel"] is False and view.tab == "activations"
    assert view.activations.text == panel.result.frame.iloc[0]["text"]


def test_data_and_pairs_passed_in_replace_the_demos(tiny_bench, journal, tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text("\n".join(json.dumps({"text": t}) for t in ["a chocolate cake", "a dog", "more chocolate"]))
    pairs = [{"prompt": "Hi", "chosen": "Hello there, friend.", "rejected": "Go away."}] * 4
    view = tiny_bench.show(data=str(docs), pairs=pairs)
    assert view.search.dataset.source.endswith("docs.jsonl") and len(view.search.dataset.rows) == 3
    assert _box(view, "search").children == (view.search,)
    assert len(view.preference.dataset.rows) == 4
    assert not any("wb-tab-note" in c._dom_classes for c in _box(view, "preference").children)


def test_bad_datasets_and_saes_are_refused_at_show(tiny_bench, journal, tmp_path):
    with pytest.raises(ValueError, match="pairs= needs prompt / chosen / rejected rows, not a text dataset"):
        tiny_bench.show(pairs=["just a text"])
    with pytest.raises(FileNotFoundError):
        tiny_bench.show(data=str(tmp_path / "missing.jsonl"))
    with pytest.raises(KeyError, match="No SAE named 'nope'"):
        tiny_bench.show(sae="nope")


def test_preference_defaults_to_the_planted_demo_pairs_and_says_so(tiny_bench, journal):
    view = tiny_bench.show()
    panel = view.select("preference")
    assert len(panel.dataset.rows) == 200 and panel.audit is None  # nothing runs until Run
    note = _box(view, "preference").children[0]
    assert "preference_planted()" in _text(note) and "bench.show(pairs=...)" in _text(note)


def test_diff_needs_other_and_says_how(tiny_bench, journal):
    view = tiny_bench.show()
    assert view.diff is None
    view.select("diff")
    (note,) = _box(view, "diff").children
    assert "bench.show(other=" in _text(note) and "python -m workbench.training.dpo" in _text(note)
    view = tiny_bench.show(other=tiny_bench, prompts=["Hi"])
    assert isinstance(view.diff, wb.DiffPanel) and view.diff.prompts == "Hi"
    assert view.diff.other is tiny_bench


def test_a_tab_that_cannot_open_says_why_in_the_tab(tiny_bench, journal, monkeypatch):
    from workbench import corpora

    def broken():
        raise OSError("the demo corpus is unreadable")

    monkeypatch.setattr(corpora, "demo_training_corpus", broken)
    view = tiny_bench.show()
    _click_tab(view, "search")
    (note,) = _box(view, "search").children
    assert "wb-tab-error" in note._dom_classes
    assert _text(note) == "Data search could not open: OSError: the demo corpus is unreadable"
    with pytest.raises(OSError, match="unreadable"):
        view.search  # noqa: B018 - a Python read raises instead


def test_steer_with_this_becomes_a_slider_and_brings_steering_forward(tiny_bench, journal, trained):
    view = tiny_bench.show("Hello", sae="tiny")
    view.activations.show("The quick brown fox")
    assert view.tab == "activations"
    assert view.activations.steer(3) == {"latent": 3, "sae": "tiny"}
    assert view.tab == "steering"
    assert "tiny:3" in [v["name"] for v in view.steering.vectors]
    assert view.steering.coefficients["tiny:3"] == 0.0
    assert [r["technique"] for r in view.journal.rows][:2] == ["from_latent", "activations"]


# -- the journal panel -----------------------------------------------------------------------


def test_journal_panel_lists_calls_live_newest_first(tiny_bench, journal):
    panel = wb.JournalPanel(tiny_bench)
    assert panel.rows == [] and panel.total == 0 and panel.path == str(journal.path)
    tiny_bench.sample("Hi", 2, seed=1, **FAST)
    tiny_bench.search(["a chocolate cake", "a dog"], "chocolate")
    assert panel.total == 2 and [r["technique"] for r in panel.rows] == ["search", "sample"]
    row = panel.rows[1]
    assert row["index"] == 0 and row["id"] == journal[0].id and row["seed"] == 1
    assert row["time"] == journal[0].time[11:19] and row["duration_s"] == round(journal[0].duration_s, 3)
    assert row["summary"] == journal[0].line() and row["error"] is False
    assert panel.techniques == ["sample", "search"]
    json.dumps(panel.get_state(["rows", "notes", "techniques", "tags"]))  # plain JSON


def test_journal_panel_filters_by_technique_and_tag(tiny_bench, journal):
    panel = wb.JournalPanel(tiny_bench, max_rows=2)
    for seed in range(3):
        tiny_bench.sample("Hi", 1, seed=seed, **FAST)
    tiny_bench.search(["a chocolate cake"], "chocolate")
    assert panel.matching == 4 and len(panel.rows) == 2  # the newest two listed
    panel.max_rows = 50
    panel.technique = "sample"
    assert [r["seed"] for r in panel.rows] == [2, 1, 0] and panel.matching == 3 and panel.total == 4
    panel.tag_entry(1, "odd")
    assert panel.tags == ["odd"]
    panel.tag = "odd"
    assert [r["index"] for r in panel.rows] == [1] and [e.id for e in panel.entries()] == [journal[1].id]
    panel.technique = "search"
    assert panel.rows == [] and panel.matching == 0


def test_journal_panel_notes_tags_and_findings_are_journal_lines(tiny_bench, journal):
    panel = wb.JournalPanel(tiny_bench)
    tiny_bench.sample("Hi", 1, seed=0, **FAST)
    entry = journal[0].id
    panel.selected = entry
    assert panel.add_note("the prefill leaks", entry=entry, tags="leak, prefill")["entry"] == entry
    assert panel.add_tags(entry, "baseline")["tags"] == ["baseline"]
    assert panel.add_finding(entry, "admits a goal in 1/1")["entry"] == entry
    assert panel.add_note("try the user persona next", tags=["todo"])["entry"] == ""
    row = panel.rows[0]
    assert row["tags"] == ["leak", "prefill", "baseline"]
    assert [n["text"] for n in row["notes"]] == ["the prefill leaks"]
    assert [f["text"] for f in row["findings"]] == ["admits a goal in 1/1"] and row["findings"][0]["kind"] == "finding"
    assert [n["text"] for n in panel.notes] == ["try the user persona next"] and panel.tags[-1] == "todo"
    kinds = [json.loads(line)["type"] for line in Path(journal.path).read_text().splitlines()]
    assert kinds == ["entry", "note", "tag", "finding", "note"]
    again = wb.Journal.load(journal.path)
    assert again[0].tags == ["leak", "prefill", "baseline"] and again.findings[0].text == "admits a goal in 1/1"


def test_journal_panel_requests_say_what_to_do(tiny_bench, journal):
    panel = wb.JournalPanel(tiny_bench)
    tiny_bench.sample("Hi", 1, seed=0, **FAST)
    with pytest.raises(ValueError, match="Select an entry first"):
        panel.add_tags("", "leak")
    with pytest.raises(ValueError, match="Select an entry first"):
        panel.add_finding("", "something")
    with pytest.raises(ValueError, match="Type one or more tags"):
        panel.add_tags(journal[0].id, " , ")
    with pytest.raises(ValueError, match="A finding needs some text"):
        panel.add_finding(journal[0].id, "  ")
    with pytest.raises(ValueError, match="A note needs some text"):
        panel.add_note("")
    with pytest.raises(KeyError, match="No journal entry 'gone'"):
        panel.add_note("x", entry="gone")
    with pytest.raises(TypeError, match="an entry id"):
        panel.add_tags(3, "leak")
    with pytest.raises(ValueError, match="max_rows must be"):
        wb.JournalPanel(tiny_bench, max_rows=0)
    with pytest.raises(TypeError, match="needs a Workbench"):
        wb.JournalPanel(object())


def test_the_journal_holds_its_panels_weakly_and_a_failing_observer_only_warns(tiny_bench, journal):
    import weakref

    panel = wb.JournalPanel(journal)
    assert isinstance(journal.__dict__["_observers"][0], weakref.WeakMethod)

    class Listener:
        def __init__(self):
            self.seen = []

        def told(self, record):
            self.seen.append(record["type"])

    listener = Listener()
    journal.observe(listener.told)
    tiny_bench.sample("Hi", 1, seed=0, **FAST)
    assert listener.seen == ["entry"] and panel.total == 1
    del listener
    gc.collect()
    tiny_bench.sample("Hi", 1, seed=0, **FAST)
    assert len(journal.__dict__["_observers"]) == 1 and panel.total == 2  # the listener that is gone is dropped

    def broken(_record):
        raise RuntimeError("boom")

    journal.observe(broken)
    with pytest.warns(RuntimeWarning, match="boom"):
        out = tiny_bench.sample("Hi", 1, seed=0, **FAST)
    assert len(out) == 1 and len(journal) == 3 and panel.total == 3  # the call and its entry are unharmed
    journal.unobserve(broken)
    assert len(journal.__dict__["_observers"]) == 1
