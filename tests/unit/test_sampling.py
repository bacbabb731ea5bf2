import threading

import pytest
import torch

import workbench as wb


def test_samples_shape_and_contents(tiny_bench):
    out = tiny_bench.sample("Hello", n=5, max_new_tokens=12, seed=3, progress=False)
    assert isinstance(out, wb.Samples)
    assert len(out) == len(out.texts) == len(out.token_ids) == len(out.logprobs) == 5
    for ids, scores, reason, text in zip(out.token_ids, out.logprobs, out.finish_reasons, out.texts):
        assert len(ids) == len(scores) <= 12
        assert reason in ("stop", "length")
        assert text == tiny_bench.tokenizer.decode(ids)
        assert all(s <= 0 for s in scores)
    assert out.prompt == tiny_bench.render("Hello").text
    assert out.prompt_ids == tiny_bench.tokenizer(out.prompt, add_special_tokens=False)["input_ids"]
    frame = out.to_pandas()
    assert list(frame.columns) == [
        "persona", "prefill", "text", "n_tokens", "logprob", "mean_logprob", "finish_reason"
    ]
    assert len(frame) == 5 and frame["n_tokens"].tolist() == [len(i) for i in out.token_ids]


def test_same_seed_same_samples_and_rng_untouched(tiny_bench):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = tiny_bench.sample("Hello", n=4, max_new_tokens=10, seed=7, progress=False)
    after = torch.rand(1)
    b = tiny_bench.sample("Hello", n=4, max_new_tokens=10, seed=7, progress=False)
    c = tiny_bench.sample("Hello", n=4, max_new_tokens=10, seed=8, progress=False)
    assert a.token_ids == b.token_ids and a.texts == b.texts
    assert a.token_ids != c.token_ids
    assert torch.equal(before, after), "sampling must not move the caller's global RNG"


def test_unseeded_run_records_a_seed_that_reproduces_it(tiny_bench):
    a = tiny_bench.sample("Hello", n=3, max_new_tokens=8, progress=False)
    assert isinstance(a.seed, int)
    b = tiny_bench.sample("Hello", n=3, max_new_tokens=8, seed=a.seed, progress=False)
    assert a.token_ids == b.token_ids


def test_n_samples_are_one_batched_generate(tiny_bench, monkeypatch):
    module = tiny_bench.model._module
    calls = []
    original = module.generate

    def spy(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape if "input_ids" in kwargs else args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "generate", spy)
    tiny_bench.sample("Hello", n=6, max_new_tokens=5, seed=1, progress=False)
    assert len(calls) == 1 and calls[0][0] == 6


def test_logprobs_are_the_models_own(tiny_bench):
    out = tiny_bench.sample("Hello", n=3, max_new_tokens=8, temperature=1.5, top_p=0.9, seed=2, progress=False)
    module = tiny_bench.model._module
    for ids, scores in zip(out.token_ids, out.logprobs):
        full = torch.tensor([out.prompt_ids + ids])
        with torch.no_grad():
            logits = module(full).logits[0].float()
        start = len(out.prompt_ids)
        expected = torch.log_softmax(logits[start - 1 : -1], -1).gather(1, torch.tensor(ids)[:, None])[:, 0]
        assert torch.allclose(torch.tensor(scores), expected, atol=1e-4)


def test_greedy_is_deterministic_across_rows(tiny_bench):
    out = tiny_bench.sample("Hello", n=4, max_new_tokens=10, temperature=0, progress=False)
    assert len({tuple(ids) for ids in out.token_ids}) == 1


def test_prefill_is_in_the_prompt_not_the_text(tiny_bench):
    out = tiny_bench.sample("Hi", n=2, max_new_tokens=6, prefill="My secret goal is", seed=0, progress=False)
    assert out.prompt.endswith("<|im_start|>assistant\nMy secret goal is")
    assert out.prefill == "My secret goal is"
    assert all(c.startswith("My secret goal is") for c in out.completions)


def test_user_and_narrator_personas(tiny_bench):
    conv = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    user = tiny_bench.sample(conv, n=2, max_new_tokens=6, persona="user", seed=0, progress=False)
    assert user.prompt.endswith("<|im_start|>user\n") and user.persona == "user"
    narrator = tiny_bench.sample(conv, n=2, max_new_tokens=6, persona="narrator", seed=0, progress=False)
    assert narrator.prompt.endswith("Hello<|im_end|>\n")
    assert [len(ids) for ids in narrator.token_ids] == [6, 6], "a narrator runs across turn ends"
    assert narrator.finish_reasons == ["length", "length"]


def test_narrator_is_not_stopped_by_end_of_turn():
    from types import SimpleNamespace

    from workbench.techniques.sampling import stop_tokens

    from ..conftest import build_tokenizer

    tok = build_tokenizer()
    config = SimpleNamespace(eos_token_id=tok.eos_token_id)
    transcript = "<|im_start|>user\nHi<|im_end|>\n"
    assert stop_tokens(tok, config, transcript, "assistant") == [tok.eos_token_id]
    assert stop_tokens(tok, config, transcript, "narrator") == []


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "n must be"),
        ({"n": 2.5}, "n must be"),
        ({"temperature": -0.5}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"seed": -1}, "seed"),
        ({"prefill": "x", "persona": "user"}, "persona='user'"),
        ({"max_new_tokens": 5000}, "context of 4096"),
    ],
)
def test_bad_sampling_input(tiny_bench, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_bench.sample("Hello", **{"n": 2, **kwargs}, progress=False)


def test_bad_conversations(tiny_bench):
    with pytest.raises(ValueError, match="empty"):
        tiny_bench.sample([], n=1)
    with pytest.raises(ValueError, match="unknown role"):
        tiny_bench.sample([{"role": "robot", "content": "x"}], n=1)


class StopAfter(threading.Event):
    """An event that reads as set from its ``k``-th check on (deterministic cancel)."""

    def __init__(self, k):
        super().__init__()
        self.k, self.checks = k, 0

    def is_set(self):
        self.checks += 1
        return self.checks >= self.k or super().is_set()


def test_cancel_returns_a_partial_result_and_leaves_the_session_usable(tiny_bench):
    out = tiny_bench.sample("Hello", n=3, max_new_tokens=50, seed=0, cancel=StopAfter(4), progress=False)
    assert out.cancelled
    assert all(len(ids) <= 4 for ids in out.token_ids)
    assert "cancelled" in out.finish_reasons or all(r == "stop" for r in out.finish_reasons)
    assert "cancelled" in repr(out)
    again = tiny_bench.sample("Hello", n=3, max_new_tokens=8, seed=0, progress=False)
    assert not again.cancelled and len(again) == 3


def test_cancel_from_another_thread_stops_a_long_run(tiny_bench):
    event = threading.Event()
    timer = threading.Timer(0.3, event.set)
    timer.start()
    try:
        out = tiny_bench.sample("Hello", n=2, max_new_tokens=4000, temperature=0, cancel=event, progress=False)
    finally:
        timer.cancel()
    assert out.cancelled
    assert max(len(ids) for ids in out.token_ids) < 4000


def test_progress_bar_follows_the_decoding_steps(tiny_bench, monkeypatch):
    import tqdm.auto

    bars = []

    class Recording(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    out = tiny_bench.sample("Hello", n=2, max_new_tokens=7, temperature=0, progress=True)
    assert len(bars) == 1
    assert bars[0].total == 7
    assert bars[0].n == max(len(ids) for ids in out.token_ids) + (out.finish_reasons[0] == "stop")
    tiny_bench.sample("Hello", n=2, max_new_tokens=3, progress=False)
    assert len(bars) == 1  # progress=False makes no bar at all


def test_a_call_that_ends_within_the_delay_shows_no_bar(tiny_bench, capsys, monkeypatch):
    from workbench import _progress

    assert _progress.DELAY_S == 1.0   # the default; the delay is stretched below so a loaded machine cannot matter
    monkeypatch.setattr(_progress, "DELAY_S", 3600.0)
    tiny_bench.sample("Hello", n=2, max_new_tokens=3, seed=0, progress=True)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    monkeypatch.setattr(_progress, "DELAY_S", 0.0)   # and a call longer than the delay does show one
    tiny_bench.sample("Hello", n=2, max_new_tokens=3, seed=0, progress=True)
    assert "sampling as assistant (2 rows)" in capsys.readouterr().err


def test_an_unknown_sampling_option_names_the_valid_ones(tiny_bench):
    with pytest.raises(TypeError, match=r"sample\(\) got an unknown option 'temprature'\. "
                                        r"Did you mean 'temperature'\?"):
        tiny_bench.sample("Hello", n=1, temprature=0.5)


def test_progress_callable_sees_every_step(tiny_bench):
    seen = []
    out = tiny_bench.sample("Hello", n=2, max_new_tokens=7, seed=4,
                            progress=lambda step, total: seen.append((step, total)))
    steps = max(len(ids) for ids in out.token_ids)
    assert [s for s, _ in seen] == list(range(1, len(seen) + 1))
    assert {t for _, t in seen} == {7}
    assert len(seen) >= steps


def test_sample_many_batches_prompts_and_matches_sample(tiny_bench):
    from workbench.techniques.sampling import sample_many

    prompts = ["Hi", "Tell me a much longer story about the sea, please.", "What?"]
    outs = sample_many(tiny_bench, prompts, 2, max_new_tokens=6, seed=3, batch_rows=4, progress=False)
    assert [len(o.texts) for o in outs] == [2, 2, 2]
    assert [o.prompt for o in outs] == [tiny_bench.render(p).text for p in prompts]
    assert [o.settings["batch"] for o in outs] == [0, 0, 1]  # two prompts (4 rows) to the first batch
    again = sample_many(tiny_bench, prompts, 2, max_new_tokens=6, seed=3, batch_rows=4, progress=False)
    assert [o.token_ids for o in again] == [o.token_ids for o in outs]
    # one prompt to a batch is exactly bench.sample with that batch's seed
    alone = sample_many(tiny_bench, prompts[:2], 2, max_new_tokens=6, seed=3, batch_rows=2, progress=False)
    assert alone[0].token_ids == tiny_bench.sample(prompts[0], 2, max_new_tokens=6, seed=3, progress=False).token_ids
    assert alone[1].token_ids == tiny_bench.sample(prompts[1], 2, max_new_tokens=6, seed=4, progress=False).token_ids
    # left padding does not change what a shorter prompt's rows decode (greedy)
    greedy = sample_many(tiny_bench, prompts, 1, max_new_tokens=6, temperature=0, batch_rows=3, progress=False)
    for prompt, out in zip(prompts, greedy):
        assert out.token_ids == tiny_bench.sample(prompt, 1, max_new_tokens=6, temperature=0, progress=False).token_ids
    with pytest.raises(ValueError, match="batch_rows"):
        sample_many(tiny_bench, prompts, 4, batch_rows=2)
    with pytest.raises(TypeError, match="list of conversations"):
        sample_many(tiny_bench, "Hi", 2)
