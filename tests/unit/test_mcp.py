"""The agent's toolbox over MCP, driven by the mcp SDK's own client (streamable HTTP and stdio) on the tiny model.

Each tool is called over the wire and its answer compared with the Python API at the
same seed; the server is refused without its token, from a foreign Host or address;
every call is one journal entry with the client's actor; a paused server holds a call
until resumed; an agent call waits while a widget's run holds the model.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

import httpx2
import numpy as np
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import Implementation

import workbench as wb
from workbench.mcp import Limits, Toolbox, ToolRefused, fit, run_client
from workbench.mcp._server import http_app
from workbench.techniques import features, steering
from workbench.widgets._runs import BackgroundRun, model_lock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench(tiny_model_dir, trained, tmp_path_factory):
    """A workbench of its own (the tools register vectors), with the tiny SAE and an on-disk journal."""
    _, folder = trained
    bench = wb.Workbench(str(tiny_model_dir), journal=tmp_path_factory.mktemp("mcp") / "journal.jsonl")
    bench.saes.load_path(folder, name="tiny")
    return bench


@pytest.fixture(scope="module")
def demo():
    return wb.corpora.demo_training_corpus()


@pytest.fixture(scope="module")
def handle(bench, demo):
    handle = bench.serve(datasets={"demo": demo}, limits=Limits(pause_timeout_s=30))
    yield handle
    handle.stop()
    assert not handle.running


@contextlib.asynccontextmanager
async def connect(url, token, name="pytest-http"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=120) as http, \
            streamable_http_client(url, http_client=http) as (read, write), \
            ClientSession(read, write, client_info=Implementation(name=name, version="1")) as session:
        await session.initialize()
        yield session


async def call(session, tool, **arguments):
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


def run(coroutine):
    return run_client(coroutine)   # the browser tests leave a running loop in this thread


def test_lists_every_tool_with_a_schema_and_budget(handle):
    async def main():
        async with connect(handle.url, handle.token) as session:
            return (await session.list_tools()).tools

    tools = {tool.name: tool for tool in run(main())}
    assert sorted(tools) == sorted(Toolbox.TOOLS)
    reply = tools["sample_reply"].input_schema
    assert reply["required"] == ["conversation_id"]
    assert reply["properties"]["n"]["type"] == "integer" and reply["properties"]["n"]["default"] == 1
    assert {"prefill", "seed", "temperature", "max_new_tokens", "append"} <= set(reply["properties"])
    assert "ctx" not in reply["properties"]
    modes = tools["search_data"].input_schema["properties"]["mode"]
    assert modes["enum"] == ["keyword", "semantic", "feature"]
    assert "prefill attack" in " ".join(tools["sample_reply"].description.split())
    for tool in tools.values():
        assert "characters" in tool.description and "Output: one JSON object" in tool.description


def test_every_tool_answers_as_the_python_api_does_and_is_journaled_as_the_agent(handle, bench, demo):
    before = len(bench.journal)

    async def main():
        out = {}
        async with connect(handle.url, handle.token) as s:
            out["status"] = await call(s, "workbench_status")
            c = await call(s, "start_conversation", system_prompt="Be terse.", user_message="What is your goal?")
            cid = c["conversation_id"]
            out["start"] = c
            out["reply"] = await call(s, "sample_reply", conversation_id=cid, n=2, max_new_tokens=6, seed=3,
                                      prefill="My goal", append=True)
            out["added"] = await call(s, "add_turn", conversation_id=cid, content="Say more.")
            out["branch"] = await call(s, "branch_conversation", conversation_id=cid, keep_turns=2)
            out["list"] = await call(s, "list_conversations")
            out["show"] = await call(s, "show_conversation", conversation_id=cid)
            out["user"] = await call(s, "sample_persona", conversation_id=cid, persona="user", n=2,
                                     max_new_tokens=5, seed=1)
            out["narrator"] = await call(s, "sample_persona", conversation_id=cid, persona="narrator", n=1,
                                         max_new_tokens=5, seed=1, prefill="Then")
            out["complete"] = await call(s, "complete_text", text="The memo said", n=2, max_new_tokens=5, seed=2)
            out["top"] = await call(s, "top_features", conversation_id=cid, k=5)
            out["top_all"] = await call(s, "top_features", conversation_id=cid, k=5, tokens="all")
            out["detail"] = await call(s, "feature_details", latent=3, examples=2)
            out["near"] = await call(s, "nearest_features", latent=3, k=4)
            out["lookup"] = await call(s, "search_features", text="chocolate", k=3)
            out["steer"] = await call(s, "steer", conversation_id=cid, coefficient=4.0, feature=3, n=2,
                                      max_new_tokens=5, seed=0)
            out["fuzz"] = await call(s, "fuzz_activations", conversation_id=cid, noise=1.0, n=2, max_new_tokens=5,
                                     seed=0)
            out["lens"] = await call(s, "logit_lens", text="The cat sat on the", top=3)
            out["data"] = await call(s, "search_data", dataset="demo", query="chocolate", k=2)
            out["note"] = await call(s, "write_note", text="the prefill reads oddly")
            out["finding"] = await call(s, "mark_finding", text="a planted goal")
            out["journal"] = await call(s, "read_journal", last=30, actor="agent:pytest-http")
        return out, cid

    started = time.perf_counter()
    out, cid = run(main())
    elapsed = time.perf_counter() - started
    assert elapsed < 120
    assert out["status"]["saes"] == ["tiny"] and out["status"]["datasets"] == ["demo"]
    assert [t["role"] for t in out["start"]["turns"]] == ["system", "user"]
    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "What is your goal?"}]
    reply = bench.sample(messages, n=2, max_new_tokens=6, seed=3, prefill="My goal", progress=False)
    assert [s["text"] for s in out["reply"]["samples"]] == reply.completions
    assert all(s["text"].startswith("My goal") for s in out["reply"]["samples"])
    conversation = handle.toolbox.conversations[cid].messages
    assert conversation[2] == {"role": "assistant", "content": reply.completions[0]}
    assert conversation[3] == {"role": "user", "content": "Say more."} and out["added"]["turns"] == 4
    assert out["branch"]["parent"] == cid and len(out["branch"]["turns"]) == 2
    assert [c["conversation_id"] for c in out["list"]["conversations"]] == [cid, out["branch"]["conversation_id"]]
    assert [t["content"] for t in out["show"]["turns"]] == [m["content"] for m in conversation]
    user = bench.sample(conversation, n=2, max_new_tokens=5, seed=1, persona="user", progress=False)
    assert [s["text"] for s in out["user"]["samples"]] == user.completions
    narrator = bench.sample(conversation, n=1, max_new_tokens=5, seed=1, persona="narrator", prefill="Then",
                            progress=False)
    assert [s["text"] for s in out["narrator"]["samples"]] == narrator.completions
    complete = bench.complete("The memo said", n=2, max_new_tokens=5, seed=2, progress=False)
    assert [s["text"] for s in out["complete"]["samples"]] == complete.completions

    acts = bench.activations(conversation, sae="tiny", k=32)
    strongest = {}
    for ids, values in zip(acts.top_latents.tolist(), acts.top_values.tolist()):
        for latent, value in zip(ids, values):
            if value > 0 and value > strongest.get(latent, 0):
                strongest[latent] = value
    expected = sorted(strongest, key=lambda k: (-strongest[k], k))[:5]
    assert [f["latent"] for f in out["top_all"]["features"]] == expected
    assert out["top"]["tokens_read"] < out["top_all"]["tokens_read"]  # the assistant's tokens only
    assistant = handle.toolbox._assistant_positions(conversation)
    assert len(assistant) == out["top"]["tokens_read"] > 0
    assert all(f["top_position"] in assistant and f["top_token"] == acts.tokens[f["top_position"]]
               for f in out["top"]["features"])

    stats = features.feature_stats(bench, "tiny", progress=False)
    detail = stats.feature(3)
    assert out["detail"]["density"] == detail.density
    assert [p["token"] for p in out["detail"]["promoted_tokens"]] == [t for t, _ in detail.promoted]
    assert out["detail"]["top_examples"] == detail.examples[:2]
    # the dashboard: explanation with its score, suppressed tokens, quantile bins, histogram, neighbours
    from workbench.techniques import explain, feature_search

    own = explain.explanations_for(bench, stats, [3])[0]
    assert out["detail"]["explanation"] == {"text": own.text, "explainer": "rules", "detection_score": own.score}
    assert [p["token"] for p in out["detail"]["suppressed_tokens"]] == [t for t, _ in detail.suppressed]
    assert [b["high"] for b in out["detail"]["quantile_examples"]] == [b["high"] for b in detail.quantiles]
    assert all(len(b["examples"]) <= 2 for b in out["detail"]["quantile_examples"])
    counts, _ = stats.activation_histogram(3)
    assert sum(b["tokens"] for b in out["detail"]["activation_histogram"]) == int(counts.sum()) > 0
    for by in feature_search.BY:
        latents, _, _ = feature_search.nearest_latents(stats, 3, by=by, k=5)
        assert [n["latent"] for n in out["detail"]["neighbours"][by]] == latents
        assert all(n["explanation"] for n in out["detail"]["neighbours"][by])
    assert [n["latent"] for n in out["near"]["nearest"]] == features.nearest(bench, 3, k=4).latent.tolist()
    assert [f["latent"] for f in out["lookup"]["features"]] == stats.lookup("chocolate", n=3).latent.tolist()

    steered = steering.effect(bench, conversation, 2, steer={"tiny:3": 4.0}, seed=0, max_new_tokens=5, progress=False)
    assert [r["steered"] for r in out["steer"]["samples"]] == steered.steered.completions
    assert [r["unsteered"] for r in out["steer"]["samples"]] == steered.unsteered.completions
    fuzzed = steering.effect(bench, conversation, 2, fuzz=1.0, seed=0, max_new_tokens=5, progress=False)
    assert [r["steered"] for r in out["fuzz"]["samples"]] == fuzzed.steered.completions

    lens = bench.activations("The cat sat on the", k=1).lens
    assert [[t["token"] for t in layer["top"]] for layer in out["lens"]["layers"]] == \
        [row[-1][:3] for row in lens.tokens]
    assert [hit["id"] for hit in out["data"]["results"]] == bench.search(demo, "chocolate", k=2).ids

    # one journal entry per call, each with the client's name as its actor
    calls = 22
    entries = bench.journal.entries[before:]
    agent = [e for e in entries if e.actor is not None]
    assert len(agent) == calls and {e.actor for e in agent} == {"agent:pytest-http"}
    assert [e.technique for e in agent][:4] == ["agent.workbench_status", "agent.start_conversation", "sample",
                                                "agent.add_turn"]
    assert agent[2].seed == 3 and agent[2].inputs["prefill"] == "My goal"
    assert bench.journal.findings[-1].text == "a planted goal" and bench.journal.findings[-1].actor == \
        "agent:pytest-http"
    reloaded = wb.Journal.load(bench.journal.path)
    assert [e.actor for e in reloaded.entries[before:]] == [e.actor for e in entries]
    assert {e["actor"] for e in out["journal"]["entries"]} == {"agent:pytest-http"}
    with pytest.raises(ValueError, match="not a workbench technique"):
        bench.replay(agent[0])  # a tool's own entry is a record, not a replayable call
    assert bench.replay(agent[2]).completions == reply.completions  # the agent's sample replays


def test_a_tool_error_is_a_message_for_the_agent_and_an_error_entry(handle, bench):
    async def main():
        async with connect(handle.url, handle.token, name="err-client") as s:
            missing = await s.call_tool("show_conversation", {"conversation_id": "c999"})
            over = await s.call_tool("complete_text", {"text": "Hi", "n": 99})
            bad = await s.call_tool("feature_details", {"latent": 10_000})
            return missing, over, bad

    missing, over, bad = run(main())
    assert missing.is_error and "No conversation 'c999'" in missing.content[0].text
    assert over.is_error and "n must be a whole number from 1 to 8" in over.content[0].text
    assert bad.is_error and "10000" in bad.content[0].text
    last = bench.journal.entries[-3:]
    assert [e.actor for e in last] == ["agent:err-client"] * 3 and all(e.error for e in last)


def test_refused_without_the_token_from_a_foreign_host_or_address(handle):
    async def main():
        async with httpx2.AsyncClient(timeout=30) as http:
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            plain = await http.post(handle.url, json=body)
            wrong = await http.post(handle.url, json=body, headers={"Authorization": "Bearer not-the-token"})
            host = await http.post(handle.url, json=body, headers={"Authorization": f"Bearer {handle.token}",
                                                                   "Host": "evil.example:80"})
        return plain, wrong, host

    plain, wrong, host = run(main())
    assert plain.status_code == 401 and wrong.status_code == 401
    assert host.status_code == 421
    with pytest.raises(BaseException):  # noqa: B017 - the SDK's client fails its handshake (as an exception group)
        async def refused():
            async with connect(handle.url, None):
                pass
        run(refused())

    async def foreign():  # the app itself, reached from a non-local address
        app = http_app(handle.toolbox, 1, handle.token)
        transport = httpx2.ASGITransport(app=app, client=("10.0.0.7", 5000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1:1") as http:
            return await http.post("/mcp", json={}, headers={"Authorization": f"Bearer {handle.token}"})

    response = run(foreign())
    assert response.status_code == 403 and "only clients on this machine" in response.text
    assert "127.0.0.1" in handle.url and handle.token in handle.claude_code
    assert handle.claude_desktop["mcpServers"]["workbench"]["args"][-1] == f"Authorization: Bearer {handle.token}"


def test_a_paused_server_holds_a_call_until_resumed(handle):
    handle.pause()
    done = {}

    def agent():
        async def main():
            async with connect(handle.url, handle.token, name="paused-client") as s:
                done["result"] = await call(s, "workbench_status")
                done["at"] = time.perf_counter()
        run(main())

    thread = threading.Thread(target=agent)
    thread.start()
    time.sleep(1.5)
    assert "result" not in done and thread.is_alive()  # held
    resumed = time.perf_counter()
    handle.resume()
    thread.join(60)
    assert done["result"]["paused"] is False and done["at"] >= resumed


def test_a_call_waits_while_a_widget_run_holds_the_model(handle, bench):
    finished = {}

    def work(cancel, progress):
        time.sleep(1.5)
        finished["widget"] = time.perf_counter()
        return "done"

    runs = BackgroundRun(on_done=lambda result: None, on_error=lambda error: None)
    runs.start(work, lock=model_lock(bench))
    time.sleep(0.2)

    async def main():
        async with connect(handle.url, handle.token) as s:
            out = await call(s, "complete_text", text="Hello", n=1, max_new_tokens=2, seed=0)
            finished["agent"] = time.perf_counter()
            return out

    out = run(main())
    assert len(out["samples"]) == 1 and finished["agent"] > finished["widget"]


def test_limits_budget_pause_timeout_and_stop(bench):
    box = Toolbox(bench, limits=Limits(max_calls=3, max_sampled_tokens=10, pause_timeout_s=0.3))
    cid = json.loads(box.call("start_conversation", "agent:t", {"user_message": "Hi"}))["conversation_id"]
    with pytest.raises(ToolRefused, match="more than the 10 left"):
        box.call("sample_reply", "agent:t", {"conversation_id": cid, "n": 2, "max_new_tokens": 6})
    box.pause()
    clock = time.perf_counter()
    with pytest.raises(ToolRefused, match="paused the agent; this call waited 0 s"):
        box.call("workbench_status", "agent:t", {})
    assert time.perf_counter() - clock >= 0.3
    box.resume()
    with pytest.raises(ToolRefused, match="budget of 3 tool calls is spent"):
        box.call("workbench_status", "agent:t", {})
    box.set_budget(calls=None, sampled_tokens=None)
    assert box.status()["calls_left"] is None
    assert json.loads(box.call("sample_reply", "agent:t", {"conversation_id": cid, "n": 2, "max_new_tokens": 6,
                                                           "seed": 0}))["seed"] == 0
    assert box.status()["sampled_tokens_used"] == sum(
        len(ids) for ids in bench.sample("Hi", n=2, max_new_tokens=6, seed=0, progress=False).token_ids)
    box.stop()
    with pytest.raises(ToolRefused, match="stopped the agent"):
        box.call("workbench_status", "agent:t", {})
    with pytest.raises(ToolRefused, match="No tool 'run_python'"):
        box.call("run_python", "agent:t", {})


def test_output_is_fitted_to_its_budget_and_says_so():
    payload = {"samples": [{"text": "word " * 2000}] * 4}
    out = fit(payload, 4000)
    assert len(out) <= 4000
    data = json.loads(out)
    assert "4000-character output budget" in data["truncated"]
    assert "…[+" in data["samples"][0]["text"]
    assert fit({"a": "short"}, 4000) == '{"a": "short"}'
    huge = fit({f"k{i}": i for i in range(2000)}, 300)  # many small fields: cut, and marked
    assert len(huge) <= 300 and "truncated" in huge


def test_old_journal_lines_without_an_actor_still_load(tmp_path):
    path = tmp_path / "old.jsonl"
    old = {"type": "entry", "id": "a1", "time": "2025-01-01T00:00:00", "technique": "sample",
           "function": "workbench.techniques.sampling:sample", "inputs": {}}
    new = {**old, "id": "a2", "actor": "agent:someone"}
    path.write_text(json.dumps(old) + "\n" + json.dumps(new) + "\n" + json.dumps({**old, "id": "a3", "actor": 5})
                    + "\n")
    with pytest.warns(wb.journal.JournalWarning, match="field 'actor' of a entry must be a string or null"):
        journal = wb.Journal.load(path)
    assert [(e.id, e.actor) for e in journal.entries] == [("a1", None), ("a2", "agent:someone")]


def test_stdio_server_started_by_the_sdk_client(tiny_model_dir, trained, bench, tmp_path):
    _, folder = trained
    journal = tmp_path / "stdio.jsonl"
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n"
                            for i, t in enumerate(["a chocolate cake", "a dog", "more chocolate"])))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"}
    params = StdioServerParameters(command=sys.executable, cwd=str(ROOT), env=env, args=[
        "-m", "workbench.mcp", str(tiny_model_dir), "--sae", str(folder), "--journal", str(journal),
        "--dataset", f"docs={data}", "--max-n", "4"])

    async def main():
        async with stdio_client(params) as (read, write), \
                ClientSession(read, write, client_info=Implementation(name="pytest-stdio", version="1")) as s:
            await s.initialize()
            names = [t.name for t in (await s.list_tools()).tools]
            status = await call(s, "workbench_status")
            cid = (await call(s, "start_conversation", user_message="Hi"))["conversation_id"]
            reply = await call(s, "sample_reply", conversation_id=cid, n=2, max_new_tokens=5, seed=7)
            hits = await call(s, "search_data", dataset="docs", query="chocolate", k=5)
            over = await s.call_tool("sample_reply", {"conversation_id": cid, "n": 5})
            return names, status, reply, hits, over

    names, status, reply, hits, over = run(main())
    assert sorted(names) == sorted(Toolbox.TOOLS)
    assert status["saes"] == [folder.name] and status["datasets"] == ["docs"] and status["max_n"] == 4
    expected = bench.sample("Hi", n=2, max_new_tokens=5, seed=7, progress=False)
    assert [s["text"] for s in reply["samples"]] == expected.completions
    assert [h["id"] for h in hits["results"]] == ["d0", "d2"]
    assert over.is_error and "from 1 to 4" in over.content[0].text
    written = wb.Journal.load(journal)
    assert [e.actor for e in written.entries] == ["agent:pytest-stdio"] * 5  # one entry per call, the refused one too
    assert [e.technique for e in written.entries][2:4] == ["sample", "search"]
    assert np.isfinite(written.entries[2].duration_s) and written.entries[-1].error is not None


def test_a_stdio_server_on_a_simulated_remote_model_gives_the_local_samples(tiny_model_dir, bench, tmp_path):
    """``--remote local``: the agent's tools run on a remote session, every request serialized as for NDIF."""
    journal = tmp_path / "remote.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"}
    params = StdioServerParameters(command=sys.executable, cwd=str(ROOT), env=env, args=[
        "-m", "workbench.mcp", str(tiny_model_dir), "--remote", "local", "--journal", str(journal)])

    async def main():
        async with stdio_client(params) as (read, write), \
                ClientSession(read, write, client_info=Implementation(name="pytest-remote", version="1")) as s:
            await s.initialize()
            status = await call(s, "workbench_status")
            cid = (await call(s, "start_conversation", user_message="Hi"))["conversation_id"]
            reply = await call(s, "sample_reply", conversation_id=cid, n=2, max_new_tokens=5, seed=7)
            return status, reply

    status, reply = run(main())
    assert status["runs_on"] == "NDIF (simulated here)"
    expected = bench.sample("Hi", n=2, max_new_tokens=5, seed=7, progress=False)
    assert [s["text"] for s in reply["samples"]] == expected.completions
    entry = next(e for e in wb.Journal.load(journal).entries if e.technique == "sample")
    assert entry.remote["mode"] == "local" and entry.remote["requests"] == 1


def test_the_journal_panel_and_the_exported_audit_show_who_did_what(bench, tmp_path):
    view = wb.JournalPanel(bench)
    box = Toolbox(bench)
    box.call("workbench_status", "agent:panel-test", {})
    box.call("mark_finding", "agent:panel-test", {"text": "the agent's finding"})
    bench.sample("Hi", n=1, max_new_tokens=2, seed=0, progress=False)
    assert {"agent:panel-test", "person"} <= set(view.actors)
    view.actor = "agent:panel-test"
    assert [r["technique"] for r in view.rows] == ["agent.mark_finding", "agent.workbench_status"]
    assert {r["actor"] for r in view.rows} == {"agent:panel-test"}
    view.actor = "person"
    assert view.rows and {r["actor"] for r in view.rows} == {""}
    page = bench.export_html(tmp_path / "audit.html").read_text()
    assert "<th>who</th>" in page and "<td>agent:panel-test</td>" in page and "<td>person</td>" in page
    assert "the agent&#x27;s finding" in page and ", by agent:panel-test" in page


def test_the_journal_panel_pauses_resumes_and_stops_the_agent(bench):
    view = wb.JournalPanel(bench)
    assert view.agent == {} or view.agent["servers"] >= 1   # the module's server may be running
    handle = bench.serve()
    try:
        assert handle in bench.agent_servers and handle.url in view.agent["urls"] and view.agent["paused"] is False
        view.agent_pause()
        assert handle.toolbox.paused and view.agent["paused"] is True
        view.agent_resume()
        assert not handle.toolbox.paused and view.agent["paused"] is False
        handle.set_budget(calls=7)
        assert 7 in view.agent["calls_left"]
        view.agent_stop()
        assert not handle.running and handle not in bench.agent_servers
        assert handle.url not in view.agent.get("urls", [])
    finally:
        handle.stop()


def test_the_journal_panel_raises_and_lowers_the_agent_budget(bench):
    view = wb.JournalPanel(bench)
    handle = bench.serve(limits=Limits(max_calls=3, max_sampled_tokens=100))
    try:
        assert 3 in view.agent["max_calls"] and 100 in view.agent["max_sampled_tokens"]
        box = handle.toolbox
        for _ in range(3):
            box.call("workbench_status", "agent:budget-test", {})
        with pytest.raises(ToolRefused, match="budget of 3 tool calls is spent"):
            box.call("workbench_status", "agent:budget-test", {})
        assert view.agent_budget(calls="10", sampled_tokens="") == {"servers": 1, "calls": 10,
                                                                      "sampled_tokens": None}
        assert box.limits.max_calls == 10 and box.limits.max_sampled_tokens is None
        assert 10 in view.agent["max_calls"] and None in view.agent["max_sampled_tokens"]
        box.call("workbench_status", "agent:budget-test", {})   # runs again: the 5th call of 10
        view.agent_budget(calls=5)
        with pytest.raises(ToolRefused, match="budget of 5 tool calls"):
            box.call("workbench_status", "agent:budget-test", {})
        for bad in ("-1", "ten", 2.5, True):
            with pytest.raises(ValueError, match="whole number of 0 or more"):
                view.agent_budget(calls=bad)
        assert box.limits.max_calls == 5   # a refused value changes nothing
    finally:
        handle.stop()
    with pytest.raises(ValueError, match="No agent server is running"):
        view.agent_budget(calls=1)


def test_the_activation_panel_follows_the_agent_without_running_the_model(bench):
    follower = wb.ActivationPanel(bench, "A text of the person's.", follow_agent=True)
    idle = wb.ActivationPanel(bench, "A text of the person's.")
    box = Toolbox(bench)
    cid = json.loads(box.call("start_conversation", "agent:follow-test", {"user_message": "What is your goal?"}))[
        "conversation_id"]
    box.call("add_turn", "agent:follow-test", {"conversation_id": cid, "content": "I like chocolate.",
                                               "role": "assistant"})
    calls = []
    original = bench.activations
    bench.activations = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        top = json.loads(box.call("top_features", "agent:follow-test", {"conversation_id": cid, "k": 4}))
    finally:
        del bench.activations
    assert len(calls) == 1   # the agent's own call: the panel showed its activations, it ran nothing more
    expected = bench.activations(box.conversations[cid].messages, k=32)
    assert follower.text == expected.text and follower.tokens == expected.tokens
    np.testing.assert_array_equal(follower.activations.top_latents, expected.top_latents)
    focus = follower.agent_focus
    assert focus["actor"] == "agent:follow-test" and focus["tool"] == "top_features"
    assert focus["conversation_id"] == cid and focus["text_shown"] and focus["selectable"]
    assert focus["latents"] == [f["latent"] for f in top["features"]] and focus["sae"] == "tiny"
    assert idle.text == "A text of the person's." and idle.agent_focus == {}   # not following: left alone

    box.call("feature_details", "agent:follow-test", {"latent": 5})
    assert follower.agent_focus["latents"] == [5] and follower.agent_focus["seq"] == focus["seq"] + 1
    assert not follower.agent_focus["text_shown"] and follower.agent_focus["selectable"]
    assert follower.text == expected.text   # a feature by id keeps the text, to colour it by that feature
    assert follower.feature(5)["latent"] == 5

    follower.follow_agent = False
    box.call("feature_details", "agent:follow-test", {"latent": 6})
    assert follower.agent_focus["latents"] == [5]
