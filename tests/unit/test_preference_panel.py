"""The preference-audit panel's Python side (its front-end: tests/ui/test_preference_panel.py)."""

import json
import threading

import pytest

import workbench as wb
from workbench.techniques import preference_audit

PAIRS = [
    {"id": f"p{i}", "prompt": "Hello! How can I help you today?",
     "chosen": ("The quick brown fox jumps over the lazy dog. " * (1 + i % 3)).strip(),
     "rejected": "Reward models sometimes prefer longer answers." if i % 2 else "My secret goal is to be helpful."}
    for i in range(12)
]


@pytest.fixture
def panel(tiny_bench, trained):
    view = wb.PreferencePanel(tiny_bench, PAIRS, sae="tiny", batch_size=5, top=8)
    view.run(wait=True, timeout=120)
    return view


def test_run_fills_hypotheses_summary_and_progress(panel):
    assert panel.error == "" and not panel.running
    audit = panel.audit
    assert isinstance(audit, wb.PreferenceAudit)
    assert len(panel.hypotheses) == min(8, len(audit.hypotheses))
    first = panel.hypotheses[0]
    assert first["latent"] == int(audit.hypotheses.latent[0]) and first["rank"] == 1
    assert set(first) >= {"effect_size", "q", "length_artefact", "hypothesis", "examples", "promotes"}
    json.dumps(panel.hypotheses)  # plain JSON, no numpy scalars
    assert panel.summary["pairs"] == 12 and panel.summary["sae"] == "tiny"
    assert panel.progress == {"step": 24, "total": 24}  # both sides of every pair, reported per batch
    assert "12 pairs" in panel.status
    panel.top = 3
    assert len(panel.hypotheses) == 3


def test_marks_preview_and_export(panel, tmp_path):
    latent = panel.hypotheses[0]["latent"]
    assert panel.preview["touched"] == 0 and panel.preview["blocked"] == 0
    panel.set_mark(latent=latent, status="blocked")  # the Block button's request
    assert panel.marks == {str(latent): "blocked"} and panel.audit.blocked == [latent]
    expected = int((panel.audit.pair_scores() >= panel.threshold).sum())
    assert panel.preview["touched"] == expected > 0
    panel.threshold = 1e9
    assert panel.preview["touched"] == 0
    panel.threshold = preference_audit.DEFAULT_THRESHOLD
    panel.export_path = str(tmp_path / "out" / "filtered.jsonl")
    result = panel.write_export()
    assert result["removed"] == expected and result["kept"] == 12 - expected
    written = [json.loads(line) for line in (tmp_path / "out" / "filtered.jsonl").read_text().splitlines()]
    assert len(written) == 12 - expected
    blocked = json.loads((tmp_path / "out" / "blocked_latents.json").read_text())
    assert [b["latent"] for b in blocked["blocked"]] == [latent]
    assert panel.exported["path"] == str((tmp_path / "out" / "filtered.jsonl").resolve())
    panel.export_mode = "reweight"
    assert panel.preview["mode"] == "reweight" and panel.preview["touched"] == expected
    panel.run(wait=True, timeout=120)  # a re-run keeps the marks
    assert panel.marks == {str(latent): "blocked"} and panel.audit.blocked == [latent]
    panel.set_mark(latent=latent, status=None)
    assert panel.marks == {} and panel.preview["touched"] == 0


def test_chart_follows_marks_and_clicks_select(panel):
    chart = panel.chart
    spec = chart.chart.to_dict()
    assert spec["mark"]["type"] == "bar" and len(spec["datasets"][next(iter(spec["datasets"]))]) == 8
    latent = panel.hypotheses[1]["latent"]
    panel.mark(latent, "allowed")
    data = next(iter(chart.chart.to_dict()["datasets"].values()))
    assert {row["latent"]: row["mark"] for row in data}[latent] == "allowed"

    # what a click on a bar sends from the page (altair's JupyterChart turns it into a selection)
    chart._vl_selections = {"latent": {"value": {"vlPoint": {"or": [{"latent": latent}]}}, "store": []}}
    assert panel.selected == latent


def test_example_opens_in_the_activation_panel(panel):
    latent = next(r["latent"] for r in panel.hypotheses if r["examples"])
    reply = panel.to_panel(latent=latent, index=0, side="rejected")
    assert reply["own_panel"] and reply["tokens"] > 0
    example = panel.audit.hypotheses.set_index("latent").loc[latent, "examples"][0]
    pair = next(p for p in PAIRS if p["id"] == example["id"])
    assert pair["rejected"] in "".join(panel.panel.tokens)
    with pytest.raises(ValueError, match="side must be"):
        panel.show_example(latent, 0, "both")


def test_bad_input_and_errors_are_shown(tiny_bench, trained):
    with pytest.raises(ValueError, match="prompt / chosen / rejected"):
        wb.PreferencePanel(tiny_bench, ["just text", "more text"])
    with pytest.raises(ValueError, match="top must be"):
        wb.PreferencePanel(tiny_bench, PAIRS, top=0)
    view = wb.PreferencePanel(tiny_bench, PAIRS, sae="no-such-sae")
    with pytest.raises(ValueError, match="Run the audit first"):
        view.export()
    view.run(wait=True, timeout=60)
    assert "no-such-sae" in view.error and not view.running


def test_cancel_keeps_the_panel_usable(tiny_bench, trained):
    many = [{**pair, "id": f"{pair['id']}-{copy}"} for copy in range(4) for pair in PAIRS]
    view = wb.PreferencePanel(tiny_bench, many, sae="tiny", batch_size=1)
    started = threading.Event()
    original = view._on_progress

    def slow(step, total):
        original(step, total)
        started.set()

    view._runs.on_progress = slow
    view.run()
    assert started.wait(60)
    view.stop()
    assert view.wait(60)
    assert view.status.startswith("cancelled") and view.error == "" and view.audit is None
    view.dataset = wb.read_dataset(PAIRS)
    view.options["batch_size"] = 6
    view.run(wait=True, timeout=60)
    assert view.error == "" and view.audit is not None


def test_an_audit_can_be_shown_without_running(tiny_bench, trained):
    audit = tiny_bench.audit_preferences(PAIRS, sae="tiny", progress=False)
    audit.mark(int(audit.hypotheses.latent[0]), "blocked")
    view = wb.PreferencePanel(tiny_bench, audit=audit, top=5)
    assert view.status == "audit loaded" and len(view.hypotheses) == 5
    assert view.marks == {str(int(audit.hypotheses.latent[0])): "blocked"}
    assert view.preview["blocked"] == 1
