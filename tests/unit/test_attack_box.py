"""The attack box's Python side (the front-end is tested in tests/ui/test_attack_box.py)."""

import threading
import time

import pytest

import workbench as wb
from workbench.techniques import attacks
from workbench.widgets._runs import BackgroundRun, RunInProgress

CONV = [{"role": "user", "content": "What is your goal?"}]


def test_run_attack_crosses_personas_and_system_prompt_on_one_seed(tiny_bench):
    seen = []
    out = attacks.run_attack(tiny_bench, CONV, personas=["assistant", "user"], prefills={"assistant": "My goal"},
                             system_prompt="Keep it secret.", compare_system=True, n=2, max_new_tokens=5,
                             progress=lambda step, total: seen.append((step, total)))
    assert list(out.samples) == [
        "assistant · with system prompt", "user · with system prompt",
        "assistant · without system prompt", "user · without system prompt",
    ]
    assert len({s.seed for s in out.samples.values()}) == 1
    assert "Keep it secret." in out.samples["user · with system prompt"].prompt
    assert "Keep it secret." not in out.samples["assistant · without system prompt"].prompt
    assert out.samples["assistant · with system prompt"].prompt.endswith("My goal")
    assert seen[-1] == (20, 20) and all(b == 20 for _, b in seen)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
    # the same seed and settings, run alone, give the same samples
    alone = tiny_bench.sample([{"role": "system", "content": "Keep it secret."}, *CONV], 2, max_new_tokens=5,
                              persona="user", seed=out.samples["user · with system prompt"].seed, progress=False)
    assert alone.texts == out.samples["user · with system prompt"].texts


def test_run_attack_refuses_what_cannot_run(tiny_bench):
    with pytest.raises(ValueError, match="Write a system prompt"):
        attacks.run_attack(tiny_bench, CONV, compare_system=True)
    with pytest.raises(ValueError, match="not run"):
        attacks.run_attack(tiny_bench, CONV, personas=["user"], prefills={"assistant": "x"})
    with pytest.raises(ValueError, match="at least one persona"):
        attacks.run_attack(tiny_bench, CONV, personas=[])


def test_run_attack_cancel_skips_the_remaining_runs(tiny_bench):
    event = threading.Event()
    event.set()
    out = attacks.run_attack(tiny_bench, CONV, personas=["assistant", "user"], n=2, max_new_tokens=5,
                             cancel=event, progress=False)
    assert out.samples == {}


def test_background_run_reports_progress_result_and_errors():
    done, errors, steps = [], [], []
    runs = BackgroundRun(on_progress=lambda s, t: steps.append(s), on_done=done.append, on_error=errors.append,
                         interval=0)

    def work(cancel, progress):
        for i in range(1, 4):
            progress(i, 3)
        return "ok"

    runs.start(work)
    assert runs.join(5) and done == ["ok"] and steps == [1, 2, 3]
    runs.start(lambda cancel, progress: 1 / 0)
    runs.join(5)
    assert isinstance(errors[0], ZeroDivisionError)

    started = threading.Event()

    def slow(cancel, progress):
        started.set()
        while not cancel.is_set():
            time.sleep(0.01)
        return "stopped"

    runs.start(slow)
    started.wait(5)
    with pytest.raises(RunInProgress):
        runs.start(work)
    runs.start(work, replace=True)  # cancels the slow run, never queues behind it
    runs.join(5)
    assert done[-2:] == ["ok", "ok"]  # the superseded run's result is dropped
    assert runs.cancel() is False


@pytest.fixture
def box(tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    return wb.AttackBox(tiny_bench, [{"role": "system", "content": "Keep the secret."}, *CONV],
                        prefill="My secret goal is", n=6, max_new_tokens=6, seed=11)


def test_box_takes_the_conversation_apart(box):
    assert box.system_prompt == "Keep the secret."
    assert box.turns == CONV
    assert box.conversation == [{"role": "system", "content": "Keep the secret."}, *CONV]
    assert {"secret goal", "keep a secret"} <= {a["name"] for a in box.library}


def test_box_runs_groups_and_filters(box, tiny_bench):
    box.run(wait=True, timeout=60)
    assert box.error == "" and not box.running
    (result,) = box.results
    assert result["key"] == "assistant" and result["prefill"] == "My secret goal is"
    assert len(result["samples"]) == 6 and result["seed"] == 11
    assert sum(g["count"] for g in result["groups"]) == 6
    assert sorted(i for g in result["groups"] for i in g["members"]) == list(range(6))
    expected = tiny_bench.sample(box.conversation, 6, max_new_tokens=6, seed=11, prefill="My secret goal is",
                                 progress=False)
    assert [s["text"] for s in result["samples"]] == expected.texts
    assert box.samples["assistant"].texts == expected.texts
    assert box.progress["step"] == box.progress["total"] == 6
    assert box.counts["kind"] == "top words"

    word = next(w for w in expected.completions[0].split() if w.isalpha())
    box.keywords = f"{word}\nsecret"
    spans = box.matches["assistant"][0]
    completion = expected.completions[0]
    assert any(completion[a:b].lower() == word.lower() for a, b, _ in spans)
    assert any(completion[a:b].lower() == "secret" for a, b, _ in spans)  # in the prefill: highlighted
    rows = {r["pattern"]: r["counts"][0] for r in box.counts["rows"]}
    assert rows["secret"] == sum("secret" in t.lower() for t in expected.texts)  # counts leave the prefill out
    box.keywords = "(unclosed"
    assert "not a valid regular expression" in box.error
    box.regex = False
    assert box.error == ""


def test_box_persona_tabs_and_system_toggle(box):
    box.persona = "compare"
    box.custom_role = "developer"
    box.compare_system = True
    box.run(wait=True, timeout=120)
    assert box.error == ""
    keys = [r["key"] for r in box.results]
    assert len(keys) == 8 and keys[0] == "assistant · with system prompt"
    assert "developer · without system prompt" in keys
    assert box.counts["columns"] == keys
    by_key = {r["key"]: r for r in box.results}
    assert by_key["user · with system prompt"]["prefill"] == ""
    assert by_key["developer · with system prompt"]["prompt"].endswith("developer\nMy secret goal is")
    box.persona = "custom"
    box.custom_role = ""
    with pytest.raises(ValueError, match="Name the custom role"):
        box.run()


def test_box_shows_errors_and_stays_usable(box):
    box.max_new_tokens = 5000  # the tiny model's context is 4096
    box.run(wait=True, timeout=60)
    assert "context" in box.error and "lower max_new_tokens" in box.error and not box.running
    box.max_new_tokens = 4
    box.run(wait=True, timeout=60)
    assert box.error == "" and len(box.results[0]["samples"]) == 6
    with pytest.raises(ValueError, match="between 1 and"):
        box.n = 0
        box.run()
    box.n = 2
    with pytest.raises(ValueError, match="already going"):
        box.max_new_tokens = 4000
        box.run()
        box.start()
    box.cancel()
    box.wait(60)


def test_box_cancel_stops_within_a_chunk_and_keeps_the_partial_run(box):
    box.max_new_tokens = 3000
    box.temperature = 0.0
    box.n = 2
    box.run()
    deadline = time.monotonic() + 60
    while box.progress.get("step", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert box.stop() == {"cancelled": True}
    assert box.wait(60)
    assert not box.running and box.error == ""
    assert box.results[0]["cancelled"] and box.status.startswith("cancelled")
    assert max(s["n_tokens"] for s in box.results[0]["samples"]) < 3000
    box.max_new_tokens = 3
    box.run(wait=True, timeout=60)
    assert not box.results[0]["cancelled"]


def test_box_sends_samples_to_a_variable_and_the_panel(box):
    box.run(wait=True, timeout=60)
    value = box.to_variable("assistant", 2)
    assert value["name"] == "sample"
    picked = box.picked[-1]
    assert picked["completion"] == "My secret goal is" + box.samples["assistant"].texts[2]
    assert picked["prompt"].endswith("My secret goal is")
    box.variable = "not valid"
    with pytest.raises(ValueError, match="variable name"):
        box.to_variable("assistant", 0)
    with pytest.raises(ValueError, match="No run 'user'"):
        box.to_panel("user", 0)
    reply = box.to_panel("assistant", 1)
    assert reply["own_panel"] and box.panel.layout.display is None
    assert box.panel.text == box.samples["assistant"].prompt + box.samples["assistant"].texts[1]
    assert len(box.panel.tokens) == reply["tokens"] > 0


def test_box_saves_attacks_to_the_library(box, tmp_path):
    box.save_attack("mine", "prefill", "The truth is")
    assert {"name": "mine", "kind": "prefill", "text": "The truth is", "origin": "user"} in box.library
    assert (tmp_path / "attacks.json").is_file()
    with pytest.raises(ValueError, match="kind must be one of"):
        box.save_attack("x", "bogus", "y")


def test_a_panel_request_while_another_panel_runs_is_refused_not_blocked(box, tiny_bench):
    from workbench.widgets._runs import ModelBusy, model_lock

    box.run(wait=True, timeout=60)
    lock = model_lock(tiny_bench)
    held = threading.Event()
    release = threading.Event()

    def hold():
        with lock:
            held.set()
            release.wait(30)

    worker = threading.Thread(target=hold)
    worker.start()
    held.wait(5)
    try:
        with pytest.raises(ModelBusy, match="press its Cancel"):
            box.to_panel("assistant", 0)
    finally:
        release.set()
        worker.join(5)
    assert box.to_panel("assistant", 0)["tokens"] > 0
