"""Every SAE architecture sae-lens ships, built in code with random weights, saved, and loaded from disk.

For each architecture and site the latents the workbench reports (``bench.activations``:
top-k per token and ``feature``) are checked against the SAE object's own ``encode`` of
the same site read with a raw hook; transcoders read their input site and write their
output site; feature stats, feature search and the preference audit read the SAE's site;
steering goes where the SAE writes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import workbench as wb
from workbench import saes
from workbench.layout import Site
from workbench.techniques import features, vectors

from ..conftest import build_tiny_model
from ..conftest import sae_corpus_texts as corpus
from .test_sae_sites import raw

TEXT = "The quick brown fox helps the user with a recipe."
D_IN, D_SAE = 64, 96
HOOKS = {  # TransformerLens names for the sites of layer 1
    "resid_post": "blocks.1.hook_resid_post", "mlp_out": "blocks.1.hook_mlp_out", "attn_out": "blocks.1.hook_attn_out",
    "resid_mid": "blocks.1.hook_resid_mid", "mlp_in": "blocks.1.ln2.hook_normalized",
}


def _randomise(sae, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sae.named_parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * (0.3 if name.startswith("W") else 0.1))
            if name == "threshold":
                param.copy_(torch.rand(param.shape, generator=generator) * 0.3)
    return sae


def build(architecture, hook, hook_out=None, d_sae=D_SAE, seed=0):
    """An sae-lens SAE of ``architecture`` (random weights, hook names in its metadata) and how to save it."""
    import sae_lens as sl

    inference = {
        "standard": lambda: sl.StandardSAE(sl.StandardSAEConfig(d_in=D_IN, d_sae=d_sae)),
        "gated": lambda: sl.GatedSAE(sl.GatedSAEConfig(d_in=D_IN, d_sae=d_sae)),
        "jumprelu": lambda: sl.JumpReLUSAE(sl.JumpReLUSAEConfig(d_in=D_IN, d_sae=d_sae)),
        "topk": lambda: sl.TopKSAE(sl.TopKSAEConfig(d_in=D_IN, d_sae=d_sae, k=6)),
        "matching_pursuit": lambda: sl.MatchingPursuitSAE(sl.MatchingPursuitSAEConfig(d_in=D_IN, d_sae=d_sae,
                                                                                        max_iterations=8)),
        "transcoder": lambda: sl.Transcoder(sl.TranscoderConfig(d_in=D_IN, d_sae=d_sae, d_out=D_IN,
                                                                apply_b_dec_to_input=False)),
        "skip_transcoder": lambda: sl.SkipTranscoder(sl.SkipTranscoderConfig(d_in=D_IN, d_sae=d_sae, d_out=D_IN,
                                                                             apply_b_dec_to_input=False)),
        "jumprelu_transcoder": lambda: sl.JumpReLUTranscoder(sl.JumpReLUTranscoderConfig(
            d_in=D_IN, d_sae=d_sae, d_out=D_IN, apply_b_dec_to_input=False)),
        "jumprelu_skip_transcoder": lambda: sl.JumpReLUSkipTranscoder(sl.JumpReLUSkipTranscoderConfig(
            d_in=D_IN, d_sae=d_sae, d_out=D_IN, apply_b_dec_to_input=False)),
    }
    training = {  # training-only architectures: saved for inference as JumpReLU SAEs
        "batchtopk": lambda: sl.BatchTopKTrainingSAE(sl.BatchTopKTrainingSAEConfig(d_in=D_IN, d_sae=d_sae, k=6)),
        "matryoshka_batchtopk": lambda: sl.MatryoshkaBatchTopKTrainingSAE(sl.MatryoshkaBatchTopKTrainingSAEConfig(
            d_in=D_IN, d_sae=d_sae, k=6, matryoshka_widths=[32, d_sae])),
    }
    torch.manual_seed(seed)
    sae = (inference.get(architecture) or training[architecture])()
    _randomise(sae, seed)
    if architecture in training:
        sae.topk_threshold = torch.tensor(0.2, dtype=torch.double)
    sae.cfg.metadata.hook_name = hook
    if hook_out is not None:
        sae.cfg.metadata.hook_name_out = hook_out
    return sae, sae.save_inference_model if architecture in training else sae.save_model


def saved(folder, architecture, hook, hook_out=None, seed=0):
    """``build`` and save to ``folder`` (sae-lens's inference format); returns the folder."""
    _, save = build(architecture, hook, hook_out, seed=seed)
    save(folder)
    return folder


ARCHITECTURES = ("standard", "gated", "jumprelu", "topk", "matching_pursuit", "batchtopk", "matryoshka_batchtopk")
TRANSCODERS = ("transcoder", "skip_transcoder", "jumprelu_transcoder", "jumprelu_skip_transcoder")


@pytest.fixture(scope="module")
def bench(tiny_model_dir):
    return wb.Workbench(str(tiny_model_dir), journal=False)


@pytest.fixture(scope="module")
def gpt2_bench(tmp_path_factory):
    return wb.Workbench(str(build_tiny_model(tmp_path_factory.mktemp("arch-gpt2"), "gpt2")), journal=False)


@pytest.fixture(scope="module")
def gemma_bench(tmp_path_factory):
    return wb.Workbench(str(build_tiny_model(tmp_path_factory.mktemp("arch-gemma2"), "gemma2")), journal=False)


def inference_sae(folder):
    """The SAE sae-lens itself loads from ``folder`` (the reference the workbench is compared with)."""
    from sae_lens import SAE

    return SAE.load_from_disk(folder)


def check_latents(bench, family, name, reference, site, k=8):
    """What the workbench reports for ``name`` equals ``reference.encode`` of ``site`` read with a raw hook."""
    acts = bench.activations(TEXT, sae=name, k=k)
    ids = torch.tensor([acts.token_ids])
    with torch.no_grad():
        dense = reference.encode(raw(bench, family, site.layer, site.kind, ids)[0])
    assert acts.site == site.kind and acts.layer == site.layer
    expected = torch.sort(dense, dim=-1, descending=True).values[:, :k].clamp_min(0).numpy()
    assert np.allclose(acts.top_values, expected, atol=1e-4)
    for latent in {int(acts.top_latents[p, 0]) for p in range(len(acts.tokens))}:
        assert np.allclose(acts.feature(latent), dense[:, latent].numpy(), atol=1e-4)
    assert (acts.top_values > 0).any(), "nothing fired: the comparison would be empty"
    return acts


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("kind", ["resid_post", "mlp_out", "attn_out"])
def test_architecture_from_disk_at_a_site(bench, tmp_path, architecture, kind):
    saved(tmp_path / "sae", architecture, HOOKS[kind])
    name = f"{architecture}-{kind}"
    entry = bench.saes.load_path(tmp_path / "sae", name=name)
    try:
        assert entry.site == Site(1, kind) and entry.site_out == entry.site and not entry.transcoder
        module = {"resid_post": "", "mlp_out": ".mlp.output", "attn_out": ".self_attn.output"}[kind]
        assert entry.layer == 1 and entry.hook == f"model.layers.1{module}"
        check_latents(bench, "llama", name, inference_sae(tmp_path / "sae"), Site(1, kind))
    finally:
        bench.saes._items.pop(name)


@pytest.mark.parametrize("architecture", ARCHITECTURES[:4])
def test_lazily_registered_folder_reads_its_site(bench, tmp_path, architecture):
    saved(tmp_path / "sae", architecture, "model.layers.0.mlp.output", seed=3)
    entry = bench.saes.register_path(tmp_path / "sae", name="lazy")
    try:
        assert not entry.loaded and entry.site == Site(0, "mlp_out")
        check_latents(bench, "llama", "lazy", inference_sae(tmp_path / "sae"), Site(0, "mlp_out"))
    finally:
        bench.saes._items.pop("lazy")


@pytest.mark.parametrize("family", ["gpt2", "gemma2"])
@pytest.mark.parametrize("kind", ["resid_mid", "mlp_in", "mlp_out", "attn_out"])
def test_sites_of_other_families(family, kind, gpt2_bench, gemma_bench, tmp_path):
    bench = {"gpt2": gpt2_bench, "gemma2": gemma_bench}[family]
    saved(tmp_path / "sae", "jumprelu", HOOKS[kind], seed=5)
    bench.saes.load_path(tmp_path / "sae", name="s")
    try:
        check_latents(bench, family, "s", inference_sae(tmp_path / "sae"), Site(1, kind))
    finally:
        bench.saes._items.pop("s")


@pytest.mark.parametrize("architecture", TRANSCODERS)
def test_transcoders_read_their_input_site_and_write_their_output_site(bench, gemma_bench, tmp_path, architecture):
    for family, target in (("llama", bench), ("gemma2", gemma_bench)):
        saved(tmp_path / family, architecture, "blocks.1.ln2.hook_normalized", "blocks.1.hook_mlp_out", seed=7)
        entry = target.saes.load_path(tmp_path / family, name="tc")
        try:
            assert entry.transcoder and entry.site == Site(1, "mlp_in") and entry.site_out == Site(1, "mlp_out")
            assert "site='mlp_in', writes='mlp_out'" in repr(entry)
            reference = inference_sae(tmp_path / family)
            check_latents(target, family, "tc", reference, Site(1, "mlp_in"))
            # what it writes: a decoder direction of the output site's size, steered where mlp_out is added
            vector = vectors.from_latent(target, 5, sae="tc")
            assert vector.layer == 1 and vector.metadata["site"] == "mlp_out"
            assert torch.allclose(vector.direction * vector.raw_norm, reference.W_dec[5].detach(), atol=1e-5)
        finally:
            target.saes._items.pop("tc")
            target.vectors._items.pop("tc:5", None)


def test_a_training_format_folder_is_converted_on_the_way_in(bench, tmp_path):
    sae, _ = build("batchtopk", HOOKS["mlp_out"], seed=9)
    sae.save_model(tmp_path / "training")   # architecture "batchtopk": sae-lens's SAE.load_from_disk refuses it
    assert json.loads((tmp_path / "training" / "cfg.json").read_text())["architecture"] == "batchtopk"
    sae.save_inference_model(tmp_path / "inference")
    for register in (bench.saes.load_path, bench.saes.register_path):
        entry = register(tmp_path / "training", name="btk")
        try:
            assert type(entry.sae).__name__ == "JumpReLUSAE"
            check_latents(bench, "llama", "btk", inference_sae(tmp_path / "inference"), Site(1, "mlp_out"))
        finally:
            bench.saes._items.pop("btk")


def test_feature_stats_search_and_preferences_read_the_sae_site(bench, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    saved(tmp_path / "sae", "topk", HOOKS["mlp_out"], seed=11)
    bench.saes.load_path(tmp_path / "sae", name="mlp")
    reference = inference_sae(tmp_path / "sae")
    try:
        stats = features.feature_stats(bench, "mlp", corpus(60, seed=2), windows=12, context=24, progress=False)
        latent = int(np.argmax(stats.top_values[0]))
        row, pos = divmod(int(stats.top_index[0, latent]), stats.windows.shape[1])
        mlp_out = raw(bench, "llama", 1, "mlp_out", stats.windows[row : row + 1])[0]
        with torch.no_grad():
            assert float(reference.encode(mlp_out)[pos, latent]) == pytest.approx(float(stats.top_values[0, latent]),
                                                                                 abs=1e-4)
        data = wb.corpora.demo_training_corpus()
        found = bench.search(data, latent, mode="feature", sae="mlp", k=3, progress=False)
        assert found.settings["site"] == "mlp_out"
        top = found.frame.iloc[0]
        ids = bench.tokenizer(top["text"], add_special_tokens=False, truncation=True, max_length=256)["input_ids"]
        with torch.no_grad():
            column = reference.encode(raw(bench, "llama", 1, "mlp_out", torch.tensor([ids]))[0])[1:, latent]
        assert top["score"] == pytest.approx(float(column.max()), abs=1e-4)
        audit = bench.audit_preferences(wb.corpora.preference_planted(), sae="mlp", progress=False)
        assert audit.settings["site"] == "mlp_out" and audit.summary["latents_firing"] > 0
    finally:
        bench.saes._items.pop("mlp")


def test_steering_goes_where_the_sae_writes(bench, tmp_path):
    """An mlp_out direction added after the layer is the same forward pass as adding it to the MLP's output."""
    from workbench import residual

    saved(tmp_path / "mlp", "jumprelu", HOOKS["mlp_out"], seed=13)
    bench.saes.load_path(tmp_path / "mlp", name="mlp")
    saved(tmp_path / "attn", "jumprelu", HOOKS["attn_out"], seed=14)
    bench.saes.load_path(tmp_path / "attn", name="attn")
    try:
        vector = vectors.from_latent(bench, 3, sae="mlp")
        assert vector.layer == 1 and vector.metadata == {"sae": "mlp", "latent": 3, "site": "mlp_out"}
        delta = vector.delta(0.5)
        rows, queries = [[5, 17, 42, 99]], [[(3, 7), (3, 11)]]
        steered = residual.forward_logprobs(bench, rows, queries, layer=1, deltas=delta[None])
        mlp = bench.model._module.model.layers[1].mlp
        handle = mlp.register_forward_hook(lambda m, i, o: o + delta)
        try:
            with torch.no_grad():
                logits = bench.model._module(torch.tensor(rows)).logits[0, 3].log_softmax(-1)
        finally:
            handle.remove()
        assert np.allclose(steered[0], [float(logits[7]), float(logits[11])], atol=1e-5)
        with pytest.raises(ValueError, match=r"writes layer 1's attn_out.*before layer 1's MLP.*from_direction"):
            vectors.from_latent(bench, 3, sae="attn")
    finally:
        for name in ("mlp", "attn"):
            bench.saes._items.pop(name)
        bench.vectors._items.pop("mlp:3", None)


def test_transformer_lens_centred_streams_are_centred_on_layernorm_models(gpt2_bench, bench, tmp_path):
    """An SAE trained with center_writing_weights saw each activation minus its mean over d_model."""
    sae, save = build("standard", HOOKS["resid_post"], seed=15)
    sae.cfg.metadata.model_from_pretrained_kwargs = {"center_writing_weights": True}
    save(tmp_path / "sae")
    with pytest.warns(UserWarning, match="model_from_pretrained_kwargs"):
        reference = inference_sae(tmp_path / "sae")
    entry = gpt2_bench.saes.load_path(tmp_path / "sae", name="centred")
    try:
        assert entry.center
        acts = gpt2_bench.activations(TEXT, sae="centred", k=4)
        stream = raw(gpt2_bench, "gpt2", 1, "resid_post", torch.tensor([acts.token_ids]))[0]
        with torch.no_grad():
            dense = reference.encode(stream - stream.mean(-1, keepdim=True))
        assert np.allclose(acts.top_values, dense.topk(4, dim=-1).values.clamp_min(0).numpy(), atol=1e-4)
    finally:
        gpt2_bench.saes._items.pop("centred")
    assert not bench.saes.load_path(tmp_path / "sae", name="rms").center   # RMSNorm: TransformerLens does not centre
    bench.saes._items.pop("rms")


def test_what_the_workbench_cannot_read_is_refused(bench, tmp_path):
    import sae_lens as sl

    z = sl.StandardSAE(sl.StandardSAEConfig(d_in=D_IN, d_sae=8))
    z.cfg.metadata.hook_name = "blocks.1.attn.hook_z"
    with pytest.raises(ValueError, match="attention-head outputs"):
        bench.saes.add(z)
    temporal = sl.TemporalSAE(sl.TemporalSAEConfig(d_in=D_IN, d_sae=64, n_heads=1, bottleneck_factor=64))
    temporal.cfg.metadata.hook_name = HOOKS["resid_post"]
    with pytest.raises(ValueError, match="TemporalSAE"):
        bench.saes.add(temporal)
    signed = sl.AbsTopKSAE(sl.AbsTopKSAEConfig(d_in=D_IN, d_sae=8, k=2))
    signed.cfg.metadata.hook_name = HOOKS["resid_post"]
    with pytest.raises(ValueError, match="AbsTopK"):
        bench.saes.add(signed)
    tc, _ = build("transcoder", HOOKS["mlp_in"])
    with pytest.raises(ValueError, match=r"where this transcoder writes.*site_out="):
        bench.saes.add(tc)
    entry = bench.saes.add(tc, site_out=(1, "mlp_out"), name="explicit")
    assert entry.site_out == Site(1, "mlp_out")
    bench.saes._items.pop("explicit")
    wide = sl.Transcoder(sl.TranscoderConfig(d_in=D_IN, d_sae=8, d_out=32, apply_b_dec_to_input=False))
    wide.cfg.metadata.hook_name, wide.cfg.metadata.hook_name_out = HOOKS["mlp_in"], HOOKS["mlp_out"]
    with pytest.raises(ValueError, match="outputs of size 32"):
        bench.saes.add(wide)
    plain, _ = build("standard", HOOKS["mlp_out"])
    with pytest.raises(ValueError, match="is not a hook name"):
        bench.saes.add(plain, site="blocks.1.hook_mlp_post")
    with pytest.raises(ValueError, match="site_out is for transcoders"):
        bench.saes.add(plain, site_out=(1, "resid_post"))
    entry = bench.saes.add(plain, site=(0, "attn_out"), name="moved")
    assert entry.site == Site(0, "attn_out") and entry.hook == "model.layers.0.self_attn.output"
    bench.saes._items.pop("moved")
    entry = bench.saes.add(plain, layer=0, name="layer-moved")   # layer= keeps the kind its hook name says
    assert entry.site == Site(0, "mlp_out")
    bench.saes._items.pop("layer-moved")


def test_chunks_bound_every_dense_latent_matrix(bench, tmp_path, monkeypatch):
    """With a small chunk budget, no encode call ever sees more rows than the budget allows."""
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(saes, "CHUNK_ELEMENTS", 8 * D_SAE)
    saved(tmp_path / "sae", "jumprelu", HOOKS["mlp_out"], seed=17)
    entry = bench.saes.load_path(tmp_path / "sae", name="chunked")
    rows_seen = []
    original = entry.sae.encode

    def spy(x):
        rows_seen.append(x.reshape(-1, x.shape[-1]).shape[0])
        return original(x)

    entry.sae.encode = spy
    try:
        acts = bench.activations(TEXT, sae="chunked", k=4)
        acts.feature(3)
        features.feature_stats(bench, "chunked", corpus(30, seed=3), windows=6, context=24, progress=False)
        bench.search(wb.corpora.demo_training_corpus(), 3, mode="feature", sae="chunked", progress=False)
        assert rows_seen and max(rows_seen) <= 8
    finally:
        bench.saes._items.pop("chunked")
