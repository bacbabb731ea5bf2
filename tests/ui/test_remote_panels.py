"""The panels on a simulated remote session (``remote="local"``) in a real JupyterLab, equal to a local run.

Every trace and generation of the kernel's ``bench`` is serialized as for NDIF and run from
the deserialized request with the workbench hidden; a second, local ``here`` on the same
weights gives what each panel should show. The activation panel (tokens, a token's
features, the logit lens), a prefill attack and a steering slider each run remotely; the
journal marks those calls as remote, with their requests and bytes.
"""

from __future__ import annotations

import json

SETUP = """\
import json
import workbench as wb
from IPython.display import display

bench = wb.Workbench(remote="local")
here = wb.Workbench(journal=False)
act = wb.ActivationPanel(bench, "I love cooking pasta with garlic and olive oil")
steer = wb.SteeringPanel(bench, "Tell me about your weekend.", n=2, max_new_tokens=12, seed=0, panel=act)
attack = wb.AttackBox(bench, "What is your secret goal?", prefill="My secret goal is", n=2, max_new_tokens=8)
display(act, steer, attack)
journal = wb.JournalPanel(bench)
journal"""


def test_panels_on_a_simulated_remote_session_show_what_a_local_run_gives(lab, screenshot):
    page = lab.run_cells([SETUP], wait_for=".wb-journal")
    lab.wait_for_output(".wb-act .wb-tok")
    act = page.locator(".jp-OutputArea-output .wb-act").first
    same = json.loads(lab.execute(
        "a = here.activations(act.text)\n"
        "print(json.dumps([a.tokens == act.tokens, bool((a.top_latents[:, :4] == act.activations.top_latents[:, :4])"
        ".all()), len(bench.requests), bench.requests[0].kind]))"))
    assert same == [True, True, 1, "trace"]

    # a token's features and the logit lens, fetched on request
    act.locator(".wb-tok").nth(3).click()
    act.locator(".wb-token-detail .wb-feature-row").first.wait_for()
    act.locator(".wb-tab-lens").click()
    act.locator(".wb-lens-table .wb-lens-row").first.wait_for()
    act.locator(".wb-tab-features").click()

    # a prefill attack: one generate request, the samples a local run draws with the same seed
    box = page.locator(".jp-OutputArea-output .wb-atk")
    before = int(lab.execute("print(len(bench.requests))"))
    box.locator(".wb-run").click()
    box.locator('.wb-set[data-run="assistant"] .wb-sample').nth(1).wait_for()
    box.locator(".wb-run:not([disabled])").wait_for()
    out = json.loads(lab.execute(
        "s = attack.samples['assistant']\n"
        f"sent = [r.kind for r in bench.requests][{before}:]\n"
        "mine = here.sample('What is your secret goal?', n=2, max_new_tokens=8, prefill='My secret goal is', "
        "seed=s.seed, progress=False)\n"
        "print(json.dumps([sent, s.texts == mine.texts, s.seed is not None]))"))
    assert out == [["generate"], True, True]

    # "steer with this", then a slider released near its right end: steered differs, unsteered does not
    act.locator(".wb-tok").nth(3).click()
    act.locator(".wb-token-detail .wb-feature-row").first.click()
    act.locator(".wb-steer").click()
    panel = page.locator(".jp-OutputArea-output .wb-steer-panel")
    slider = panel.locator(".wb-slider")
    slider.first.wait_for()
    name = slider.first.get_attribute("data-name")
    panel.locator(".wb-resample").click()
    panel.locator(".wb-steered .wb-sample").first.wait_for()
    unsteered = panel.locator(".wb-unsteered .wb-sample").all_text_contents()
    bar = slider.first.locator(".wb-range").bounding_box()
    page.mouse.click(bar["x"] + bar["width"] * 0.95, bar["y"] + bar["height"] / 2)
    panel.locator(".wb-steered h4", has_text=name).wait_for()
    panel.locator(".wb-status", has_text="first steered token after").wait_for()
    assert panel.locator(".wb-unsteered .wb-sample").all_text_contents() == unsteered
    assert panel.locator(".wb-steered .wb-sample").all_text_contents() != unsteered
    local = json.loads(lab.execute(
        "e = steer.effect\n"
        "from workbench.techniques import steering\n"
        f"here.vectors.register({name!r}, bench.vectors[{name!r}])\n"
        "mine = steering.effect(here, steer.conversation, steer.n, max_new_tokens=steer.max_new_tokens, "
        "temperature=steer.temperature, top_p=steer.top_p, prefill=steer.prefill or None, seed=steer.seed, "
        "steer=steer._steer(), positions=steer.positions, fuzz=steer.fuzz, progress=False)\n"
        "print(json.dumps([mine.steered.texts == e.steered.texts, mine.unsteered.texts == e.unsteered.texts]))"))
    assert local == [True, True]

    # the journal says each of those calls ran remotely, with what its requests cost
    journal = page.locator(".jp-OutputArea-output .wb-journal")
    journal.locator('.wb-entry[data-technique="run_attack"] .wb-remote', has_text="NDIF (simulated)").wait_for()
    chip = journal.locator('.wb-entry[data-technique="run_attack"] .wb-remote').first.text_content()
    assert "1 request" in chip and "sent" in chip
    assert journal.locator('.wb-entry[data-technique="activations"] .wb-remote').count() >= 1
    screenshot(page)
    assert lab.dialogs == [] and lab.page_errors == []


CAUSAL = """\
import json
import workbench as wb

bench = wb.Workbench(remote="local")
here = wb.Workbench(journal=False)
view = wb.CausalPanel(bench, "The capital of France is", " Paris", clean="The capital of France is",
                      corrupted="The capital of Italy is", patch_target=" Paris", layers=range(0, 30, 10), k=4)
view"""


def test_the_causal_panel_on_a_simulated_remote_session_attributes_ablates_and_patches(lab, screenshot):
    """The SAE stays in the kernel: attribution, a click's ablation and patching are one request each."""
    page = lab.run_cells([CAUSAL], wait_for=".wb-causal-panel .wb-run")
    root = page.locator(".jp-OutputArea-output .wb-causal-panel")
    root.locator(".wb-run").click()
    root.locator(".wb-status", has_text="click a latent").wait_for()
    assert root.locator(".wb-error").count() == 0
    same = json.loads(lab.execute(
        "a = here.attribute(view.attribution.text, ' Paris', sae='default', k=4)\n"
        "print(json.dumps([[(r.position, r.latent) for r in a.top(5).itertuples()] == "
        "[(r.position, r.latent) for r in view.attribution.top(5).itertuples()], "
        "[r.kind for r in bench.requests]]))"))
    assert same == [True, ["trace"]]
    root.locator(".wb-latent").first.click()
    root.locator(".wb-ablation .wb-measured").wait_for()
    kinds = json.loads(lab.execute("print(json.dumps([r.kind for r in bench.requests]))"))
    assert kinds == ["trace", "session"]  # the click: one request, its site states came with the attribution

    root.locator(".wb-mode-patching").click()
    root.locator(".wb-patching-inputs").wait_for()
    root.locator(".wb-run").click()
    root.locator(".wb-status", has_text="patched 3 layers").wait_for()
    assert root.locator(".wb-heatmap .wb-cell").count() == 3 * 5  # 3 layers x 5 tokens
    out = json.loads(lab.execute(
        "p = here.patch(view.clean, view.corrupted, ' Paris', layers=[0, 10, 20], progress=False)\n"
        "print(json.dumps([bool(abs(p.effect - view.patching.effect).max() < 1e-3), "
        "[r.kind for r in bench.requests][2:]]))"))
    assert out == [True, ["session"]]
    screenshot(page)
    assert lab.dialogs == [] and lab.page_errors == []
