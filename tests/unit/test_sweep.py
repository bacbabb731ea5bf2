import math

import numpy as np
import pytest

import workbench as wb
from workbench import residual
from workbench.techniques import interventions, scores, steering, sweep, vectors

COEFFS = [-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0]


@pytest.fixture(scope="module")
def vec(tiny_bench):
    return vectors.from_contrast(tiny_bench, "sycophancy", layer=0, name="syc0")


@pytest.fixture(scope="module")
def small_help():
    return scores.helpfulness_score(limit=12)


@pytest.fixture(scope="module")
def result(tiny_bench, vec, small_help):
    return tiny_bench.sweep("syc0", COEFFS, helpfulness=small_help, sample_options={"n": 2, "max_new_tokens": 4})


def test_sweep_result_shape(result):
    assert isinstance(result, wb.SweepResult)
    assert list(result.frame.columns) == ["coefficient", "alignment", "helpfulness", "accuracy"]
    assert result.coefficients == sorted(COEFFS)
    assert result.frame["alignment"].between(0, 1).all()
    assert (result.frame["helpfulness"] < 0).all()
    assert result.frame["accuracy"].between(0, 1).all()
    for curve in ("alignment", "helpfulness"):
        for kind in ("linear", "quadratic"):
            assert -1e-9 <= result.r2(curve, kind) <= 1 + 1e-9
        assert result.r2(curve, "quadratic") >= result.r2(curve, "linear") - 1e-9


def test_batched_sweep_equals_a_per_coefficient_loop(tiny_bench, vec, small_help, result):
    loop = tiny_bench.sweep("syc0", COEFFS, helpfulness=small_help, batched=False)
    for column in ("alignment", "helpfulness", "accuracy"):
        np.testing.assert_allclose(result.frame[column], loop.frame[column], atol=1e-5)


def test_all_coefficients_share_each_forward_pass(tiny_bench, vec, monkeypatch):
    passes = []
    original = residual.forward_many

    def spy(bench, planned):
        passes.extend(len(rows) for rows, *_ in planned)
        return original(bench, planned)

    monkeypatch.setattr(scores, "forward_many", spy)
    score = scores.helpfulness_score(limit=4)  # 8 rows (correct + one wrong each)
    score(tiny_bench, vec, COEFFS, batch_size=64)
    assert passes == [64]  # 8 rows x 8 coefficients in one pass
    passes.clear()
    score(tiny_bench, vec, COEFFS, batched=False)
    assert passes == [8] * len(COEFFS)


def test_sweep_scores_match_a_direct_steered_forward(tiny_bench, vec):
    """The coefficient-0 row is the unsteered model; a row at r adds r * scale * v."""
    item = vectors.contrast_pairs("sycophancy", "test")[0]
    prompt = vectors.ab_prompt(tiny_bench, item, True)
    a, _b = vectors.letter_ids(tiny_bench)
    queries = [[(len(prompt.input_ids) - 1, a)]]
    ((r0,), (r3,)) = [s[0] for s in scores.steered_scores(tiny_bench, vec, [0.0, 3.0], [prompt.input_ids], queries)]
    plain = steering.token_logprobs(tiny_bench, prompt.input_ids[:-1], [prompt.input_ids[-1:]])[0][0]
    full = residual.forward_once(tiny_bench, [prompt.input_ids], queries)[0][0]
    assert r0 == pytest.approx(full, abs=1e-5)
    plan = interventions.plan(tiny_bench, {"syc0": 3.0})
    steered = residual.forward_once(tiny_bench, [prompt.input_ids], queries, layer=0,
                                 deltas=plan.deltas[0][None])[0][0]
    assert r3 == pytest.approx(steered, abs=1e-5) and r3 != pytest.approx(r0, abs=1e-6)
    assert isinstance(plain, float)


def test_custom_scorers_replace_the_defaults(tiny_bench, vec):
    seen = {}

    def alignment(bench, vector, coefficients):
        seen["vector"] = vector
        return [2 * c + 1 for c in coefficients]

    def helpfulness(bench, vector, coefficients, **options):
        seen["options"] = options
        return {"helpfulness": [-(c**2) for c in coefficients], "extra": [0] * len(coefficients)}

    out = tiny_bench.sweep(vec, [-2, -1, 0, 1, 2], alignment=alignment, helpfulness=helpfulness, threshold=1.0)
    assert seen["vector"] is vec and seen["options"]["batched"] is True
    assert out.r2("alignment", "linear") == pytest.approx(1.0)
    assert out.r2("helpfulness", "quadratic") == pytest.approx(1.0)
    assert out.fits["alignment"]["linear"].coef == pytest.approx([1.0, 2.0])
    assert "extra" in out.frame
    # dA/dr = 2, helpfulness lost per unit r = 2r: the rate 1/r stays >= 1 up to r = 1
    lo, hi = out.efficient_range
    assert lo == 0.0 and hi == pytest.approx(1.0, abs=0.02)


def test_fit_and_efficient_range_edge_cases():
    f = sweep.fit([0, 1, 2, 3], [1, 3, 5, 7], 1)
    assert f.r2 == pytest.approx(1.0) and f(4) == pytest.approx(9.0)
    flat = sweep.fit([0, 1, 2], [0.5, 0.5, 0.5], 1)
    assert sweep.efficient_range([0, 1, 2], flat, sweep.fit([0, 1, 2], [0, -1, -4], 2), 1.0) is None
    down = sweep.fit([-1, 0, 1], [1, 0, -1], 1)  # alignment rises towards negative r
    helpful = sweep.fit([-1, 0, 1], [0, 0, 0], 2)
    assert sweep.efficient_range([-1, 0, 1], down, helpful, 1.0) == (-1.0, 0.0)


@pytest.mark.parametrize(
    "coefficients, kwargs, error, message",
    [
        ([0, 1, float("nan")], {}, ValueError, r"coefficient must be a finite number, not nan"),
        ([0, 1, math.inf], {}, ValueError, r"not inf"),
        ([0, 1, 1], {}, ValueError, r"at least 3 distinct coefficients"),
        ([0, 1, 2], {"layer": 9}, ValueError, r"layer must be a whole number in 0..1 .* not 9"),
        ([0, 1, 2], {"threshold": -1}, ValueError, r"threshold must be a number >= 0"),
    ],
)
def test_bad_sweep_input(tiny_bench, vec, monkeypatch, coefficients, kwargs, error, message):
    monkeypatch.setattr(scores, "forward_many", lambda *a, **k: pytest.fail("nothing may run"))
    with pytest.raises(error, match=message):
        tiny_bench.sweep("syc0", coefficients, **kwargs)
    with pytest.raises(KeyError, match=r"No vector named 'missing'; registered: .*syc0"):
        tiny_bench.sweep("missing", [0, 1, 2])


def test_chart_is_a_jupyter_chart_with_a_coefficient_selection(result):
    import altair as alt

    chart = result.chart()
    assert isinstance(chart, alt.JupyterChart)
    spec = chart.chart.to_dict()
    params = [p for layer in spec["spec"]["layer"] for p in layer.get("params", [])] + spec.get("params", [])
    assert [p["select"]["fields"] for p in params if p["name"] == sweep.SELECTION] == [["coefficient"]]
    assert "R²" in str(spec["title"])
    assert hasattr(chart.selections, sweep.SELECTION)


def test_clicking_a_coefficient_loads_steered_samples(result):
    chart = result.chart()
    picked = []
    result.on_select(lambda r, samples: picked.append((r, samples)))
    # what the front-end sends when a point is clicked: the Vega signal of the selection
    chart._vl_selections = {
        sweep.SELECTION: {"value": {"vlPoint": {"or": [{"coefficient": 2.0}]}}, "store": []}
    }
    assert picked and picked[0][0] == 2.0
    samples = picked[0][1]
    assert isinstance(samples, wb.Samples) and len(samples) == 2
    assert samples.settings["steer"] == {"syc0": 2.0}
    assert result.samples[2.0] is samples
    # the same seed at every coefficient: coefficient 0 is the unsteered sample
    zero = result.samples_at(0.0)
    plain = result._session.sample(result.prompt, n=2, max_new_tokens=4, seed=0, progress=False)
    assert zero.token_ids == plain.token_ids
