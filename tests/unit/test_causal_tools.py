"""The agent's causal tools (attribute_features, patch_activations) over MCP's toolbox, on the tiny models."""

from __future__ import annotations

import json

import pytest

from workbench.mcp import Limits
from workbench.mcp._tools import Toolbox, ToolRefused

from .test_attribution import _random_sae
from .test_patching import CLEAN, CORRUPTED, PLANTED_LAYER, planted, planted_dir  # noqa: F401  (fixtures)


def test_attribute_features_ranks_and_checks_each_feature(tiny_bench):
    _random_sae(tiny_bench, "blocks.0.hook_resid_post", "attr-resid0")
    box = Toolbox(tiny_bench, limits=Limits(max_calls=5))
    cid = json.loads(box.call("start_conversation", "agent:test", {"user_message": "Hello! How can I"}))[
        "conversation_id"]
    out = json.loads(box.call("attribute_features", "agent:test",
                              {"conversation_id": cid, "target": " help", "k": 4, "sae": "attr-resid0"}))
    assert out["target"] == " help" and out["sae"] == "attr-resid0" and len(out["features"]) == 4
    strongest = out["features"][0]
    assert abs(strongest["attribution"]) >= abs(out["features"][-1]["attribution"])
    assert strongest["measured_change"] == pytest.approx(-strongest["attribution"], rel=0.5, abs=0.05)
    entry = tiny_bench.journal.last("attribute")
    assert entry.actor == "agent:test"


def test_patch_activations_finds_the_planted_cell(planted):  # noqa: F811
    box = Toolbox(planted)
    out = json.loads(box.call("patch_activations", "agent:test", {"clean": CLEAN, "corrupted": CORRUPTED,
                                                                  "site": "attn_out"}))
    assert out["best"] == {"layer": PLANTED_LAYER, "position": 5}
    assert out["per_layer"][PLANTED_LAYER]["effect"] == pytest.approx(1.0, abs=1e-3)
    assert planted.journal.last("patch").actor == "agent:test"
    with pytest.raises(ToolRefused, match="at most 24"):
        box.call("patch_activations", "agent:test", {"clean": " the" * 30, "corrupted": " to" * 30})
