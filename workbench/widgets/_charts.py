"""A panel's altair chart, shown beside the panel as an ``alt.JupyterChart``.

The chart is built on first read (with the scripts vl-convert bundles, so no CDN),
hidden while there is nothing to plot, and replaced whenever the panel calls
:meth:`ChartHolder._redraw_chart`. A panel says what to plot now in
``_current_chart()`` and may listen to a new chart's selections in ``_chart_shown``
(altair makes a new ``selections`` object for every chart).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ChartHolder"]


class ChartHolder:
    """Mixin: ``panel.chart`` is the panel's altair chart, hidden until there is something to plot."""

    _chart: Any = None

    def _current_chart(self) -> Any | None:  # pragma: no cover - each panel has its own
        """The altair chart to show now, or ``None`` to hide it."""
        raise NotImplementedError

    def _chart_shown(self, chart: Any) -> None:
        """Called after a new chart is put on display (e.g. to observe its selections)."""

    @property
    def chart(self) -> Any:
        """The panel's chart (an ``alt.JupyterChart``, offline; hidden while there is nothing to plot)."""
        if self._chart is None:
            import altair as alt

            alt.JupyterChart.enable_offline()  # scripts bundled by vl-convert: no CDN
            self._chart = alt.JupyterChart(alt.Chart().mark_line(), embed_options={"renderer": "svg", "actions": False})
            self._redraw_chart()
        return self._chart

    def _redraw_chart(self) -> None:
        if self._chart is None:
            return
        spec = self._current_chart()
        if spec is not None:
            self._chart.chart = spec
            self._chart_shown(self._chart)
        self._chart.layout.display = "none" if spec is None else None

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Shown as the panel with its chart below (a panel that shows more says so itself)."""
        import ipywidgets

        return ipywidgets.VBox([self, self.chart])._repr_mimebundle_(**kwargs)
