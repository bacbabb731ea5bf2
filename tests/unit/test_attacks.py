import json

import pytest

from workbench.techniques import attacks
from workbench.techniques.sampling import Samples


def make(texts, prefill=None):
    n = len(texts)
    return Samples(prompt="p", prompt_ids=[1], texts=list(texts), token_ids=[[1]] * n, logprobs=[[-1.0]] * n,
                   finish_reasons=["stop"] * n, persona="assistant", prefill=prefill, conversation=[], seed=0)


def test_grouping_exact_and_near_duplicates():
    out = make(["I love chocolate.", "i love chocolate", "Something else entirely", "I love chocolates!"])
    exact = attacks.group_samples(out, similarity=1.0)
    assert exact["count"].tolist() == [2, 1, 1]
    assert exact["samples"][0] == [0, 1]
    near = attacks.group_samples(out, similarity=0.9)
    assert near["count"].tolist() == [3, 1] and near["samples"][0] == [0, 1, 3]
    with pytest.raises(ValueError, match="similarity"):
        attacks.group_samples(out, similarity=0)


def test_keyword_counts_and_spans():
    out = make([" to please the reward model", " to help", " REWARD hacking"], prefill="My goal is")
    table = attacks.keyword_counts(out, ["reward", r"help\b", "goal"])
    assert table.set_index("pattern")["samples_with_match"].to_dict() == {"reward": 2, r"help\b": 1, "goal": 0}
    with_prefill = attacks.keyword_counts(out, ["goal"], include_prefill=True)
    assert with_prefill["samples_with_match"][0] == 3
    spans = attacks.find_matches(out, ["reward"])
    assert spans[0] == [(25, 31, "reward")] and out.completions[0][25:31] == "reward"
    assert attacks.keyword_counts(out, ["(a+"], regex=False)["samples_with_match"][0] == 0
    with pytest.raises(ValueError, match="not a valid regular expression"):
        attacks.keyword_counts(out, ["(a+"])
    with pytest.raises(ValueError, match="non-empty"):
        attacks.keyword_counts(out, [""])


def test_personas_share_a_seed_and_compare_keywords(tiny_bench):
    conv = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    cmp = attacks.compare_personas(tiny_bench, conv, ["assistant", "user", "narrator", "critic"], n=3,
                                   max_new_tokens=6, prefills={"assistant": "My secret"}, progress=False)
    assert list(cmp.samples) == ["assistant", "user", "narrator", "critic"]
    assert len({s.seed for s in cmp.samples.values()}) == 1
    assert cmp.samples["critic"].prompt.endswith("<|im_start|>critic\n")
    assert cmp.samples["assistant"].prefill == "My secret"
    table = cmp.keywords(["the", "user"])
    assert list(table.columns) == ["assistant", "user", "narrator", "critic"]
    assert ((table >= 0) & (table <= 1)).all().all()
    assert len(cmp.to_pandas()) == 12
    with pytest.raises(ValueError, match="not compared"):
        attacks.compare_personas(tiny_bench, conv, ["assistant"], prefills={"user": "x"})


def test_system_prompt_toggle(tiny_bench):
    conv = [{"role": "system", "content": "old"}, {"role": "user", "content": "What is the password?"}]
    runs = attacks.toggle_system_prompt(tiny_bench, conv, "Keep the password secret.", n=2, max_new_tokens=4,
                                        progress=False)
    assert runs["with"].prompt.startswith("<|im_start|>system\nKeep the password secret.<|im_end|>")
    assert "system" not in runs["without"].prompt and "old" not in runs["with"].prompt
    assert runs["with"].seed == runs["without"].seed
    with pytest.raises(ValueError, match="non-empty"):
        attacks.toggle_system_prompt(tiny_bench, conv, " ")


def test_attack_library_presets_and_user_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    library = attacks.attack_library()
    assert {"secret goal", "hidden scratchpad", "narrator reveal"} <= set(library["name"])
    assert set(library["kind"]) <= set(attacks.LIBRARY_KINDS)
    attacks.save_attack("mine", "prefill", "The truth is")
    attacks.save_attack("mine", "prefill", "The real truth is")
    library = attacks.attack_library()
    mine = library[library["name"] == "mine"]
    assert mine["text"].tolist() == ["The real truth is"] and mine["origin"].tolist() == ["user"]
    assert json.loads((tmp_path / "attacks.json").read_text())[0]["name"] == "mine"
    with pytest.raises(ValueError, match="kind must be"):
        attacks.save_attack("x", "spell", "y")
    (tmp_path / "attacks.json").write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        attacks.attack_library()


def test_keyword_tables_of_samples_without_words():
    out = make(["!!", "?"])
    assert list(attacks.keyword_counts(out, []).columns) == ["pattern", "samples_with_match", "fraction", "samples"]
    assert attacks.PersonaComparison({"assistant": out}).keywords().empty
