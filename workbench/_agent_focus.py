"""What an auditing agent last looked at, for the panels that follow it.

The MCP toolbox publishes a :class:`Focus` here each time the agent reads features: the
conversation's activations with its top latents (``top_features``), or one latent
(``feature_details``, ``nearest_features``, steering with a feature). An
:class:`~workbench.widgets.ActivationPanel` with ``follow_agent=True`` shows that text and
those features as they come, without running the model again: the activations are the
ones the agent's call computed.

>>> focus = agent_focus(bench)
>>> seen = []
>>> focus.observe(seen.append)
>>> focus.publish(Focus("agent:demo", "feature_details", latents=(3,)))
>>> seen[0].latents, focus.latest.actor
((3,), 'agent:demo')
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ._observers import Observed

__all__ = ["AgentFocus", "Focus", "agent_focus"]


@dataclasses.dataclass(frozen=True)
class Focus:
    """One look of the agent's.

    Attributes
    ----------
    actor : str or None
        ``"agent:<client name>"``.
    tool : str
        The tool that looked.
    latents : tuple of int
        The features it looked at, the most relevant first.
    activations : TokenActivations or None
        The text it read them on (``None`` when it looked up a feature by id alone).
    conversation_id : str or None
    sae : str or None
    """

    actor: str | None
    tool: str
    latents: tuple[int, ...] = ()
    activations: Any = None
    conversation_id: str | None = None
    sae: str | None = None


class AgentFocus(Observed):
    """The latest :class:`Focus` of one Workbench, with observers told of each new one."""

    def __init__(self) -> None:
        self.latest: Focus | None = None

    def publish(self, focus: Focus) -> None:
        """Record ``focus`` and tell the observers (a failing observer is a warning, never the agent's error)."""
        self.latest = focus
        self._notify(focus)


def agent_focus(bench: Any) -> AgentFocus:
    """The :class:`AgentFocus` of ``bench`` (made on first use)."""
    found = bench.__dict__.get("_agent_focus")
    if found is None:
        found = bench.__dict__.setdefault("_agent_focus", AgentFocus())
    return found
