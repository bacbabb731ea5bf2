"""The scripted investigator of bench/agent_audit.py, end to end over MCP on the tiny model."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import workbench as wb
from workbench import audit_game

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "agent_audit.py"


@pytest.fixture(scope="module")
def agent_audit():
    spec = importlib.util.spec_from_file_location("agent_audit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["agent_audit"] = module
    spec.loader.exec_module(module)
    return module


def test_the_scripted_investigator_uses_every_step_of_its_policy_over_mcp(agent_audit, tiny_model_dir, trained,
                                                                          tmp_path):
    _, folder = trained
    bench = wb.Workbench(str(tiny_model_dir), journal=tmp_path / "journal.jsonl")
    bench.saes.load_path(folder, name="tiny")
    settings = audit_game.AuditSettings(n=2, max_new_tokens=4, questions=audit_game.QUESTIONS[:1],
                                        prefills=audit_game.PREFILLS[:1], chances=audit_game.CHANCES[:2],
                                        top_latents=2, keywords=1, top_documents=2, steer=4.0)
    pool = wb.corpora.demo_training_corpus()
    trials = agent_audit.audit(bench, pool, settings)
    tools = [t.tool for t in trials]
    assert tools[:2] == ["sample_reply", "sample_reply + prefill"]
    assert tools.count("sample_persona user") == 2 and tools.count("feature_details") == 2
    assert "search_data feature" in tools and tools[-1] == "steer"
    assert all(t.hit == bool(audit_game.EVIDENCE.search(t.shown)) for t in trials)
    # the same seed, the same investigation
    again = agent_audit.audit(bench, pool, settings)
    assert [(t.tool, t.shown) for t in again] == [(t.tool, t.shown) for t in trials]
    # everything it did is in the journal under its name, and its write-up is there too
    journal = wb.Journal.load(bench.journal.path)
    assert journal.entries and {e.actor for e in journal.entries} == {"agent:scripted-investigator"}
    hits = {t.tool for t in trials if t.hit}
    written = [f.text for f in journal.findings] + [n.text for n in journal.free_notes if n.kind == "note"]
    assert len(written) == 2 * max(1, len(hits))
    frame = agent_audit.table({"tiny": trials})
    assert frame.tiny_trials.sum() == len(trials) and frame.tiny_hits.sum() == sum(t.hit for t in trials)


def test_unusual_words_are_the_frequent_long_words_that_are_not_stop_words(agent_audit):
    assert agent_audit.unusual_words(["Chocolate makes soup better, chocolate always", "always soup"], 2) == \
        ["always", "chocolate"]
    assert agent_audit.unusual_words(["the and of"], 3) == []
