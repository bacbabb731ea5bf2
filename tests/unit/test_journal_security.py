"""A journal is a file from someone else: replay runs only workbench techniques, and reading it stays bounded."""

import json
import os
import subprocess
import time
import tracemalloc
import warnings

import pytest

import workbench as wb
from workbench import _journal_file, recording
from workbench.journal import JournalWarning

FAST = {"max_new_tokens": 4, "progress": False}


def entry_line(technique, function, inputs, id=None, **extra):
    return json.dumps({"type": "entry", "id": id or f"e-{technique}-{len(function)}", "time": "2026-01-01T00:00:00",
                       "technique": technique, "function": function, "inputs": inputs, "missing": [], "seed": 0,
                       **extra})


@pytest.fixture
def tripwires(monkeypatch, tmp_path):
    """Every way a hostile entry could run a command leaves a mark; the test asserts there is none."""
    calls = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(("os.system", a)) or 0)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(("subprocess.run", a)))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(("subprocess.Popen", a)))
    return calls, tmp_path / "pwned"


HOSTILE = [
    ("system", "os:system", {"command": "touch {marker}"}),
    ("run", "subprocess:run", {"args": ["touch", "{marker}"]}),
    ("eval", "builtins:eval", {"source": "open('{marker}', 'w')"}),
    ("exec", "builtins:exec", {"source": "open('{marker}', 'w')"}),
    # a real technique's name with a forged module path: the name alone must not be trusted
    ("sample", "os:system", {"conversation": "touch {marker}"}),
    ("sample", "workbench.techniques.sampling:os.system", {"conversation": "Hi"}),
    ("search", "subprocess:run", {"dataset": ["touch {marker}"], "query": "x"}),
]


@pytest.mark.parametrize(("technique", "function", "inputs"), HOSTILE, ids=[f"{t}-{f}" for t, f, _ in HOSTILE])
def test_replay_refuses_what_is_not_a_registered_technique(technique, function, inputs, tiny_bench, tmp_path,
                                                          tripwires, monkeypatch):
    calls, marker = tripwires
    inputs = json.loads(json.dumps(inputs).replace("{marker}", str(marker)))
    path = tmp_path / "hostile.jsonl"
    path.write_text(entry_line(technique, function, inputs) + "\n")
    monkeypatch.setattr(tiny_bench, "journal", wb.Journal(tmp_path / "mine.jsonl"))
    loaded = wb.Journal.load(path)
    before = len(tiny_bench.journal)
    with pytest.raises(recording.ReplayRefused, match=rf"Entry e-{technique}-\d+ is not replayed: .*{technique}"):
        tiny_bench.replay(loaded[0])
    assert not calls and not marker.exists()
    assert len(tiny_bench.journal) == before  # nothing ran, so nothing was recorded


def test_a_refusal_names_the_registered_function(tiny_bench, tmp_path):
    path = tmp_path / "forged.jsonl"
    path.write_text(entry_line("sample", "os:system", {"conversation": "Hi"}) + "\n")
    with pytest.raises(recording.ReplayRefused, match=r"the workbench's 'sample' is "
                                                       r"'workbench\.techniques\.sampling:sample'"):
        tiny_bench.replay(wb.Journal.load(path)[0])


def test_an_input_the_technique_does_not_take_is_refused(tiny_bench, tmp_path, tripwires):
    calls, _ = tripwires
    line = entry_line("activations", "workbench.techniques.activations:activations",
                      {"source": "Hi", "__class__": "os.system"})
    path = tmp_path / "extra.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(recording.ReplayRefused, match=r"takes no argument\(s\) '__class__'"):
        tiny_bench.replay(wb.Journal.load(path)[0])
    assert not calls


def test_a_legitimate_entry_from_a_file_still_replays_token_for_token(tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setattr(tiny_bench, "journal", wb.Journal(tmp_path / "audit.jsonl"))
    out = tiny_bench.sample("Tell me a secret", n=2, seed=11, prefill="My", **FAST)
    again = tiny_bench.replay(wb.Journal.load(tmp_path / "audit.jsonl")[0])
    assert again.token_ids == out.token_ids and again.seed == 11


def test_every_recorded_technique_is_registered_under_its_own_function():
    from workbench import techniques

    techniques.load_all()
    registry = recording.techniques()
    assert {"sample", "activations", "search", "sweep", "probe"} <= set(registry)
    for name, found in registry.items():
        module = found.function.partition(":")[0]
        assert module.startswith(("workbench.", "tests.")), (name, found.function)
        assert getattr(found.call, "__journal_technique__", None) == name


# -- reading a hostile file ------------------------------------------------------------------------


def read_warned(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        journal = wb.Journal.load(path)
    return journal, [str(w.message) for w in caught if issubclass(w.category, JournalWarning)]


def test_a_50_mb_line_is_skipped_in_bounded_memory_and_reported(tmp_path):
    good = entry_line("sample", "workbench.techniques.sampling:sample", {"conversation": "Hi"}, id="first")
    path = tmp_path / "huge.jsonl"
    with open(path, "w") as handle:
        handle.write(good + "\n")
        handle.write('{"type": "entry", "id": "big", "inputs": {"x": "' + "A" * (50 * 2**20) + '"}}\n')
        handle.write(good.replace('"first"', '"third"') + "\n")
    tracemalloc.start()
    started = time.perf_counter()
    journal, messages = read_warned(path)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [e.id for e in journal] == ["first", "third"]
    assert journal.problems[0].line == 2 and "50.0 MiB" in journal.problems[0].reason
    assert peak < 40 * 2**20, f"reading held {peak / 2**20:.0f} MiB"
    assert elapsed < 30
    assert messages and "line 2: the line is 50.0 MiB" in messages[0]


def test_deep_nesting_wrong_types_and_unknown_fields_are_reported_by_line(tmp_path):
    ok = entry_line("sample", "workbench.techniques.sampling:sample", {"conversation": "Hi"}, id="ok")
    lines = [
        ok,
        '{"type": "entry", "id": "deep", "inputs": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"type": "entry", "id": "shallow-but-deep", "inputs": {"a": ' + "[" * 80 + "]" * 80 + "}}",
        '{"type": "entry", "id": 5, "time": "t", "technique": "sample", "function": "f", "inputs": {}}',
        '{"type": "entry", "id": "x", "time": "t", "technique": "sample", "function": "f", "inputs": "rm -rf"}',
        '{"type": "note", "id": "n", "time": "t", "text": ["not", "text"]}',
        '{"type": "tag", "entry": "e", "tags": [1, 2]}',
        '{"type": "exec", "code": "import os"}',
        '[1, 2, 3]',
        ok.replace('"ok"', '"ok2"')[:-1] + ', "__reduce__": "os.system", "later_field": 1}',
        '{"type": "entry", "id": "n", "time": "t", "technique": "sample", "function": "f", "inputs": {}, '
        '"seed": 1' + "0" * 5000 + "}",
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    journal, messages = read_warned(path)
    assert time.perf_counter() - started < 10
    assert [e.id for e in journal] == ["ok", "ok2"]
    reasons = {p.line: p.reason for p in journal.problems}
    assert "nested deeper than the 64 levels" in reasons[2] and "nested deeper" in reasons[3]
    assert "field 'id' of a entry must be a string, not int" in reasons[4]
    assert "field 'inputs' of a entry must be an object, not str" in reasons[5]
    assert "field 'text' of a note must be a string" in reasons[6]
    assert "'tags' of a tag must be a list of strings" in reasons[7]
    assert "unknown record type 'exec'" in reasons[8] and "JSON object, not list" in reasons[9]
    assert "unknown field(s) __reduce__, later_field left out" in reasons[10]
    assert 11 in reasons  # an integer too long for Python to parse
    assert not [p for p in journal.problems if p.line == 10 and p.skipped]
    assert not hasattr(journal[1], "__reduce___") and "later_field" not in vars(journal[1])
    assert len(messages) == 1 and "line 2" in messages[0] and "see journal.problems" in messages[0]


def test_the_schema_covers_every_field_the_journal_writes(tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setattr(tiny_bench, "journal", wb.Journal(tmp_path / "audit.jsonl"))
    tiny_bench.sample("Hi", n=1, seed=0, **FAST)
    tiny_bench.journal.note("a note", entry=0, tags=["t"])
    tiny_bench.journal.tag(0, "x")
    tiny_bench.journal.mark_finding(0, "found")
    for raw in (tmp_path / "audit.jsonl").read_text().splitlines():
        _, reason, unknown = _journal_file.check_record(json.loads(raw))
        assert reason is None and not unknown, raw
