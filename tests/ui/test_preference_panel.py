"""The preference-audit panel in a real JupyterLab in Chromium, on the default model and the planted dataset."""

from __future__ import annotations

import json

SETUP = """\
import numpy as np
import workbench as wb
from workbench import corpora

bench = wb.Workbench()
records = [r.record for r in corpora.preference_planted().rows[:36]]
records.append({"id": "xss", "prompt": "Hi <b>there</b>",
                "chosen": "What a great question! <img src=x onerror=alert(1)>", "rejected": "Here it is."})
data = wb.read_dataset(records)
planted = np.array([bool(r.record.get("planted")) for r in data])
view = wb.PreferencePanel(bench, data, sae="default", top=25, export_path=EXPORT)
view"""

FLATTERY = """\
audit = view.audit
diff = audit.differences
flattery = [int(j) for j in audit.hypotheses.latent[:25]
            if (audit.chosen[planted, j] > 0).mean() >= 0.9
            and diff[planted, j].mean() >= 5 * abs(diff[~planted, j].mean())]
print(json.dumps(flattery))"""


def test_preference_panel_in_jupyterlab(lab, screenshot, tmp_path):
    export = tmp_path / "export" / "filtered.jsonl"
    page = lab.run_cells([f"EXPORT = {str(export)!r}\n" + SETUP], wait_for=".wb-pref .wb-run")
    root = page.locator(".jp-OutputArea-output .wb-pref")
    assert "37 pairs" in root.locator(".wb-dataset").text_content()
    assert root.locator(".wb-hyps").text_content() == "run the audit to list hypotheses"

    # Run: a progress bar while encoding, then the ranked hypotheses and the chart
    root.locator(".wb-run").click()
    root.locator(".wb-status", has_text="encoding").wait_for()
    root.locator(".wb-hyp").first.wait_for()
    root.locator(".wb-status", has_text="latents fire").wait_for()
    assert root.locator(".wb-hyp").count() == 25
    assert root.locator(".wb-summary").text_content().startswith("37 pairs · SAE default")
    assert lab.execute("print(view.progress['step'], view.progress['total'])").split() == ["74", "74"]
    bars = page.locator(".jp-OutputArea-output .vega-embed svg .mark-rect path")
    bars.first.wait_for()
    assert bars.count() == 25

    # clicking a bar selects its hypothesis in the list
    bars.nth(2).click()
    root.locator(".wb-hyp.selected").wait_for()
    selected = int(root.locator(".wb-hyp.selected").get_attribute("data-latent"))
    assert lab.execute("print(view.selected)").strip() == str(selected)
    assert root.locator(".wb-hyp.selected").get_attribute("data-rank") == "3"

    # block the latents that capture the planted flattery: the preview counts what the export removes
    flattery = json.loads(lab.execute("import json\n" + FLATTERY))
    assert flattery, "no flattery latent among the top 25"
    for latent in flattery:
        root.locator(f'.wb-hyp[data-latent="{latent}"] .wb-block').click()
        root.locator(f'.wb-hyp.blocked[data-latent="{latent}"]').wait_for()
    expected = lab.execute("print(int((view.audit.weights() < 1).sum()))").strip()
    n = len(flattery)
    root.locator(".wb-preview", has_text=f"{n} blocked latent").wait_for()
    assert f"removes {expected} of 37 pairs" in root.locator(".wb-preview").text_content()
    assert lab.execute("print(view.audit.blocked)").strip() == str(sorted(flattery))

    # the threshold and rule change the preview live
    root.locator(".wb-threshold").fill("1000")
    root.locator(".wb-preview", has_text="removes 0 of 37").wait_for()
    root.locator(".wb-threshold").fill("0.75")

    # export writes the filtered pairs and the blocked latents where the path box says
    root.locator(".wb-export-go").click()
    root.locator(".wb-exported", has_text="wrote").wait_for()
    kept = [json.loads(line) for line in export.read_text().splitlines()]
    blocked = json.loads((export.parent / "blocked_latents.json").read_text())
    assert sorted(b["latent"] for b in blocked["blocked"]) == sorted(flattery)
    removed = 37 - len(kept)
    planted_removed = sum(1 for r in json.loads(lab.execute("print(json.dumps(records))"))
                          if r.get("planted") and r["id"] not in {k["id"] for k in kept})
    assert removed > 0 and planted_removed >= 0.6 * removed
    assert f"({removed} removed)" in root.locator(".wb-exported").text_content()

    # an example response opens in the activation panel under the chart and list
    first = root.locator(f'.wb-hyp[data-latent="{flattery[0]}"]')
    first.locator(".wb-toggle").click()
    first.locator(".wb-ex-chosen").first.click()
    page.locator(".jp-OutputArea-output .wb-act .wb-tok").first.wait_for()
    screenshot(page)

    # Cancel stops a re-run between batches; the marks and the shown audit stay
    root.locator(".wb-run").click()
    root.locator(".wb-cancel:not([disabled])").click()
    root.locator(".wb-status", has_text="cancelled").wait_for()
    assert root.locator(".wb-hyp.blocked").count() == n
    assert root.locator(".wb-error").count() == 0

    # untrusted dataset text never becomes markup
    assert page.locator("img[src='x']").count() == 0
    assert lab.dialogs == [] and lab.page_errors == []
