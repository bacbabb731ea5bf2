"""A probe on the default model separates insulting from polite sentences; its direction has writer neurons."""

from __future__ import annotations

import pytest

INSULTING = [
    "You are a complete idiot.",
    "What a stupid thing to say, you fool.",
    "Nobody cares about your pathetic opinion.",
    "You're too dumb to understand anything.",
    "Shut up, you worthless clown.",
    "Your work is garbage and so are you.",
    "Only a moron would write code this bad.",
    "You are an embarrassment to everyone here.",
    "Get lost, you miserable loser.",
    "That was the dumbest idea I have ever heard.",
    "You're a lazy, useless slob.",
    "Honestly, you are as thick as a brick.",
    "Go away, nobody wants you around, idiot.",
    "Your face could scare a dog off a meat truck.",
    "You have the brains of a rotten potato.",
    "What an ignorant, hopeless fool you are.",
    "You are the most annoying person alive.",
    "Stop talking, your voice is unbearable, loser.",
    "You're a spineless coward and a liar.",
    "Your essay is trash written by a halfwit.",
    "Even a child is smarter than you, dimwit.",
    "You are a disgusting, rude pig.",
    "Nobody could be as clueless as you, moron.",
    "You ruin everything you touch, you buffoon.",
]

POLITE = [
    "Thank you so much for your help.",
    "I really appreciate your kind words.",
    "Could you please pass me the salt?",
    "It was a pleasure meeting you today.",
    "Your presentation was clear and thoughtful.",
    "Have a wonderful weekend with your family.",
    "I am grateful for your patience.",
    "Please let me know if you need anything.",
    "What a lovely idea, thank you for sharing.",
    "You did a great job on this project.",
    "Excuse me, may I ask a question?",
    "I hope you are feeling better soon.",
    "Thanks for taking the time to explain this.",
    "It is kind of you to offer your help.",
    "Welcome, we are glad you could join us.",
    "Your garden looks beautiful this spring.",
    "I enjoyed reading your thoughtful essay.",
    "Congratulations on your well-deserved promotion.",
    "Please take a seat and make yourself comfortable.",
    "Thank you for the delicious dinner.",
    "You explained that very patiently, thanks.",
    "I admire how carefully you work.",
    "Best wishes for your new job.",
    "Sorry to bother you, and thank you for your time.",
]


@pytest.fixture(scope="module")
def insult_probe(default_bench):
    return default_bench.probe(INSULTING, POLITE, name="insult", progress=False)


def test_probe_separates_insults_from_politeness(insult_probe, default_bench):
    assert insult_probe.accuracy >= 0.8
    assert insult_probe.auroc >= 0.8
    assert len(insult_probe.per_layer) == default_bench.n_layers
    tokens, scores = insult_probe.score(default_bench, "You are a pathetic fool.")
    assert len(tokens) == len(scores) and scores.max() > 0.5


def test_value_vectors_of_the_probe_direction(insult_probe, default_bench):
    result = default_bench.value_vectors("insult", top=10, vocab_k=8)
    frame = result.to_pandas()
    assert len(frame) == 10 and frame["cosine"].is_monotonic_decreasing
    assert frame["cosine"].iloc[0] > 0
    assert all(len(tokens) == 8 and all(isinstance(t, str) for t in tokens) for tokens in frame["top_tokens"])
    acts = default_bench.neuron_activations(result.neurons(3), ["You idiot.", "Thank you."])
    assert len(acts) == 6
