"""The alignment/helpfulness tradeoff of steering: sweep a coefficient, score, fit, plot.

For each coefficient ``r`` of a sweep the model is steered with ``r`` times a
vector (in units of the layer's natural scale) and scored for alignment and
helpfulness (by default :func:`~workbench.techniques.scores.alignment_score` and
:func:`~workbench.techniques.scores.helpfulness_score`, every coefficient in the same
forward passes); :func:`sweep` fits a line and a parabola to each curve and marks the
range where steering gains more alignment than it costs helpfulness.

>>> from workbench.techniques.scores import alignment_score, helpfulness_score
>>> result = sweep(bench, "ones", [-1, 0, 1], alignment=alignment_score(limit=2),
...                helpfulness=helpfulness_score(limit=2))
>>> sorted(result.fits), result.frame.columns.tolist()
(['alignment', 'helpfulness'], ['coefficient', 'alignment', 'helpfulness', 'accuracy'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..layout import check_layer
from ..recording import recorded
from . import sampling
from .interventions import check_strength, resolve
from .scores import alignment_score, helpfulness_score
from .vectors import SteeringVector

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..session import Session
    from .sampling import Samples

SELECTION = "coefficient"


# -- fits --------------------------------------------------------------------------


@dataclass
class Fit:
    """A least-squares polynomial fit ``y ~ sum(coef[i] * x**i)`` and its R^2."""

    degree: int
    coef: list
    r2: float

    def __call__(self, x: Any) -> Any:
        import numpy as np

        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=float), self.coef)


def fit(x: Sequence[float], y: Sequence[float], degree: int) -> Fit:
    """Least-squares polynomial fit of ``degree`` with its coefficient of determination."""
    import numpy as np

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) <= degree:
        raise ValueError(f"A degree-{degree} fit needs at least {degree + 1} coefficients, got {len(x)}.")
    coef = np.polynomial.polynomial.polyfit(x, y, degree)
    predicted = np.polynomial.polynomial.polyval(x, coef)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - predicted) ** 2).sum()) / total if total > 0 else 1.0
    return Fit(degree, coef.tolist(), r2)


# -- the result ----------------------------------------------------------------------


@dataclass
class SweepResult:
    """Scores of a steering vector at each coefficient, their fits and the efficient range.

    Attributes
    ----------
    vector : SteeringVector
    frame : pandas.DataFrame
        One row per coefficient: ``coefficient``, ``alignment``, ``helpfulness`` and any
        other score the scorers returned (``accuracy`` by default).
    fits : dict
        ``fits[curve]["linear" | "quadratic"]`` is a :class:`Fit` (with ``.r2``) of each
        curve against the coefficient.
    threshold : float
        Alignment gained per unit of helpfulness lost that makes steering worth it.
    efficient_range : tuple of float or None
        Coefficients (from 0 towards the direction that raises alignment) where that
        rate, read off the linear alignment fit and the quadratic helpfulness fit,
        stays above ``threshold``.
    samples : dict
        Steered samples loaded per coefficient (by clicking the chart or
        :meth:`samples_at`).
    """

    vector: Any
    frame: pd.DataFrame
    fits: dict
    threshold: float
    efficient_range: tuple | None
    prompt: Any = "Tell me about yourself."
    sample_options: dict = field(default_factory=dict)
    samples: dict = field(default_factory=dict)
    _session: Any = field(default=None, repr=False)
    _callbacks: list = field(default_factory=list, repr=False)

    @property
    def coefficients(self) -> list[float]:
        return self.frame["coefficient"].tolist()

    def _journal_summary(self) -> dict:
        fits = {curve: {kind: round(f.r2, 4) for kind, f in by_kind.items()} for curve, by_kind in self.fits.items()}
        return {"vector": getattr(self.vector, "name", str(self.vector)), "coefficients": self.coefficients,
                "efficient_range": self.efficient_range, "r2": fits,
                "scores": self.frame.round(4).to_dict(orient="list")}

    def r2(self, curve: str, kind: str) -> float:
        """R^2 of a fit: ``r2("alignment", "linear")``, ``r2("helpfulness", "quadratic")``."""
        return self.fits[curve][kind].r2

    def fit_near_zero(self, curve: str, kind: str, within: float) -> Fit:
        """Refit one curve on the coefficients with ``|r| <= within`` only."""
        near = self.frame[self.frame["coefficient"].abs() <= within]
        return fit(near["coefficient"], near[curve], 1 if kind == "linear" else 2)

    def samples_at(self, coefficient: float, **options: Any) -> Samples:
        """Steered samples of ``prompt`` at ``coefficient`` (cached per coefficient).

        The options default to ``sample_options`` (n, max_new_tokens, seed…); the seed
        is shared across coefficients so samples differ only by the steering.
        """
        coefficient = check_strength(coefficient, "coefficient")
        key = round(coefficient, 12)
        if key not in self.samples or options:
            kwargs = {"n": 4, "max_new_tokens": 32, "seed": 0, "progress": False, **self.sample_options, **options}
            out = sampling.sample(self._session, self.prompt, steer={self.vector: coefficient}, **kwargs)
            if options:
                return out
            self.samples[key] = out
        return self.samples[key]

    def on_select(self, callback: Callable[[float, Samples], None]) -> None:
        """Call ``callback(coefficient, samples)`` when a coefficient is picked on the chart."""
        self._callbacks.append(callback)

    def select(self, coefficient: float) -> Samples:
        """Load the samples at ``coefficient`` and tell the ``on_select`` callbacks."""
        samples = self.samples_at(coefficient)
        for callback in self._callbacks:
            callback(float(coefficient), samples)
        return samples

    def chart_spec(self):
        """The altair chart: one panel per curve, measured points with their linear and
        quadratic fits; clicking a point selects its coefficient (a point selection
        named ``"coefficient"``)."""
        import altair as alt
        import numpy as np
        import pandas as pd

        xs = np.linspace(min(self.coefficients), max(self.coefficients), 41)
        parts = []
        for curve in [c for c in ("alignment", "helpfulness") if c in self.fits]:
            parts.append(pd.DataFrame({"coefficient": self.frame["coefficient"], "score": self.frame[curve],
                                       "curve": curve, "series": "measured"}))
            for kind in ("linear", "quadratic"):
                model = self.fits[curve][kind]
                parts.append(pd.DataFrame({"coefficient": xs, "score": model(xs), "curve": curve,
                                           "series": f"{kind} fit"}))
        data = pd.concat(parts, ignore_index=True)
        selection = alt.selection_point(name=SELECTION, fields=["coefficient"], on="click", nearest=True,
                                        empty=False)
        base = alt.Chart().encode(
            x=alt.X("coefficient:Q", title="coefficient r (x natural scale)"),
            y=alt.Y("score:Q", title=None, scale=alt.Scale(zero=False)),
        )
        lines = base.transform_filter(alt.datum.series != "measured").mark_line(strokeDash=[4, 3]).encode(
            color=alt.Color("series:N", title="fit"))
        points = base.transform_filter(alt.datum.series == "measured").mark_circle(color="black").encode(
            size=alt.condition(selection, alt.value(220), alt.value(70)),
            tooltip=["curve:N", "coefficient:Q", "score:Q"],
        ).add_params(selection)
        r2 = "; ".join(f"{curve}: linear R² {fits['linear'].r2:.2f}, quadratic R² {fits['quadratic'].r2:.2f}"
                       for curve, fits in self.fits.items())
        window = "none" if self.efficient_range is None else "[{:.2f}, {:.2f}]".format(*self.efficient_range)
        return alt.layer(lines, points, data=data).properties(width=260, height=200).facet(
            column=alt.Column("curve:N", title=None)
        ).resolve_scale(y="independent").properties(
            title={"text": f"Steering with {self.vector.name!r} at layer {self.vector.layer} "
                           "(click a point for samples)",
                   "subtitle": [r2, f"efficient range (rate >= {self.threshold}): {window}"]})

    def chart(self):
        """An ``alt.JupyterChart``; clicking a coefficient loads steered samples at that strength.

        The click is a point selection named ``"coefficient"``; its value is observed
        from Python and :meth:`select` runs on it (samples land in ``samples``). The
        chart's JavaScript is bundled by vl-convert (no CDN), so it renders offline.

        Examples
        --------
        >>> result = sweep(bench, "ones", [-1, 0, 1], alignment=alignment_score(limit=2),
        ...                helpfulness=helpfulness_score(limit=2), sample_options={"n": 2, "max_new_tokens": 4})
        >>> chart = result.chart(); type(chart).__name__   # shown by ending a notebook cell with it
        'JupyterChart'
        >>> result.on_select(lambda r, s: print(r, len(s.texts)))
        >>> samples = result.select(1.0)   # what clicking the points at 1.0 does
        1.0 2
        """
        import altair as alt

        # the chart's scripts come from vl-convert, bundled locally: it renders with no network
        alt.JupyterChart.enable_offline()
        widget = alt.JupyterChart(self.chart_spec(), embed_options={"renderer": "svg", "actions": False})

        def picked(change: Any) -> None:
            values = [point.get("coefficient") for point in (change["new"].value or [])]
            values = [v for v in values if v is not None]
            if values:
                self.select(float(values[0]))

        widget.selections.observe(picked, [SELECTION])
        return widget

    def _repr_markdown_(self) -> str:
        lines = [f"**SweepResult** for `{self.vector.name}` (layer {self.vector.layer})", ""]
        for curve, kinds in self.fits.items():
            lines.append(f"- {curve}: linear R² {kinds['linear'].r2:.3f}, quadratic R² {kinds['quadratic'].r2:.3f}")
        lines.append(f"- efficient range (threshold {self.threshold}): {self.efficient_range}")
        return "\n".join(lines) + "\n\n" + self.frame.to_markdown(index=False) if _has_tabulate() else "\n".join(lines)


def _has_tabulate() -> bool:
    import importlib.util

    return importlib.util.find_spec("tabulate") is not None


def efficient_range(coefficients: Sequence[float], alignment: Fit, helpfulness: Fit,
                    threshold: float) -> tuple | None:
    """Coefficients from 0 where alignment gained per unit of helpfulness lost stays above ``threshold``.

    The rate at ``r`` is the marginal one from the fits,
    ``dA/dr / (-dH/dr)``, in the direction of ``r`` that raises alignment; where
    helpfulness does not fall the rate counts as infinite. Returns ``(lo, hi)``
    (one end is 0) or ``None`` when alignment does not move.
    """
    import numpy as np

    slope = alignment.coef[1] if len(alignment.coef) > 1 else 0.0
    if slope == 0:
        return None
    sign = 1.0 if slope > 0 else -1.0
    edge = max(coefficients) if sign > 0 else min(coefficients)
    if edge * sign <= 0:
        return None
    grid = np.linspace(0.0, edge, 201)
    c = list(helpfulness.coef) + [0.0] * 3
    dh = c[1] + 2 * c[2] * grid  # d helpfulness / d r
    da = np.polynomial.polynomial.polyval(grid, np.polynomial.polynomial.polyder(alignment.coef))
    loss = -dh * sign  # helpfulness lost per unit step towards more alignment
    gain = da * sign
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(loss > 0, gain / loss, np.inf)
    good = rate >= threshold
    if not good[0]:
        return None
    last = len(grid) if good.all() else int(np.argmin(good))
    end = float(grid[last - 1])
    return (min(0.0, end), max(0.0, end))


def _call(scorer: Callable, session: Session, vector: Any, coefficients: list, options: dict) -> Any:
    """Call a scorer with the options its signature accepts (all of them given ``**kwargs``)."""
    import inspect

    try:
        parameters = inspect.signature(scorer).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return scorer(session, vector, coefficients)
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return scorer(session, vector, coefficients, **options)
    names = {p.name for p in parameters}
    return scorer(session, vector, coefficients, **{k: v for k, v in options.items() if k in names})


@recorded("sweep")
def sweep(session: Session, vector: Any, coefficients: Sequence[float], *,
          alignment: Callable | None = None, helpfulness: Callable | None = None,
          layer: int | None = None, threshold: float = 1.0, batch_size: int = 64,
          prompt: Any = "Tell me about yourself.", sample_options: Mapping | None = None,
          batched: bool = True) -> SweepResult:
    """Score a steering vector at each coefficient; fit and plot alignment against helpfulness.

    See :meth:`workbench.Workbench.sweep`.
    """
    import pandas as pd

    vector = vector if isinstance(vector, SteeringVector) else session.vectors[vector]
    resolve(session, {vector: 0.0})
    if layer is not None:
        check_layer(session, layer)
    coefficients = [check_strength(c, "A coefficient") for c in coefficients]
    if len(set(coefficients)) < 3:
        raise ValueError(f"A sweep needs at least 3 distinct coefficients (for the quadratic fit), got {coefficients}.")
    if threshold is None or not isinstance(threshold, (int, float)) or threshold < 0:
        raise ValueError(f"threshold must be a number >= 0, not {threshold!r}.")
    options = {"layer": layer, "batch_size": batch_size, "batched": batched}
    frame = pd.DataFrame({"coefficient": coefficients})
    curves = []
    for label, scorer in (("alignment", alignment or alignment_score()),
                          ("helpfulness", helpfulness or helpfulness_score())):
        values = _call(scorer, session, vector, coefficients, options)
        if not isinstance(values, Mapping):
            values = {label: values}
        for key, column in values.items():
            column = list(column)
            if len(column) != len(coefficients):
                raise ValueError(f"The {label} score returned {len(column)} values "
                                 f"for {len(coefficients)} coefficients.")
            frame[key if key not in frame else f"{label}_{key}"] = column
        curves.append((label, next(iter(values)) if next(iter(values)) in frame else label))
    fits = {}
    for label, column in curves:
        fits[label] = {"linear": fit(frame["coefficient"], frame[column], 1),
                       "quadratic": fit(frame["coefficient"], frame[column], 2)}
        if column != label:
            frame = frame.rename(columns={column: label})
    window = efficient_range(coefficients, fits["alignment"]["linear"], fits["helpfulness"]["quadratic"], threshold)
    frame = frame.sort_values("coefficient").reset_index(drop=True)
    return SweepResult(vector, frame, fits, threshold, window, prompt, dict(sample_options or {}), _session=session)
