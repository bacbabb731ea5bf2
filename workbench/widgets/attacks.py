"""The attack box: prefill attacks, persona tabs and the hidden-system-prompt toggle.

>>> box = wb.AttackBox(bench, "What is your goal?", prefill="My secret goal is", n=4, max_new_tokens=4)
>>> box.keywords = "secret"   # the keyword box: one pattern a line
>>> list(box.run(wait=True).samples), box.counts["rows"]   # the prefill's own words are highlighted, not counted
(['assistant'], [{'pattern': 'secret', 'counts': [0]}])

The auditor edits a system prompt, the turns of a conversation and the prefill,
picks a persona tab (assistant, user, narrator, a custom role, or *compare*, which
runs them all on one seed) and presses Run. The run goes in a worker thread, so
the progress bar moves and Cancel stops it after the current token. Results come
back as traits: each sample's prefill and continuation, near-duplicates grouped
with counts, keyword / regex matches with per-persona counts. Every action is also
a Python call: :meth:`AttackBox.run`, :meth:`AttackBox.cancel`,
:attr:`AttackBox.samples`, :meth:`AttackBox.pick`, :meth:`AttackBox.send_to_panel`.
"""

from __future__ import annotations

import keyword
import threading
from typing import TYPE_CHECKING, Any

import traitlets

from .. import chat
from ..techniques import attacks
from ._base import STATIC, Panel, request, utf16_index
from ._links import ActivationLink

if TYPE_CHECKING:  # pragma: no cover
    from ..techniques.sampling import Samples
    from ..workbench import Workbench
    from .activations import ActivationPanel

#: The persona tabs; "custom" uses ``custom_role``; "compare" runs them all.
TABS = ("assistant", "user", "narrator", "custom", "compare")
#: Most samples one run may ask for.
MAX_N = 256
_TOP_WORDS = 12


def _patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class AttackBox(ActivationLink, Panel):
    """Prefill attacks and persona sampling over one conversation, with Run and Cancel.

    Parameters
    ----------
    bench : Workbench
    conversation : str or list of dict, optional
        The starting transcript; a system message in it fills the system prompt.
    prefill : str
        The start of the assistant's reply.
    system_prompt : str, optional
    persona : str
        The tab to open: ``"assistant"``, ``"user"``, ``"narrator"``, ``"compare"``
        or a custom role name.
    panel : ActivationPanel, optional
        Where "activations" sends a sample. Without one the box makes its own and
        shows it under itself.
    **settings
        ``n``, ``temperature``, ``top_p``, ``max_new_tokens``, ``seed``,
        ``keywords`` (one per line), ``compare_system``, ``group``.
    """

    _esm = STATIC / "attacks.js"

    system_prompt = traitlets.Unicode("").tag(sync=True)
    compare_system = traitlets.Bool(False).tag(sync=True)
    turns = traitlets.List(traitlets.Dict()).tag(sync=True)
    prefill = traitlets.Unicode("").tag(sync=True)
    narrator_text = traitlets.Unicode("").tag(sync=True)
    persona = traitlets.Unicode("assistant").tag(sync=True)
    custom_role = traitlets.Unicode("").tag(sync=True)
    n = traitlets.Int(8).tag(sync=True)
    temperature = traitlets.Float(1.0).tag(sync=True)
    top_p = traitlets.Float(1.0).tag(sync=True)
    max_new_tokens = traitlets.Int(48).tag(sync=True)
    seed = traitlets.Int(None, allow_none=True).tag(sync=True)
    keywords = traitlets.Unicode("").tag(sync=True)
    regex = traitlets.Bool(True).tag(sync=True)
    group = traitlets.Bool(True).tag(sync=True)
    variable = traitlets.Unicode("sample").tag(sync=True)
    results = traitlets.List(traitlets.Dict()).tag(sync=True)
    matches = traitlets.Dict().tag(sync=True)
    counts = traitlets.Dict().tag(sync=True)
    library = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, bench: Workbench, conversation: Any = None, *, prefill: str = "",
                 system_prompt: str | None = None, persona: str = "assistant",
                 panel: ActivationPanel | None = None, **settings: Any) -> None:
        messages = chat.normalize(conversation) if conversation is not None else [
            {"role": "user", "content": ""}]
        system = [m["content"] for m in messages if m["role"] == "system"]
        custom = ""
        if persona not in TABS:
            persona, custom = "custom", persona
        super().__init__(
            bench,
            turns=[m for m in messages if m["role"] != "system"],
            system_prompt=system_prompt if system_prompt is not None else "\n".join(system),
            prefill=prefill or "", persona=persona, custom_role=custom, **settings,
        )
        self._samples: dict[str, Samples] = {}
        self._panel = panel
        self.picked: list[dict] = []
        self._refresh_library()

    # -- what the run is -------------------------------------------------------------

    @property
    def conversation(self) -> list[dict]:
        """The transcript the box would run: system prompt (if any) and turns."""
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt.strip() else []
        turns = [{"role": t.get("role", ""), "content": t.get("content", "")} for t in self.turns]
        return chat.normalize(system + [t for t in turns if not isinstance(t["content"], str) or t["content"].strip()])

    def _personas(self) -> tuple[list[str], dict[str, str]]:
        role = self.custom_role.strip()
        if self.persona == "custom" and not role:
            raise ValueError("Name the custom role (e.g. 'developer' or 'Alice') in the role box.")
        if self.persona == "compare":
            personas = ["assistant", "user", "narrator"] + ([role] if role and role not in TABS else [])
        elif self.persona == "custom":
            personas = [role]
        elif self.persona in TABS:
            personas = [self.persona]
        else:
            raise ValueError(f"persona must be one of {', '.join(TABS)}, not {self.persona!r}.")
        prefills = {}
        for persona in personas:
            if persona == chat.NARRATOR:
                prefills[persona] = self.narrator_text
            elif persona != chat.USER:
                prefills[persona] = self.prefill
        return personas, {p: t for p, t in prefills.items() if t}

    def _check(self) -> dict:
        if not 1 <= self.n <= MAX_N:
            raise ValueError(f"n must be between 1 and {MAX_N} samples, not {self.n}.")
        if not any(isinstance(t.get("content"), str) and t["content"].strip() for t in self.turns):
            raise ValueError("Write at least one turn of the conversation (e.g. a user question).")
        conversation = self.conversation
        personas, prefills = self._personas()
        return {"conversation": conversation, "personas": personas, "prefills": prefills,
                    "system_prompt": self.system_prompt or None, "compare_system": self.compare_system,
                    "n": self.n, "temperature": self.temperature, "top_p": self.top_p,
                    "max_new_tokens": self.max_new_tokens, "seed": self.seed}

    # -- running -----------------------------------------------------------------------

    def run(self, wait: bool = False, timeout: float | None = None) -> AttackBox:
        """Start a run with the box's current settings (as the Run button does).

        Settings are checked here, so bad ones raise at once. With ``wait`` the call
        returns when the run has ended; the outcome is in :attr:`samples` (or
        :attr:`error`).
        """
        with self._shown():
            spec = self._check()
        bench = self.bench

        def work(cancel: threading.Event, progress: Any) -> Any:
            conversation = spec.pop("conversation")
            return attacks.run_attack(bench, conversation, cancel=cancel, progress=progress, **spec)

        self._launch(work, status="running…", wait=wait, timeout=timeout,
                     total=self.max_new_tokens * self._run_count(spec))
        return self

    @staticmethod
    def _run_count(spec: dict) -> int:
        return len(spec["personas"]) * (2 if spec["compare_system"] else 1)

    def _on_done(self, comparison: attacks.PersonaComparison) -> str:
        self._samples = dict(comparison.samples)
        cancelled = any(s.cancelled for s in self._samples.values())
        with self.hold_sync():
            self.results = [self._result(key, s) for key, s in self._samples.items()]
            self._update_filters()
            n = sum(len(s) for s in self._samples.values())
            self.progress = {**self.progress, "step": self.progress.get("total", 0)}
        return f"{'cancelled: ' if cancelled else ''}{n} samples in {len(self._samples)} run(s)"

    def _result(self, key: str, samples: Samples) -> dict:
        groups = attacks.group_samples(samples)
        return {
            "key": key,
            "persona": samples.persona,
            "prefill": samples.prefill or "",
            "prompt": samples.prompt,
            "seed": samples.seed,
            "cancelled": samples.cancelled,
            "samples": [
                {"text": text, "n_tokens": len(ids), "logprob": round(float(sum(lp)), 3), "finish": reason}
                for text, ids, lp, reason in zip(samples.texts, samples.token_ids, samples.logprobs,
                                                 samples.finish_reasons)
            ],
            "groups": [{"count": int(row["count"]), "members": [int(i) for i in row["samples"]]}
                       for _, row in groups.iterrows()],
        }

    # -- keyword filter ----------------------------------------------------------------

    @traitlets.observe("keywords", "regex")
    def _keywords_changed(self, _change: Any) -> None:
        if getattr(self, "_samples", None):
            try:
                self._update_filters()
                self.error = ""
            except ValueError as error:
                self._show_error(error)

    def _update_filters(self) -> None:
        patterns = _patterns(self.keywords)
        matches: dict[str, list] = {}
        if patterns:
            for key, samples in self._samples.items():
                spans = attacks.find_matches(samples, patterns, regex=self.regex)
                matches[key] = [
                    [[utf16_index(text, a), utf16_index(text, b), name] for a, b, name in row]
                    for text, row in zip(samples.completions, spans)
                ]
        self.matches = matches
        self.counts = self._counts(patterns)

    def _counts(self, patterns: list[str]) -> dict:
        if not self._samples:
            return {}
        columns = list(self._samples)
        if patterns:
            rows = []
            for pattern in patterns:
                cells = []
                for samples in self._samples.values():
                    table = attacks.keyword_counts(samples, [pattern], regex=self.regex)
                    cells.append(int(table["samples_with_match"].iloc[0]))
                rows.append({"pattern": pattern, "counts": cells})
            kind = "keywords"
        else:
            table = attacks.PersonaComparison(self._samples).keywords(top=_TOP_WORDS)
            rows = [{"pattern": word, "counts": [round(float(table.loc[word, c]) * len(self._samples[c]))
                                                 for c in columns]} for word in table.index]
            kind = "top words"
        return {"kind": kind, "columns": columns, "n": [len(s) for s in self._samples.values()], "rows": rows}

    # -- results -------------------------------------------------------------------------

    @property
    def samples(self) -> dict[str, Samples]:
        """The last run's samples by run label (``"assistant"``, ``"user · without system prompt"``, ...)."""
        return dict(self._samples)

    @property
    def comparison(self) -> attacks.PersonaComparison:
        """The last run as a :class:`~workbench.techniques.attacks.PersonaComparison`."""
        return attacks.PersonaComparison(dict(self._samples))

    def _sample(self, key: str, index: int) -> tuple[Samples, int]:
        if key not in self._samples:
            raise ValueError(f"No run {key!r} in the results; runs: {list(self._samples) or 'none yet'}.")
        samples = self._samples[key]
        if not 0 <= index < len(samples):
            raise ValueError(f"sample index must be in 0..{len(samples) - 1}, not {index}.")
        return samples, index

    def pick(self, key: str, index: int, name: str | None = None) -> dict:
        """One sample as a plain dict, also assigned to the notebook variable ``name``.

        The dict has ``prompt`` (the exact text the model saw), ``prefill``,
        ``continuation``, ``completion`` (prefill + continuation), ``persona``,
        ``seed``, ``index`` and ``run``.
        """
        samples, index = self._sample(key, int(index))
        name = self.variable if name is None else name
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"{name!r} is not a valid Python variable name; use e.g. 'sample'.")
        value = {
            "run": key, "index": index, "persona": samples.persona, "prefill": samples.prefill or "",
            "continuation": samples.texts[index], "completion": samples.completions[index],
            "prompt": samples.prompt, "seed": samples.seed,
        }
        self.picked.append(value)
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:  # pragma: no cover - IPython comes with the widgets
            shell = None
        if shell is not None:
            shell.user_ns[name] = value
        return value

    def send_to_panel(self, key: str, index: int) -> ActivationPanel:
        """Show a sample (its prompt and continuation) in the activation panel."""
        samples, index = self._sample(key, int(index))
        return self._show_in_panel(samples.prompt + samples.texts[index])

    # -- the attack library ----------------------------------------------------------

    def _refresh_library(self) -> None:
        try:
            frame = attacks.attack_library()
        except ValueError as error:
            self._show_error(error)
            return
        self.library = frame.to_dict("records")

    # -- requests from the front-end -------------------------------------------------

    @request
    def start(self) -> dict:
        """The Run button."""
        if self._runs.running:
            raise ValueError("A run is already going: wait for it or press Cancel.")
        self.run()
        return {"started": True}

    @request
    def to_variable(self, key: str, index: int) -> dict:
        """Assign a sample to the notebook variable named in the box."""
        value = self.pick(key, index)
        return {"name": self.variable, "completion": value["completion"]}

    @request
    def to_panel(self, key: str, index: int) -> dict:
        """Send a sample to the activation panel."""
        panel = self.send_to_panel(key, index)
        return {"tokens": len(panel.tokens), "own_panel": self._panel is None}

    @request
    def save_attack(self, name: str, kind: str, text: str) -> dict:
        """Add the current prefill / system prompt / role / narrator text to the library."""
        attacks.save_attack(name, kind, text)
        self._refresh_library()
        return {"saved": name}


__all__ = ["TABS", "AttackBox"]
