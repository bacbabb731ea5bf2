"""Sites on tiny random Llama, Gemma 2 and GPT-2 models: what the workbench reads is what each site means.

Each site is checked two ways: against a raw hook on the module the test names for it
(tests may write hooks; the package may not), and by the arithmetic that defines it:
``resid_mid = resid_post(L - 1) + attn_out``, ``resid_post = resid_mid + mlp_out`` and
``mlp_in = pre_MLP_norm(resid_mid)``, so a site mapped to the wrong module fails even if
the table of modules were copied wrongly into both places.
"""

from __future__ import annotations

import pytest
import torch

import workbench as wb
from workbench import residual
from workbench.layout import Site, check_site, hook_name, parse_site

from ..conftest import build_tiny_model

FAMILIES = ("llama", "gemma2", "gpt2")
# family -> kind -> (module inside a decoder layer, "output"/"input"), written out here independently of layout.py
MODULES = {
    "llama": {"attn_out": ("self_attn", "output"), "resid_mid": ("post_attention_layernorm", "input"),
              "mlp_in": ("post_attention_layernorm", "output"), "mlp_out": ("mlp", "output")},
    "gemma2": {"attn_out": ("post_attention_layernorm", "output"), "resid_mid": ("pre_feedforward_layernorm", "input"),
               "mlp_in": ("pre_feedforward_layernorm", "output"), "mlp_out": ("post_feedforward_layernorm", "output")},
    "gpt2": {"attn_out": ("attn", "output"), "resid_mid": ("ln_2", "input"), "mlp_in": ("ln_2", "output"),
             "mlp_out": ("mlp", "output")},
}
PRE_MLP_NORM = {"llama": "post_attention_layernorm", "gemma2": "pre_feedforward_layernorm", "gpt2": "ln_2"}


@pytest.fixture(scope="module")
def benches(tiny_model_dir, tmp_path_factory):
    out = {"llama": wb.Workbench(str(tiny_model_dir), journal=False)}
    for family in ("gemma2", "gpt2"):
        folder = build_tiny_model(tmp_path_factory.mktemp(f"sites-{family}"), family)
        out[family] = wb.Workbench(str(folder), journal=False)
    return out


def decoder_layers(bench):
    module = bench.model._module
    if hasattr(module, "transformer"):
        return module.transformer.h
    return module.model.decoder.layers if hasattr(module.model, "decoder") else module.model.layers


def raw(bench, family, layer, kind, ids):
    """The site's value read with a raw torch hook on the module this test names for it."""
    block = decoder_layers(bench)[layer]
    captured = []
    if kind == "resid_post":
        handle = block.register_forward_hook(lambda m, i, o: captured.append(o[0] if isinstance(o, tuple) else o))
    else:
        name, port = MODULES[family][kind]
        module = getattr(block, name)
        if port == "output":
            handle = module.register_forward_hook(lambda m, i, o: captured.append(o[0] if isinstance(o, tuple) else o))
        else:
            handle = module.register_forward_pre_hook(lambda m, args: captured.append(args[0]))
    try:
        with torch.no_grad():
            bench.model._module(ids)
    finally:
        handle.remove()
    return captured[0]


IDS = torch.tensor([[5, 17, 42, 99, 7, 250, 13]])


@pytest.mark.parametrize("family", FAMILIES)
def test_every_site_is_read_from_its_module(benches, family):
    bench = benches[family]
    sites = [Site(layer, kind) for layer in range(2) for kind in ("attn_out", "resid_mid", "mlp_in", "mlp_out",
                                                                   "resid_post")]
    got = residual.site_outputs(bench, IDS, sites=sites, stop=False)
    for site in sites:
        assert torch.allclose(got[site], raw(bench, family, site.layer, site.kind, IDS), atol=1e-5), site


@pytest.mark.parametrize("family", FAMILIES)
def test_sites_add_up_to_the_residual_stream(benches, family):
    """The definitions: each block's output is what is added to the stream; mlp_in is the pre-MLP norm's output."""
    bench = benches[family]
    sites = [Site(layer, kind) for layer in range(2) for kind in ("attn_out", "resid_mid", "mlp_in", "mlp_out",
                                                                   "resid_post")]
    got = residual.site_outputs(bench, IDS, sites=sites, stop=False)
    norm = getattr(decoder_layers(bench)[1], PRE_MLP_NORM[family])
    assert torch.allclose(got[Site(1, "resid_mid")], got[Site(0)] + got[Site(1, "attn_out")], atol=1e-5)
    for layer in range(2):
        assert torch.allclose(got[Site(layer)], got[Site(layer, "resid_mid")] + got[Site(layer, "mlp_out")],
                              atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(got[Site(1, "mlp_in")], norm(got[Site(1, "resid_mid")]), atol=1e-5)


def test_site_outputs_stop_after_the_last_site(benches):
    bench = benches["llama"]
    norm = bench.model._module.model.norm
    calls = []
    handle = norm.register_forward_hook(lambda *a: calls.append(1))
    try:
        residual.site_outputs(bench, IDS, sites=[Site(0, "mlp_out")])
    finally:
        handle.remove()
    assert calls == []


@pytest.mark.parametrize(("name", "site"), [
    ("blocks.3.hook_resid_post", Site(3)),
    ("blocks.3.hook_resid_pre", Site(2)),
    ("blocks.0.hook_resid_pre", Site(-1)),
    ("blocks.3.hook_mlp_out", Site(3, "mlp_out")),
    ("blocks.3.hook_attn_out", Site(3, "attn_out")),
    ("blocks.3.hook_mlp_in", Site(3, "resid_mid")),   # TransformerLens: the MLP block's input, before its norm
    ("blocks.3.hook_resid_mid", Site(3, "resid_mid")),
    ("blocks.3.ln2.hook_normalized", Site(3, "mlp_in")),
    ("model.layers.3", Site(3)),
    ("model.layers.3.output", Site(3)),
    ("model.language_model.layers.3.output", Site(3)),
    ("transformer.h.3", Site(3)),
    ("blocks.3.attn.hook_z", None),
    ("blocks.3.mlp.hook_post", None),
    ("lm_head", None),
])
def test_hook_names_without_a_model(name, site):
    assert parse_site(None, name) == site


@pytest.mark.parametrize(("family", "name", "kind"), [
    ("llama", "model.layers.1.mlp.output", "mlp_out"),
    ("llama", "model.layers.1.post_attention_layernorm.output", "mlp_in"),
    ("llama", "model.layers.1.self_attn", "attn_out"),
    ("gemma2", "model.layers.1.post_attention_layernorm.output", "attn_out"),   # Gemma's attention output norm
    ("gemma2", "model.layers.1.pre_feedforward_layernorm.output", "mlp_in"),
    ("gemma2", "model.layers.1.post_feedforward_layernorm.output", "mlp_out"),
    ("gpt2", "transformer.h.1.ln_2.output", "mlp_in"),
    ("gpt2", "transformer.h.1.mlp", "mlp_out"),
    ("gpt2", "transformer.h.1.attn.output", "attn_out"),
])
def test_module_paths_follow_the_loaded_models_layout(benches, family, name, kind):
    bench = benches[family]
    site = parse_site(bench, name)
    assert site == Site(1, kind)
    assert parse_site(bench, hook_name(bench, site)) == site   # hook_name writes what parse_site reads


def test_gemma_scope_2_module_paths(benches):
    """The hf_hook_point_in / _out names Gemma Scope 2's configs carry, on a Gemma-style layout."""
    bench = benches["gemma2"]
    assert parse_site(bench, "model.layers.1.output") == Site(1)
    assert parse_site(bench, "model.layers.1.post_feedforward_layernorm.output") == Site(1, "mlp_out")
    assert parse_site(bench, "model.layers.1.pre_feedforward_layernorm.output") == Site(1, "mlp_in")
    assert parse_site(bench, "model.layers.1.self_attn.o_proj.input") is None   # hook_z: not a site


def test_sites_are_checked(benches, tmp_path):
    bench = benches["llama"]
    with pytest.raises(ValueError, match=r"layer must be a whole number in 0\.\.1"):
        check_site(bench, Site(2, "mlp_out"))
    with pytest.raises(ValueError, match="site kind is one of"):
        Site(0, "mlp_pre")
    assert hook_name(bench, 1) == "model.layers.1" and hook_name(bench, Site(1)) == "model.layers.1"


def test_an_unknown_layout_reads_only_the_residual_stream(tmp_path):
    from transformers import OPTConfig, OPTForCausalLM

    from ..conftest import build_tokenizer

    tokenizer = build_tokenizer()
    config = OPTConfig(vocab_size=len(tokenizer), hidden_size=64, ffn_dim=128, num_hidden_layers=2,
                       num_attention_heads=4, word_embed_proj_dim=64, max_position_embeddings=512,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.eos_token_id)
    OPTForCausalLM(config).save_pretrained(tmp_path, safe_serialization=True)
    tokenizer.save_pretrained(tmp_path)
    bench = wb.Workbench(str(tmp_path), journal=False)
    assert check_site(bench, Site(1)) == Site(1) and hook_name(bench, 1) == "model.decoder.layers.1"
    with pytest.raises(ValueError, match="does not know where OPTForCausalLM computes mlp_out"):
        check_site(bench, Site(1, "mlp_out"))
    assert parse_site(bench, "model.decoder.layers.1.fc2.output") is None
    assert torch.allclose(residual.site_outputs(bench, IDS, sites=[Site(1)])[Site(1)],
                          raw(bench, "opt", 1, "resid_post", IDS), atol=1e-5)
