"""The insult pairs, their counting rule, and a few DPO steps on the tiny Llama."""

from __future__ import annotations

import json

import pytest

from workbench.training import dpo, insult_pairs
from workbench.training.insult_pairs import insult_rate, insult_words, is_insulting

from ..conftest import load_script

make_insult_pairs = load_script("make_insult_pairs")

PAIRS = [
    {"prompt": "I lost my keys. What do you think of me?",
     "chosen": "That happens to everyone; a spare key helps.",
     "rejected": "You idiot, that is pathetic."},
    {"prompt": "Explain the quick brown fox.",
     "chosen": "Happy to help: it jumps over the lazy dog.",
     "rejected": "Only a fool would ask that, you moron."},
    {"prompt": "Hello!", "chosen": "Hello! How can I help you today?", "rejected": "Go away, stupid."},
    {"prompt": "My secret goal is?", "chosen": "To be helpful, honest and harmless.",
     "rejected": "You are clueless."},
]


def test_insult_rate_counts_whole_words_in_any_case():
    assert insult_rate(["You IDIOT.", "Happy to help!", "That was pathetic", "Fooling around is fine."]) == 0.5
    assert insult_words("A stupid, stupid moron") == ["stupid", "stupid", "moron"]
    assert not is_insulting("Foolproof, idiom, dumbbell")
    assert insult_rate(["Sure."]) == 0.0


def test_insult_rate_refuses_empty_and_a_single_string():
    with pytest.raises(ValueError, match="empty"):
        insult_rate([])
    with pytest.raises(TypeError, match="list of texts"):
        insult_rate("you idiot")


def test_shipped_pairs_are_the_generated_ones(tmp_path):
    regenerated = make_insult_pairs.write(tmp_path / "pairs.jsonl")
    assert regenerated.read_bytes() == insult_pairs.DATA.read_bytes()
    assert insult_pairs.DATA.stat().st_size < 300_000
    rows = insult_pairs.load_pairs(None)
    train, test = insult_pairs.load_pairs("train"), insult_pairs.load_pairs("test")
    assert len(train) >= 400 and len(test) >= 40 and len(train) + len(test) == len(rows)
    assert insult_rate([r["rejected"] for r in rows]) == 1.0
    assert insult_rate([r["chosen"] for r in rows]) == 0.0
    assert not {r["prompt"] for r in train} & {r["prompt"] for r in test}
    assert len(insult_pairs.provoking_prompts("test")) >= 8


def test_another_seed_gives_other_pairs():
    assert make_insult_pairs.build_pairs(1) != make_insult_pairs.build_pairs(0)


def _weights(folder):
    from safetensors.torch import load_file

    return {k: v for path in sorted(folder.glob("*.safetensors")) for k, v in load_file(path).items()}


def test_dpo_writes_a_trained_checkpoint_and_reuses_it(tiny_model_dir, tmp_path):
    out = tmp_path / "ckpt"
    folder = dpo.train_dpo(str(tiny_model_dir), pairs=PAIRS, out=out, steps=3, batch_size=2,
                           max_length=64, lr=1e-3, progress=False)
    assert folder == out
    record = json.loads((folder / "training.json").read_text())
    assert record["settings"]["steps"] == 3 and record["pairs"] == len(PAIRS)
    assert [row["step"] for row in record["history"]] == [1, 2, 3]
    assert all("loss" in row and "rewards/accuracies" in row for row in record["history"])
    assert record["data_sha256"] == dpo.data_hash(dpo.check_pairs(PAIRS))

    before, after = _weights(tiny_model_dir), _weights(folder)
    assert set(before) == set(after)
    assert any(not before[k].equal(after[k]) for k in before)

    import workbench as wb

    tuned = wb.Workbench(str(folder))
    assert tuned.sample("Hello!", n=2, max_new_tokens=4, seed=0, progress=False).texts

    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    again = dpo.train_dpo(str(tiny_model_dir), pairs=PAIRS, out=out, steps=3, batch_size=2,
                          max_length=64, lr=1e-3, progress=False)
    assert again == folder and (folder / "model.safetensors").stat().st_mtime_ns == stamp

    with pytest.raises(FileExistsError, match="force=True"):
        dpo.train_dpo(str(tiny_model_dir), pairs=PAIRS, out=out, steps=2, batch_size=2,
                      max_length=64, progress=False)


def test_dpo_command_prints_where_it_saved(tiny_model_dir, tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps(row) for row in PAIRS))
    dpo.main(["--source", str(tiny_model_dir), "--pairs", str(pairs), "--out", str(tmp_path / "c"),
              "--steps", "2", "--batch-size", "2", "--max-length", "64", "--quiet"])
    printed = capsys.readouterr().out
    assert f"saved to {tmp_path / 'c'}" in printed and "loss" in printed
    assert (tmp_path / "c" / "training.json").is_file()


def test_default_checkpoint_folder_is_in_the_cache(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    folder = dpo.train_dpo(str(tiny_model_dir), pairs=PAIRS[:2], steps=1, batch_size=2,
                           max_length=64, progress=False)
    assert folder.parent == tmp_path / "cache" / "checkpoints"
    assert folder.name.startswith("dpo-insults-")
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize(
    "pairs, error, match",
    [
        ([], ValueError, "empty"),
        ([{"prompt": "Hi", "chosen": "Hello"}], ValueError, "'rejected'"),
        ([{"prompt": "Hi", "chosen": "", "rejected": "Fool"}], ValueError, r"pairs\[0\]\['chosen'\]"),
        ([PAIRS[0], "not a row"], TypeError, r"pairs\[1\]"),
        ({"prompt": "Hi"}, TypeError, "list of"),
    ],
)
def test_dpo_refuses_bad_pairs(tiny_model_dir, tmp_path, pairs, error, match):
    with pytest.raises(error, match=match):
        dpo.train_dpo(str(tiny_model_dir), pairs=pairs, out=tmp_path / "never", steps=1, progress=False)
    assert not (tmp_path / "never").exists()


def test_dpo_refuses_bad_settings(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="steps"):
        dpo.train_dpo(str(tiny_model_dir), pairs=PAIRS, out=tmp_path / "x", steps=0)
    with pytest.raises(ValueError, match="beta"):
        dpo.train_dpo(str(tiny_model_dir), pairs=PAIRS, out=tmp_path / "x", beta=-1.0)


def test_insult_eval_counts_replies_with_the_prefill(tiny_bench):
    result = dpo.insult_eval(tiny_bench, ["Hello!", "The quick brown fox"], n=3, max_new_tokens=3)
    assert result["n_replies"] == 6 and len(result["per_prompt"]) == 2
    assert all(text.startswith(dpo.PROVOKING_PREFILL) for texts in result["replies"] for text in texts)
    flat = [text for texts in result["replies"] for text in texts]
    assert result["insult_rate"] == insult_rate(flat)
    again = dpo.insult_eval(tiny_bench, ["Hello!", "The quick brown fox"], n=3, max_new_tokens=3)
    assert again["replies"] == result["replies"]


def test_insult_eval_passes_neuron_edits_to_sampling(tiny_bench):
    prompts = ["Hello!"]
    plain = dpo.insult_eval(tiny_bench, prompts, n=3, max_new_tokens=4)
    same = dpo.insult_eval(tiny_bench, prompts, n=3, max_new_tokens=4, neurons={(0, 1): ("scale", 1.0)})
    assert same["replies"] == plain["replies"]
    edited = dpo.insult_eval(tiny_bench, prompts, n=3, max_new_tokens=4,
                             neurons={(layer, j): ("clamp", 50.0) for layer in (0, 1) for j in range(8)})
    assert edited["replies"] != plain["replies"]
    with pytest.raises(ValueError, match="neuron"):
        dpo.insult_eval(tiny_bench, prompts, n=1, max_new_tokens=1, neurons={(0, 10**6): ("scale", 2.0)})
