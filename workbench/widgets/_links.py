"""Panels that send text to an activation panel, their own or one the auditor links."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .activations import ActivationPanel


class ActivationLink:
    """Mixin for a widget with ``bench``: "activations" shows text in an activation panel.

    With ``self._panel`` set (a linked :class:`ActivationPanel`) text goes there; without,
    the widget makes its own panel, hidden until first used, and displays it under
    itself, so one click shows the activations.
    """

    _panel: ActivationPanel | None = None
    _own_panel: ActivationPanel | None = None

    @property
    def panel(self) -> ActivationPanel:
        """The activation panel that "activations" sends text to."""
        if self._panel is not None:
            return self._panel
        if self._own_panel is None:
            from .activations import ActivationPanel

            self._own_panel = ActivationPanel(self.bench)  # type: ignore[attr-defined]
            self._own_panel.layout.display = "none"
        return self._own_panel

    def _show_in_panel(self, text: Any) -> ActivationPanel:
        panel = self.panel
        panel.show(text)
        panel.layout.display = None
        return panel

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        if self._panel is not None:
            return super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        import ipywidgets

        return ipywidgets.VBox([self, self.panel])._repr_mimebundle_(**kwargs)
