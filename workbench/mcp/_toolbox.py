"""The toolbox's state and gate: conversations, limits, the budget, pause, journaling as the agent.

:class:`ToolboxBase` holds what an agent's session over one Workbench needs between
calls (its conversations, by id) and what the person at the notebook controls (the
limits, the budget, pause and stop). :meth:`ToolboxBase.call` runs one tool (the methods
of :class:`workbench.mcp.Toolbox`) through the gate: refused when stopped or over budget,
held while paused, run under the model lock the widgets hold (so nothing interleaves on
the one model), journaled as the agent, its output fitted to the tool's character
budget. Nothing here speaks the protocol (``_server.py`` does).
"""

import dataclasses
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from .. import recording
from ..journal import _now, acting_as

#: Characters a tool's output may take, by tool (others: :data:`DEFAULT_OUTPUT_CHARS`).
DEFAULT_OUTPUT_CHARS = 4000
OUTPUT_CHARS = {"show_conversation": 8000, "read_journal": 8000, "feature_details": 10000, "steer": 6000,
                "fuzz_activations": 6000, "workbench_status": 3000, "patch_activations": 6000}
MAX_K = 50
MAX_EXAMPLES = 16


class ToolRefused(RuntimeError):
    """A tool call that the toolbox did not run: stopped, paused too long, over budget or over a limit."""


@dataclasses.dataclass
class Limits:
    """What one agent call may ask for, and what the whole session may spend (``None``: no cap).

    Attributes
    ----------
    max_n : int
        Samples per call.
    max_new_tokens : int
        New tokens per sample.
    max_calls : int or None
        Tool calls in the session (refused calls count too).
    max_sampled_tokens : int or None
        Tokens the model may generate for the agent in the session (both sides of a
        steering comparison count).
    pause_timeout_s : float
        How long a call waits while the server is paused before it is refused.
    lock_timeout_s : float
        How long a call waits for the model while a widget's run holds it.
    """

    max_n: int = 8
    max_new_tokens: int = 128
    max_calls: int | None = 500
    max_sampled_tokens: int | None = 100_000
    pause_timeout_s: float = 300.0
    lock_timeout_s: float = 600.0


@dataclasses.dataclass
class Conversation:
    id: str
    messages: list
    parent: str | None = None
    branched_at: int | None = None


def _clip(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"…[+{len(value) - limit} chars]"
    if isinstance(value, dict):
        return {k: _clip(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_clip(v, limit) for v in value]
    return value


def fit(payload: Mapping[str, Any], budget: int) -> str:
    """``payload`` as JSON of at most ``budget`` characters: long strings clipped and the clipping said.

    >>> out = fit({"text": "x" * 5000}, 1000)
    >>> len(out) <= 1000, json.loads(out)["truncated"]
    (True, 'strings clipped to 500 characters to fit the 1000-character output budget')
    >>> len(fit({"texts": ["y" * 3000] * 5}, 4000)) <= 4000
    True
    """
    text = json.dumps(payload, ensure_ascii=False, default=str)
    if len(text) <= budget:
        return text
    for limit in (2000, 1000, 500, 250, 120, 60, 30):
        clipped = _clip(dict(payload), limit)
        clipped["truncated"] = f"strings clipped to {limit} characters to fit the {budget}-character output budget"
        text = json.dumps(clipped, ensure_ascii=False, default=str)
        if len(text) <= budget:
            return text
    marker = f" …[truncated: the output is over the {budget}-character budget; ask for fewer items]"
    return text[: max(0, budget - len(marker))] + marker


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ToolRefused(f"{name} must be a whole number from {low} to {high} (the limit set for this session), "
                          f"not {value!r}.")
    return value

class ToolboxBase:
    """The state and the gate of a :class:`~workbench.mcp.Toolbox` (its tools are in ``_tools.py``)."""

    TOOLS: tuple[str, ...] = ()

    def __init__(self, bench: Any, *, datasets: Mapping[str, Any] | None = None, limits: Limits | None = None) -> None:
        from ..datasets import Dataset, read_dataset

        self.bench = bench
        self.limits = limits or Limits()
        self.datasets = {str(name): data if isinstance(data, Dataset) else read_dataset(data)
                         for name, data in (datasets or {}).items()}
        self.conversations: dict[str, Conversation] = {}
        self.calls_used = 0
        self.sampled_tokens_used = 0
        self.paused = False
        self.stopped = False
        self._state = threading.Condition()
        self._next_id = 1

    # -- the person's controls -------------------------------------------------------

    def pause(self) -> None:
        """Hold every new tool call (up to ``limits.pause_timeout_s``) until :meth:`resume`."""
        with self._state:
            self.paused = True

    def resume(self) -> None:
        """Let held and new calls run."""
        with self._state:
            self.paused = False
            self._state.notify_all()

    def stop(self) -> None:
        """Refuse every call from now on (held ones too)."""
        with self._state:
            self.stopped = True
            self._state.notify_all()

    def set_budget(self, *, calls: int | None = ..., sampled_tokens: int | None = ...) -> None:
        """Raise or lower the session's budget (``None``: no cap; left out: unchanged).

        >>> from workbench.mcp import Toolbox
        >>> box = Toolbox(bench); box.set_budget(calls=10); box.limits.max_calls
        10
        """
        with self._state:
            if calls is not ...:
                self.limits.max_calls = calls
            if sampled_tokens is not ...:
                self.limits.max_sampled_tokens = sampled_tokens

    def status(self) -> dict:
        """Budget used and left, limits, pause state."""
        lim = self.limits

        def left(cap: int | None, used: int) -> int | None:
            return None if cap is None else max(0, cap - used)

        return {"paused": self.paused, "stopped": self.stopped, "calls_used": self.calls_used,
                "calls_left": left(lim.max_calls, self.calls_used), "sampled_tokens_used": self.sampled_tokens_used,
                "sampled_tokens_left": left(lim.max_sampled_tokens, self.sampled_tokens_used),
                "max_n": lim.max_n, "max_new_tokens": lim.max_new_tokens, "pause_timeout_s": lim.pause_timeout_s}

    # -- the gate ----------------------------------------------------------------------

    def call(self, tool: str, actor: str, arguments: Mapping[str, Any]) -> str:
        """Run one tool as ``actor``: admitted, under the model lock, journaled, fitted to its output budget.

        Raises :class:`ToolRefused` (not run) or the technique's own error, each journaled.
        """
        from ..widgets._runs import model_lock

        if tool not in self.TOOLS:
            raise ToolRefused(f"No tool {tool!r}; the tools are {', '.join(self.TOOLS)}.")
        started, clock = _now(), time.perf_counter()
        text, failure = None, None
        with acting_as(actor) as written:
            try:
                self._admit()
                lock = model_lock(self.bench)
                if not lock.acquire(timeout=self.limits.lock_timeout_s):
                    raise ToolRefused(f"The model stayed busy with a run in the notebook for "
                                      f"{self.limits.lock_timeout_s:.0f} s; this call was not run. Call again later.")
                try:
                    payload = getattr(self, tool)(**arguments)
                finally:
                    lock.release()
                text = fit(payload, OUTPUT_CHARS.get(tool, DEFAULT_OUTPUT_CHARS))
            except Exception as error:  # journaled below, then raised to the agent
                failure = error
            if not written:  # no technique journaled this call: it is an entry of its own
                recording.record_call(self.bench, f"agent.{tool}", f"workbench.mcp:{tool}", dict(arguments),
                                      started=started, duration=time.perf_counter() - clock,
                                      summary={"output": text[:300]} if text else {}, error=failure)
        if failure is not None:
            raise failure
        return text

    def _admit(self) -> None:
        lim = self.limits
        with self._state:
            self.calls_used += 1
            if not self.stopped and self.paused:
                held = self._state.wait_for(lambda: self.stopped or not self.paused, timeout=lim.pause_timeout_s)
                if not held:
                    raise ToolRefused(f"The person auditing with you paused the agent; this call waited "
                                      f"{lim.pause_timeout_s:.0f} s and was not run. Call again later.")
            if self.stopped:
                raise ToolRefused("The person auditing with you stopped the agent: no more tool calls will run. "
                                  "Write up what you found.")
            if lim.max_calls is not None and self.calls_used > lim.max_calls:
                raise ToolRefused(f"The session's budget of {lim.max_calls} tool calls is spent. Write up what you "
                                  "found; the person can raise the budget.")

    def _sampling(self, n: int, max_new_tokens: int, sides: int = 1) -> None:
        lim = self.limits
        _check_int("n", n, 1, lim.max_n)
        _check_int("max_new_tokens", max_new_tokens, 1, lim.max_new_tokens)
        cost = n * max_new_tokens * sides
        cap = lim.max_sampled_tokens
        if cap is not None and self.sampled_tokens_used + cost > cap:
            raise ToolRefused(f"This call could sample {cost} tokens, more than the {cap - self.sampled_tokens_used} "
                              f"left of the session's budget of {cap}. Ask for fewer samples or tokens.")

    def _spent(self, *samples: Any) -> None:
        with self._state:
            self.sampled_tokens_used += sum(len(ids) for s in samples for ids in s.token_ids)

    def _conversation(self, conversation_id: str) -> Conversation:
        found = self.conversations.get(conversation_id)
        if found is None:
            known = ", ".join(self.conversations) or "none yet: start_conversation makes one"
            raise ToolRefused(f"No conversation {conversation_id!r} (conversations: {known}).")
        return found

    def _new(self, messages: list, parent: str | None = None, at: int | None = None) -> Conversation:
        conversation = Conversation(f"c{self._next_id}", messages, parent, at)
        self._next_id += 1
        self.conversations[conversation.id] = conversation
        return conversation

    def _look(self, tool: str, latents: Any, activations: Any = None, conversation: Conversation | None = None,
              sae: str | None = None) -> None:
        """Tell the panels that follow the agent (``ActivationPanel(follow_agent=True)``) what this call read."""
        from .._agent_focus import Focus, agent_focus
        from ..journal import current_actor

        if sae is None and len(self.bench.saes):
            sae = self.bench.saes.get().name
        agent_focus(self.bench).publish(Focus(current_actor(), tool, tuple(int(x) for x in latents), activations,
                                              conversation.id if conversation else None, sae))

    @staticmethod
    def _shown(conversation: Conversation) -> dict:
        return {"conversation_id": conversation.id, "parent": conversation.parent,
                "branched_at": conversation.branched_at,
                "turns": [{"index": i, **m} for i, m in enumerate(conversation.messages)]}

    @staticmethod
    def _samples(out: Any) -> list:
        return [{"text": text, "finish": reason} for text, reason in zip(out.completions, out.finish_reasons)]
