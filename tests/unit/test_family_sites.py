"""SAE sites on every family of the matrix: each site either means what it says or is refused by name.

On each family's tiny random model (``tests/families.py``) every site kind of layer 1 is
read in one trace and checked by the arithmetic that defines it, which does not depend on
which module the workbench taps: the layer's output is its input plus the attention and
MLP outputs (sequential and parallel residuals alike); ``resid_mid`` is the layer's input
plus the attention output; and the MLP block applied to ``mlp_in`` gives ``mlp_out``.
An SAE registered at ``mlp_out`` then gives the activation panel the latents its own
``encode`` gives at that site. A site a family does not have is refused with the sites it has.
"""

from __future__ import annotations

import pytest
import torch

import workbench as wb
from workbench import layout, residual
from workbench.layout import Site

from ..families import FAMILIES, build

IDS = torch.tensor([[5, 17, 42, 99, 7, 250, 13, 3]])
KINDS = ("attn_out", "resid_mid", "mlp_in", "mlp_out", "resid_post")
# written out here, independently of layout.py: the MLP block's module and the norm on its output (if any)
MLP = {"gemma2": ("mlp", "post_feedforward_layernorm"), "gemma3": ("mlp", "post_feedforward_layernorm"),
       "olmo2": ("mlp", "post_feedforward_layernorm")}
NO_RESID_MID = {"gpt_neox"}   # Pythia's parallel residual: attention and MLP both read the layer's input


@pytest.fixture(scope="module", params=FAMILIES, ids=[f.name for f in FAMILIES])
def family_bench(request, tmp_path_factory):
    family = request.param
    folder = build(family, tmp_path_factory.mktemp(f"sites-{family.name}"))
    return family, wb.Workbench(str(folder), journal=False)


def _mlp(bench, family, mlp_in):
    block = layout.module_at(bench.module, bench.layout.layers)[1]
    name, post = MLP.get(family.name, ("mlp", None))
    with torch.no_grad():
        out = getattr(block, name)(mlp_in)
        out = out[0] if isinstance(out, tuple) else out
        return getattr(block, post)(out) if post else out


def test_every_site_means_what_it_says_or_is_refused(family_bench):
    family, bench = family_bench
    kinds = [kind for kind in KINDS if not (kind == "resid_mid" and family.name in NO_RESID_MID)]
    sites = [Site(0), *(Site(1, kind) for kind in kinds)]
    got = residual.site_outputs(bench, IDS, sites=sites, stop=False)
    before, after = got[Site(0)], got[Site(1)]
    assert torch.allclose(after, before + got[Site(1, "attn_out")] + got[Site(1, "mlp_out")], atol=1e-4)
    if "resid_mid" in kinds:
        assert torch.allclose(got[Site(1, "resid_mid")], before + got[Site(1, "attn_out")], atol=1e-4)
    assert torch.allclose(_mlp(bench, family, got[Site(1, "mlp_in")]), got[Site(1, "mlp_out")], atol=1e-4)
    if family.name in NO_RESID_MID:
        with pytest.raises(ValueError, match=r"no resid_mid site: its attention and MLP run in parallel.*"
                                             r"its sites are resid_post, attn_out, mlp_in, mlp_out"):
            layout.check_site(bench, Site(1, "resid_mid"))


def test_an_sae_at_mlp_out_gives_the_panel_its_own_latents(family_bench):
    import sae_lens as sl

    _family, bench = family_bench
    torch.manual_seed(0)
    sae = sl.StandardSAE(sl.StandardSAEConfig(d_in=64, d_sae=48))
    with torch.no_grad():
        for param in sae.parameters():
            param.copy_(torch.randn(param.shape) * 0.3)
    bench.saes.add(sae, site=(1, "mlp_out"), name="mlp")
    try:
        text = "The quick brown fox jumps over the lazy dog."
        acts = bench.activations(text, sae="mlp", k=4)
        ids = torch.tensor([bench.tokenizer(text).input_ids])
        site = residual.site_outputs(bench, ids, sites=[Site(1, "mlp_out")])[Site(1, "mlp_out")][0]
        with torch.no_grad():
            want = sae.encode(site.float())
        latent = int(want.sum(0).argmax())
        assert torch.allclose(torch.as_tensor(acts.feature(latent)).float(), want[:, latent], atol=1e-4)
    finally:
        bench.saes._items.pop("mlp", None)
