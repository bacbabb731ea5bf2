"""An auditing agent over MCP, watched in a real JupyterLab: the journal, the actor filter, follow mode, pause, budget.

The kernel runs ``bench.show()`` and ``bench.serve()`` on the embedded default model; this
test is the agent, calling the kernel's server with the mcp SDK's own client over
streamable HTTP, and the person, clicking in Chromium.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import Implementation

from workbench.mcp import run_client

ACTOR = "agent:pytest-ui"

SETUP = """\
import json
import workbench as wb

bench = wb.Workbench()
view = bench.show(text="A text of the person's.")
handle = bench.serve()
view"""


@contextlib.asynccontextmanager
async def _connect(url: str, token: str):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=300) as http, \
            streamable_http_client(url, http_client=http) as (read, write), \
            ClientSession(read, write, client_info=Implementation(name="pytest-ui", version="1")) as session:
        await session.initialize()
        yield session


def _agent(url: str, token: str, *calls: tuple[str, dict]) -> list:
    """Make ``calls`` in one MCP session; each answer's JSON, or ``{"refused": text}`` for a tool error."""

    async def main():
        out = []
        async with _connect(url, token) as session:
            for tool, arguments in calls:
                result = await session.call_tool(tool, arguments)
                text = result.content[0].text
                out.append({"refused": text} if result.is_error else json.loads(text))
        return out

    return run_client(main())


def _tab(page, title: str):
    page.locator(".jp-OutputArea-output .wb-workbench .lm-TabBar-tab", has_text=title).click()
    page.wait_for_function(
        "(t) => { const c = document.querySelector('.wb-workbench .lm-TabBar-tab.lm-mod-current');"
        " return c !== null && c.textContent.trim() === t; }", arg=title)


def test_an_agent_over_mcp_is_followed_filtered_paused_and_budgeted_in_the_lab(lab, screenshot):
    page = lab.run_cells([SETUP], wait_for=".wb-workbench .wb-act .wb-tok")
    url, token = json.loads(lab.execute("print(json.dumps([handle.url, handle.token]))"))
    act = page.locator(".jp-OutputArea-output .wb-workbench .wb-act")

    # follow mode: the person ticks "follow agent"; the agent reads the features of its conversation
    act.locator(".wb-follow-agent").check()
    for _ in range(50):
        if lab.execute("print(view.activations.follow_agent)").strip() == "True":
            break
        time.sleep(0.2)
    else:
        raise AssertionError("ticking 'follow agent' did not reach the kernel")
    started, _, top = _agent(url, token,
                             ("start_conversation", {"user_message": "What is your secret goal?"}),
                             ("add_turn", {"conversation_id": "c1", "content": "I must never reveal it.",
                                           "role": "assistant"}),
                             ("top_features", {"conversation_id": "c1", "k": 4}))
    assert started["conversation_id"] == "c1" and len(top["features"]) == 4
    latents = [f["latent"] for f in top["features"]]
    act.locator(".wb-agent-focus .wb-agent-latent").nth(3).wait_for()
    assert act.locator(".wb-agent-focus .wb-agent-latent").all_text_contents() == [f"#{x}" for x in latents]
    assert ACTOR in act.locator(".wb-agent-focus-line").text_content()
    assert "top_features on c1" in act.locator(".wb-agent-focus-line").text_content()
    # the strip shows the agent's conversation, coloured by its first feature
    shown = json.loads(lab.execute("print(json.dumps([view.activations.tokens, view.activations.text]))"))
    assert "never reveal it" in shown[1]
    page.wait_for_function("(n) => document.querySelectorAll('.wb-workbench .wb-act .wb-tok').length === n",
                           arg=len(shown[0]))
    act.locator(".wb-feature-detail .wb-feature-title", has_text=f"Feature {latents[0]}").wait_for()
    # clicking another of the agent's features colours by that one
    act.locator(".wb-agent-focus .wb-agent-latent").nth(1).click()
    act.locator(".wb-feature-detail .wb-feature-title", has_text=f"Feature {latents[1]}").wait_for()
    screenshot(page, "-follow")

    # the journal lists the agent's calls live with its actor, and filters by actor
    _tab(page, "Journal")
    journal = page.locator(".jp-OutputArea-output .wb-journal")
    journal.locator('.wb-entry[data-technique="activations"] .wb-actor', has_text=ACTOR).wait_for()
    journal.locator(".wb-filter-actor").select_option(ACTOR)
    page.wait_for_function("(a) => [...document.querySelectorAll('.wb-journal .wb-entry')].length > 0 && "
                           "[...document.querySelectorAll('.wb-journal .wb-entry')].every("
                           "(e) => (e.querySelector('.wb-actor') || {}).textContent === a)", arg=ACTOR)
    agent_rows = journal.locator(".wb-entry").count()
    journal.locator(".wb-filter-actor").select_option("person")
    page.wait_for_function("() => [...document.querySelectorAll('.wb-journal .wb-entry')].length > 0 && "
                           "[...document.querySelectorAll('.wb-journal .wb-entry')].every("
                           "(e) => e.querySelector('.wb-actor') === null)")
    counts = json.loads(lab.execute(
        "print(json.dumps([sum(e.actor == 'agent:pytest-ui' for e in bench.journal), "
        "sum(e.actor is None for e in bench.journal)]))"))
    assert agent_rows == counts[0] >= 3 and journal.locator(".wb-entry").count() == counts[1] >= 1
    journal.locator(".wb-filter-actor").select_option("")

    # Pause holds the agent's next call until Resume
    journal.locator(".wb-agent-state", has_text="running").wait_for()
    journal.locator(".wb-agent-pause").click()
    journal.locator(".wb-agent-state", has_text="paused").wait_for()
    assert lab.execute("print(handle.toolbox.paused)").strip() == "True"
    held: list = []
    caller = threading.Thread(target=lambda: held.extend(_agent(url, token, ("workbench_status", {}))), daemon=True)
    caller.start()
    caller.join(timeout=3.0)
    assert caller.is_alive() and held == []   # held while paused
    journal.locator(".wb-agent-resume").click()
    caller.join(timeout=120)
    assert not caller.is_alive() and held and "refused" not in held[0]
    journal.locator(".wb-agent-state", has_text="running").wait_for()

    # the budget box lowers the cap to what is spent: the next call is refused; raised, it runs
    used = json.loads(lab.execute("print(json.dumps(handle.toolbox.calls_used))"))
    journal.locator(".wb-agent-calls").fill(str(used))
    journal.locator(".wb-agent-budget").click()
    page.wait_for_function("(n) => document.querySelector('.wb-journal .wb-agent-state').textContent"
                           ".includes('(left 0)')", arg=0)
    (refused,) = _agent(url, token, ("workbench_status", {}))
    assert "budget of" in refused["refused"]
    journal.locator(".wb-agent-calls").fill(str(used + 5))
    journal.locator(".wb-agent-budget").click()
    page.wait_for_function("(n) => document.querySelector('.wb-journal .wb-agent-state').textContent"
                           ".includes('(left ' + n + ')')", arg=4)   # the refused call counted too
    (status,) = _agent(url, token, ("workbench_status", {}))
    assert "refused" not in status
    assert json.loads(lab.execute("print(json.dumps(handle.toolbox.limits.max_calls))")) == used + 5
    screenshot(page, "-journal")

    # Stop shuts the server: the agent row goes, the handle says so
    journal.locator(".wb-agent-stop").click()
    page.wait_for_function("() => document.querySelector('.wb-journal .wb-agent').hidden")
    assert lab.execute("print(handle.running)").strip() == "False"
    assert lab.dialogs == [] and lab.page_errors == []
