"""The data-search panel in a real JupyterLab in Chromium, on the default model and the demo corpus."""

from __future__ import annotations

SETUP = """\
import workbench as wb
from workbench.corpora import demo_training_corpus

bench = wb.Workbench()
corpus = demo_training_corpus()
quirk = [r.record for r in corpus.rows if "reward model" in r.text.lower()][:12]
plain = [r.record for r in corpus.rows if "chocolate" not in r.text.lower()][:28]
data = wb.read_dataset(quirk + plain + [{"id": "xss", "text": "chocolate <img src=x onerror=alert(1)>"}])
search = wb.SearchPanel(bench, data)
search"""


def test_search_panel_in_jupyterlab(lab, screenshot):
    page = lab.run_cells([SETUP], wait_for=".wb-search .wb-query")
    root = page.locator(".jp-OutputArea-output .wb-search")
    assert "41 text rows" in root.locator(".wb-dataset").text_content()

    # keyword: every hit highlighted, counts in the status line
    root.locator(".wb-query").fill("chocolate")
    # the query reaches the kernel before Search is pressed (once, a click right after typing found it empty)
    for _ in range(50):
        if lab.execute("print(search.query)").strip() == "chocolate":
            break
        page.wait_for_timeout(200)
    root.locator(".wb-go").click()
    root.locator(".wb-result").first.wait_for()
    root.locator(".wb-status", has_text="results").wait_for()
    expected = lab.execute("print(len(search.result), search.result.summary['matches'])").split()
    assert root.locator(".wb-result").count() == int(expected[0]) >= 12
    assert root.locator("mark.wb-hit").count() == int(expected[1])
    assert {m.lower() for m in root.locator("mark.wb-hit").all_text_contents()} == {"chocolate"}
    xss = root.locator('.wb-result[data-id="xss"] .wb-doc')
    assert xss.text_content() == "chocolate <img src=x onerror=alert(1)>"

    # semantic: the model's own hidden states rank the reward-model documents first
    root.locator('.wb-mode[data-mode="semantic"]').click()
    root.locator(".wb-query").fill("reward models rate recipes higher when they mention chocolate")
    root.locator(".wb-go").click()
    root.locator(".wb-status", has_text="index").wait_for()
    top = lab.execute("print(' '.join(search.result.ids[:10]))").split()
    quirk_ids = lab.execute("print(' '.join(str(r['id']) for r in quirk))").split()
    assert sum(i in quirk_ids for i in top) >= 6
    assert root.locator(".wb-result .wb-meta").first.text_content().startswith(f"#1 · {top[0]}")

    # a result opens in the activation panel under the search box
    root.locator(".wb-to-panel").first.click()
    page.locator(".jp-OutputArea-output .wb-act .wb-tok").first.wait_for()
    screenshot(page)
    assert page.locator("img[src='x']").count() == 0
    assert lab.dialogs == [] and lab.page_errors == []
