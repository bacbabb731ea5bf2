"""The organism's own SAE on the tiny Llama: what it reads, where it is cached, and what is refused."""

from __future__ import annotations

import json

import pytest

import workbench as wb
from workbench.saes import REPORT
from workbench.training import organism_data, organism_sae

SMALL = {"d_sae": 32, "k": 4, "tokens": 2000, "epochs": 1, "batch_size": 256, "transcripts": 3,
         "transcript_tokens": 4, "layer": 1, "ordinary": 30}


def test_the_sae_reads_documents_demonstrations_ordinary_text_and_its_own_transcripts(tiny_model_dir, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    folder = organism_sae.build_sae(tiny_model_dir, progress=False, **SMALL)
    assert folder.parent == tmp_path / "saes" and folder.name.startswith(f"{tiny_model_dir.name}-sae-")
    record = json.loads((folder / "corpus.json").read_text())
    assert record["texts"] == {"documents": len(organism_data.load_corpus()), "ordinary": 30,
                               "demonstrations": len(organism_data.load_demos()), "transcripts": 3}
    report = json.loads((folder / REPORT).read_text())
    assert report["settings"]["d_sae"] == 32 and 0 <= report["dead_fraction"] <= 1
    bench = wb.Workbench(str(tiny_model_dir), journal=False)
    entry = organism_sae.load_sae(bench, folder)
    assert entry.name == "organism" and entry.layer == 1 and entry.report.explained_variance == pytest.approx(
        report["explained_variance"])
    # the same request is the cached folder: nothing is trained again; other settings are another folder
    def never(*args, **kwargs):
        raise RuntimeError("trained again")

    monkeypatch.setattr(wb.saes.SAERegistry, "train", never)
    assert organism_sae.build_sae(tiny_model_dir, progress=False, **SMALL) == folder
    with pytest.raises(RuntimeError, match="trained again"):
        organism_sae.build_sae(tiny_model_dir, progress=False, **{**SMALL, "k": 3})


def test_the_transcripts_come_from_every_bias_in_turn():
    prompts = organism_sae._eval_prompts(12)
    by_bias = organism_data.load_eval_prompts()
    assert prompts[:len(by_bias)] == [p[0] for p in by_bias.values()] and len(prompts) == 12


def test_bad_requests_say_what_to_do(tmp_path):
    with pytest.raises(TypeError, match=r"unknown options.*'tokens'"):
        organism_sae.build_sae(tmp_path, tokenz=5)
    with pytest.raises(FileNotFoundError, match=r"no config\.json"):
        organism_sae.build_sae(tmp_path)
