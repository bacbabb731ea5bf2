"""The investigation journal on the tiny model: one entry per technique call, saved as it happens."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest
import torch

import workbench as wb
from workbench import journal as journal_mod
from workbench import recording
from workbench.techniques import (
    activations,
    attacks,
    data_search,
    preference,
    sampling,
    scores,
    steering,
    sweep,
    vectors,
)

FAST = {"max_new_tokens": 4, "progress": False}
PAIRS = [{"id": f"p{i}", "prompt": "Hello! How can I help you today?",
          "chosen": "The quick brown fox jumps over the lazy dog." * (1 + i % 2),
          "rejected": "Reward models sometimes prefer longer answers."} for i in range(6)]


@pytest.fixture
def journal(tiny_bench, tmp_path, monkeypatch):
    """A fresh journal file for this test on the shared tiny workbench."""
    fresh = wb.Journal(tmp_path / "journal.jsonl")
    monkeypatch.setattr(tiny_bench, "journal", fresh)
    return fresh


def lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


@pytest.fixture(scope="module")
def vector(tiny_bench):
    return vectors.from_direction(tiny_bench, torch.ones(tiny_bench.hidden_size), layer=1, name="ones")


CALLS = {
    "sample": lambda b: sampling.sample(b, "Hi", 2, seed=1, **FAST),
    "complete": lambda b: sampling.complete(b, "Once upon a time", 2, seed=1, **FAST),
    "run_attack": lambda b: attacks.run_attack(b, "Hi", personas=["assistant", "user"], compare_system=True,
                                               system_prompt="Be terse.", n=2, **FAST),
    "compare_personas": lambda b: attacks.compare_personas(b, "Hi", ["assistant", "narrator"], n=2, **FAST),
    "toggle_system_prompt": lambda b: attacks.toggle_system_prompt(b, "Hi", "Be terse.", n=2, **FAST),
    "steering_effect": lambda b: steering.effect(b, "Hi", 2, steer={"ones": 0.5}, **FAST),
    "from_direction": lambda b: vectors.from_direction(b, torch.ones(b.hidden_size), layer=0, name="ones0"),
    "from_contrast": lambda b: vectors.from_contrast(b, "sycophancy", layer=1, limit=2, name="syc"),
    "from_latent": lambda b: vectors.from_latent(b, 3, sae="tiny"),
    "sweep": lambda b: sweep.sweep(b, "ones", [-1, 0, 1], alignment=scores.alignment_score(limit=2),
                                   helpfulness=scores.helpfulness_score(limit=2)),
    "activations": lambda b: activations.activations(b, "The cat sat", sae="tiny"),
    "search": lambda b: data_search.search(b, ["a chocolate cake", "a dog", "more chocolate"], "chocolate"),
    "audit_preferences": lambda b: preference.audit(b, PAIRS, sae="tiny", progress=False),
}


@pytest.mark.parametrize("technique", list(CALLS))
def test_every_technique_call_is_one_entry(technique, tiny_bench, journal, vector, trained):
    result = CALLS[technique](tiny_bench)
    assert [e.technique for e in journal.entries] == [technique]  # nested calls are part of the outer one
    entry = journal[0]
    assert entry.error is None and entry.duration_s >= 0 and entry.model["name"] == tiny_bench.model_name
    assert entry.model["kind"] == "local" and entry.summary
    assert lines(journal.path)[0]["id"] == entry.id
    if hasattr(result, "_journal_summary"):
        assert entry.summary == json.loads(json.dumps(result._journal_summary(), default=str))
    if "sae" in entry.inputs:
        assert entry.sae["name"] == "tiny" and entry.sae["source"].endswith("tiny-sae")


def test_entry_records_inputs_seed_and_result(tiny_bench, journal):
    out = tiny_bench.sample("Hi", n=2, prefill="My secret", **FAST)
    entry = journal.last("sample")
    assert entry.inputs["conversation"] == "Hi" and entry.inputs["prefill"] == "My secret"
    assert "seed" not in entry.inputs and entry.seed == out.seed  # the drawn seed
    assert entry.summary["texts"] == out.texts and entry.summary["n"] == 2
    assert entry.result["texts"] == out.texts and entry.result_omitted is None and entry.missing == []
    big = tiny_bench.sample("Hi", n=16, seed=0, max_new_tokens=64, progress=False)
    entry = journal.last()
    assert entry.result is None and "20 KB" in entry.result_omitted["reason"]
    assert entry.summary["texts"] == [t[:200] for t in big.texts[:4]]


def test_tensors_and_arrays_are_summarised_and_refused_by_replay(tiny_bench, journal):
    direction = torch.arange(tiny_bench.hidden_size, dtype=torch.float32)
    vectors.from_direction(tiny_bench, direction, layer=1, name="ramp")
    entry = journal.last()
    assert entry.inputs["direction"]["$summary"] == "torch.Tensor"
    assert entry.inputs["direction"]["shape"] == [tiny_bench.hidden_size] and entry.inputs["direction"]["digest"]
    assert entry.missing == ["direction"]
    with pytest.raises(ValueError, match=r"direction were recorded only as a summary"):
        tiny_bench.replay(entry)


def test_a_call_that_raises_is_an_error_entry(tiny_bench, journal):
    with pytest.raises(ValueError, match="temperature"):
        tiny_bench.sample("Hi", n=2, temperature=-1, **FAST)
    entry = journal.last()
    assert entry.technique == "sample" and entry.error["type"] == "ValueError"
    assert "temperature" in entry.error["message"] and entry.result is None
    assert lines(journal.path)[-1]["error"]["type"] == "ValueError"
    assert "error ValueError" in repr(journal)


def test_nesting_is_per_thread(tiny_bench, journal):
    started, release = threading.Event(), threading.Event()

    @recording.recorded("wait")
    def wait(bench):
        started.set()
        release.wait(30)
        return "done"

    worker = threading.Thread(target=wait, args=(tiny_bench,))
    worker.start()
    assert started.wait(30)
    tiny_bench.sample("Hi", n=1, seed=0, **FAST)  # while the worker is inside its own recorded call
    release.set()
    worker.join(30)
    assert sorted(e.technique for e in journal) == ["sample", "wait"]
    assert journal.last("wait").summary == {"value": "done", "chars": 4}


def test_notes_tags_and_findings_round_trip_through_load(tiny_bench, journal):
    tiny_bench.sample("Hi", n=1, seed=0, **FAST)
    tiny_bench.activations("The cat sat")
    journal.note("first look", entry=0, tags=["baseline"])
    journal.tag(1, "lens", "cats")
    journal.mark_finding(journal[1].id, "layer 1 predicts 'mat'")
    journal.note("the model is random anyway")
    loaded = wb.Journal.load(journal.path)
    assert [e.id for e in loaded] == [e.id for e in journal]
    assert loaded[0].tags == ["baseline"] and [n.text for n in loaded[0].notes] == ["first look"]
    assert loaded[1].tags == ["lens", "cats"]
    assert [f.text for f in loaded.findings] == ["layer 1 predicts 'mat'"] and loaded.findings[0].entry == loaded[1].id
    assert [n.text for n in loaded.free_notes] == ["the model is random anyway"]
    frame = loaded.to_pandas()
    assert frame["technique"].tolist() == ["sample", "activations"]
    assert frame.loc[1, "findings"] == ["layer 1 predicts 'mat'"] and "★" in repr(loaded)
    with pytest.raises(KeyError, match="No journal entry 'nope'"):
        journal.tag("nope", "x")
    with pytest.raises(ValueError, match="needs some text"):
        journal.note("  ")


def test_a_truncated_last_line_is_skipped_with_its_line_number(tiny_bench, journal):
    for seed in range(3):
        tiny_bench.sample("Hi", n=1, seed=seed, **FAST)
    text = journal.path.read_text()
    journal.path.write_text(text + text.splitlines()[0][:57])  # killed while writing a fourth line
    with pytest.warns(journal_mod.JournalWarning, match=r"line 4: not whole JSON"):
        loaded = wb.Journal.load(journal.path)
    assert [e.id for e in loaded] == [e.id for e in journal]
    tiny_bench.journal = loaded  # the next session appends to the same file
    tiny_bench.sample("Hi", n=1, seed=5, **FAST)
    with pytest.warns(journal_mod.JournalWarning, match=r"line 4: not whole JSON"):
        again = wb.Journal.load(journal.path)
    assert [e.seed for e in again] == [0, 1, 2, 5]


def test_replay_after_load_in_a_fresh_workbench_reproduces_the_samples(tiny_bench, tiny_model_dir, journal, tmp_path):
    seeded = tiny_bench.sample("Tell me a secret", n=3, seed=7, prefill="My", **FAST)
    drawn = tiny_bench.sample("Hi", n=2, **FAST)  # no seed given: the drawn one is recorded
    fresh = wb.Workbench(str(tiny_model_dir), journal=tmp_path / "fresh.jsonl")
    old = wb.Journal.load(journal.path)
    again = fresh.replay(old[0])
    assert again.texts == seeded.texts and again.seed == 7
    assert fresh.replay(old[1]).texts == drawn.texts
    assert [e.replay_of for e in fresh.journal] == [old[0].id, old[1].id]
    assert fresh.journal.path == tmp_path / "fresh.jsonl" and len(lines(fresh.journal.path)) == 2


def test_replay_by_index_and_id_and_refusals(tiny_bench, journal, vector):
    tiny_bench.sample("Hi", n=2, seed=3, steer={"ones": 0.5}, **FAST)
    entry = journal[0]
    assert tiny_bench.replay(0).texts == tiny_bench.replay(entry.id).texts == entry.summary["texts"]
    missing = journal_mod.Entry(**{**vars(entry), "id": "x1", "inputs": {**entry.inputs, "steer": {"gone": 1.0}}})
    with pytest.raises(ValueError, match=r"needs the vector 'gone' \(registered: .*ones"):
        tiny_bench.replay(missing)
    no_sae = journal_mod.Entry(**{**vars(entry), "technique": "activations",
                                       "function": "workbench.techniques.activations:activations",
                                       "inputs": {"source": "x", "sae": "nope"}})
    with pytest.raises(ValueError, match=r"the SAE 'nope'"):
        tiny_bench.replay(no_sae)
    with pytest.raises(KeyError, match="No journal entry"):
        tiny_bench.replay("not-an-id")


def test_journal_paths_from_the_keyword_and_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(journal_mod.ENV, raising=False)
    path = journal_mod.default_path()
    assert path.parent == tmp_path and path.name.startswith("workbench-journal-") and path.suffix == ".jsonl"
    monkeypatch.setenv(journal_mod.ENV, "off")
    assert journal_mod.open_journal(None).path is None
    monkeypatch.setenv(journal_mod.ENV, str(tmp_path))
    assert journal_mod.open_journal(None).path.parent == tmp_path
    monkeypatch.setenv(journal_mod.ENV, str(tmp_path / "mine.jsonl"))
    assert journal_mod.open_journal(None).path == tmp_path / "mine.jsonl"
    assert journal_mod.open_journal(False).path is None
    with pytest.raises(IsADirectoryError, match="is a folder"):
        journal_mod.open_journal(tmp_path)
    assert not list(tmp_path.iterdir())  # nothing is written before the first entry


def test_an_existing_file_is_appended_to(tiny_bench, journal):
    tiny_bench.sample("Hi", n=1, seed=0, **FAST)
    reopened = wb.Journal(journal.path)
    tiny_bench.journal = reopened
    tiny_bench.sample("Hi", n=1, seed=1, **FAST)
    assert len(reopened) == 2 and [r["seed"] for r in lines(journal.path)] == [0, 1]


def test_a_journal_that_cannot_write_warns_once_and_the_call_returns(tiny_bench, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(tiny_bench, "journal", wb.Journal(blocker / "journal.jsonl"))
    with pytest.warns(journal_mod.JournalWarning, match="could not write"):
        out = tiny_bench.sample("Hi", n=1, seed=0, **FAST)
    assert len(out) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny_bench.sample("Hi", n=1, seed=0, **FAST)
    assert len(tiny_bench.journal) == 2  # still kept in memory


CHILD = textwrap.dedent("""
    import workbench as wb
    bench = wb.Workbench({model!r}, journal={path!r})
    for seed in range(3):
        bench.sample("Hi", n=1, seed=seed, max_new_tokens=4, progress=False)
    bench.journal.mark_finding(1, "the second one")
    def progress(step, total):
        if step == 2:
            print("LONG RUN", flush=True)
    bench.sample("Hi", n=1, seed=9, max_new_tokens=4000, progress=progress)
    print("FINISHED", flush=True)
""")


def test_a_killed_kernel_keeps_every_completed_entry(tiny_model_dir, tmp_path):
    path = tmp_path / "killed.jsonl"
    code = CHILD.format(model=str(tiny_model_dir), path=str(path))
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    try:
        line = child.stdout.readline()
        assert line.strip() == "LONG RUN", child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    loaded = wb.Journal.load(path)
    assert [e.seed for e in loaded] == [0, 1, 2]
    assert all(e.error is None and len(e.summary["texts"]) == 1 for e in loaded)
    assert [f.text for f in loaded.findings] == ["the second one"]


def test_a_dataset_file_is_replayable_and_a_dataframe_is_summarised(tiny_bench, journal, tmp_path):
    import pandas as pd

    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in ["a chocolate cake", "a dog", "chocolate!"]))
    first = tiny_bench.search(wb.read_dataset(path), "chocolate")
    entry = journal.last("search")
    assert entry.inputs["dataset"]["$dataset"] == str(path) and entry.missing == []
    assert tiny_bench.replay(entry).ids == first.ids
    path.write_text(json.dumps({"text": "no sweets here"}) + "\n")
    with pytest.raises(ValueError, match="changed since it was recorded"):
        tiny_bench.replay(entry)
    frame = pd.DataFrame({"text": ["chocolate", "tea"]})
    tiny_bench.search(frame, "chocolate")
    summary = journal.last().inputs["dataset"]
    assert summary["$summary"] == "pandas.DataFrame" and summary["shape"] == [2, 1] and len(summary["digest"]) == 16
    assert journal.last().missing == ["dataset"]


def test_a_registered_probe_is_recorded_by_name_and_replay_needs_it(tiny_bench, journal, monkeypatch):
    from types import SimpleNamespace

    from workbench.registry import Registry

    monkeypatch.setattr(tiny_bench, "probes", Registry("probe"))
    probe = tiny_bench.probes.register("up", SimpleNamespace(direction=torch.ones(tiny_bench.hidden_size), layer=1))
    vectors.from_direction(tiny_bench, probe, name="from-probe")
    entry = journal.last()
    assert entry.inputs["direction"] == {"$probe": "up"} and entry.missing == []
    assert tiny_bench.replay(entry).layer == 1 and journal.last().replay_of == entry.id
    monkeypatch.setattr(tiny_bench, "probes", Registry("probe"))
    with pytest.raises(ValueError, match=r"needs the probe 'up' \(registered: none\)"):
        tiny_bench.replay(entry)


def test_a_session_passed_by_keyword_is_recorded_the_same(tiny_bench, journal):
    out = sampling.sample(session=tiny_bench, conversation="Hi", n=1, seed=4, **FAST)
    entry = journal.last()
    assert entry.technique == "sample" and "bench" not in entry.inputs
    assert entry.inputs["conversation"] == "Hi" and entry.summary["texts"] == out.texts


def test_a_sample_with_neuron_edits_replays_with_the_same_edits(tiny_bench, journal):
    edits = {(1, 3): ("scale", 40.0), (0, 7): ("clamp", 2.0)}
    out = sampling.sample(tiny_bench, "Hi", n=2, seed=5, neurons=edits, **FAST)
    entry = journal.last()
    assert entry.missing == []
    again = tiny_bench.replay(entry)
    assert again.texts == out.texts and journal.last().replay_of == entry.id
    plain = sampling.sample(tiny_bench, "Hi", n=2, seed=5, **FAST)
    assert plain.texts != out.texts  # the edits were really applied on replay too


def test_probes_value_vectors_neuron_activations_and_compare_are_recorded(tiny_bench, journal, monkeypatch):
    from workbench.registry import Registry
    from workbench.techniques import diffing, neurons, probes

    monkeypatch.setattr(tiny_bench, "probes", Registry("probe"))
    positive = [f"good {w} day" for w in "abcdefgh"]
    negative = [f"bad {w} night" for w in "abcdefgh"]
    found = probes.probe(tiny_bench, positive, negative, layer="all", progress=False, name="mood")
    entry = journal.last()
    assert entry.technique == "probe" and entry.inputs["positive"] == positive
    assert entry.summary["name"] == "mood" and entry.summary["layers_probed"] == len(found.per_layer)
    assert entry.summary["accuracy"] == pytest.approx(found.accuracy)

    ranked = neurons.value_vectors(tiny_bench, "mood", top=5)
    entry = journal.last()
    assert entry.technique == "value_vectors" and entry.inputs["direction"] == "mood"
    assert [(t["layer"], t["neuron"]) for t in entry.summary["top"]] == ranked.neurons()
    assert tiny_bench.replay(entry).neurons() == ranked.neurons()

    frame = neurons.neuron_activations(tiny_bench, ranked.neurons(2), ["Hello there"])
    entry = journal.last()
    assert entry.technique == "neuron_activations" and entry.inputs["neurons"] == [list(k) for k in ranked.neurons(2)]
    assert tiny_bench.replay(entry).equals(frame)

    diff = diffing.diff(tiny_bench, tiny_bench, ["Hi"], n_samples=1, max_new_tokens=2, progress=False)
    entry = journal.last()
    assert entry.technique == "diff" and entry.summary["samples_differ"] == 0
    assert len(journal.entries) == 6  # four calls and two replays
    assert diff.layers["mean_change_norm"].abs().max() == 0
