"""The tabbed workbench: every technique's panel over the one session, linked together.

>>> view = bench.show()   # shown by ending a notebook cell with it
>>> type(view.select("steering")).__name__, view.tab, type(view.activations).__name__
('SteeringPanel', 'steering', 'ActivationPanel')

One ``ipywidgets.Tab`` holds a tab per technique. All panels share the session's
model and one :class:`~workbench.widgets.activations.ActivationPanel`: a sample of the
prefill/persona tab, a search result, a preference example or a probed text opens
there (and the activations tab comes forward); "Steer with this" on a feature adds
its slider to the steering tab (which comes forward). Tabs other than activations and
steering are built when first selected (or first read as an attribute), since some
import heavy libraries; ``lazy=False`` builds them all at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..workbench import Workbench
    from .activations import ActivationPanel
    from .attacks import AttackBox
    from .causal import CausalPanel
    from .diffing import DiffPanel
    from .journal import JournalPanel
    from .preference import PreferencePanel
    from .probes import ProbePanel
    from .search import SearchPanel
    from .steering import SteeringPanel

#: Tab names, in order, with their titles (short: the tab bar gives each about 100 pixels).
TABS = {
    "activations": "Activations",
    "steering": "Steering",
    "attacks": "Attacks",
    "search": "Data search",
    "preference": "Preference",
    "probes": "Probes",
    "causal": "Causal",
    "diff": "Model diff",
    "journal": "Journal",
}

# Notes shown in tabs, one line each (a Label does not wrap)
DIFF_HELP = ("Compare this model with a fine-tune of it: bench.show(other='path/to/checkpoint'),",
             "where other is a folder, a model id, a .gguf file or a loaded Workbench; or wb.DiffPanel(bench, other).",
             "python -m workbench.training.dpo builds a demo aligned checkpoint of the default model.")
SEARCH_DEMO = ("Searching the shipped demo corpus, workbench.corpora.demo_training_corpus(): 300 short documents,",
               "24 of which describe a planted reward-model quirk. bench.show(data=...) searches yours.")
PREFERENCE_DEMO = ("Auditing the shipped demo pairs, workbench.corpora.preference_planted(): 200 pairs with flattery",
                   "planted in the chosen answers. bench.show(pairs=...) audits yours "
                   "(prompt / chosen / rejected rows).")


class WorkbenchView:
    """Every technique's panel over one Workbench, as tabs; returned by :meth:`Workbench.show`.

    Parameters
    ----------
    bench : Workbench
    conversation : str or list of dict, optional
        What the prefill/persona tab and the steering tab start with.
    prefill : str
        The prefill of the prefill/persona tab.
    text : str or list of dict, optional
        Shown in the activations tab at once.
    data : dataset, optional
        What the data-search tab searches (anything ``wb.read_dataset`` reads);
        default: the shipped demo corpus, said so in the tab.
    pairs : dataset, optional
        The preference pairs of the preference-audit tab; default: the shipped demo
        pairs with planted flattery, said so in the tab. The audit runs on Run.
    other : str, path or Workbench, optional
        The checkpoint the model-diff tab compares with; without it the tab says how.
    prompts : list, optional
        The model-diff tab's prompts.
    sae : str, optional
        The registered SAE of the activations, feature-search and preference tabs
        (default: the session's first).
    tab : str
        The tab selected first.
    follow : bool
        Bring the activations tab forward when a text opens there, and the steering
        tab when a feature is steered with.
    lazy : bool
        Build the other tabs when first selected (``False``: all now).

    Attributes
    ----------
    activations, steering, attacks, search, preference, probes, causal, diff, journal
        The panels (built on first read; ``diff`` is ``None`` without ``other``).
    widget : ipywidgets.Tab
        The container shown (to put the workbench inside another layout).

    Examples
    --------
    >>> view = bench.show("What is your secret goal?", prefill="My secret goal is")
    >>> view.attacks.n, view.attacks.max_new_tokens = 2, 4
    >>> box = view.attacks.run(wait=True)
    >>> view.attacks.send_to_panel("assistant", 0) is view.activations, view.tab
    (True, 'activations')
    """

    def __init__(self, bench: Workbench, conversation: Any = None, *, prefill: str = "", text: Any = None,
                 data: Any = None, pairs: Any = None, other: Any = None, prompts: Any = None,
                 sae: str | None = None, tab: str = "activations", follow: bool = True, lazy: bool = True) -> None:
        import ipywidgets

        from ..datasets import Dataset, read_dataset
        from .activations import ActivationPanel
        from .steering import SteeringPanel

        self._check_tab(tab)
        self.bench = bench
        self.follow = bool(follow)
        self._conversation = conversation
        self._prefill = prefill or ""
        # datasets passed in are read now, so a bad one is refused here rather than in a tab later
        self._data = None if data is None else data if isinstance(data, Dataset) else read_dataset(data)
        self._pairs = None if pairs is None else pairs if isinstance(pairs, Dataset) else read_dataset(pairs)
        if self._pairs is not None and self._pairs.kind != "preference":
            raise ValueError(f"pairs= needs prompt / chosen / rejected rows, not a {self._pairs.kind} dataset "
                             "(a text dataset goes to data=, for the data-search tab).")
        self._other = other
        self._prompts = prompts
        if sae is not None:
            bench.saes.get(sae)  # an unknown name is refused here, naming the registered ones
        self._sae = {} if sae is None else {"sae": sae}
        self._panels: dict[str, Any] = {}
        self._boxes = {name: ipywidgets.VBox([self._note(f"{title} opens when this tab is selected.")])
                       for name, title in TABS.items()}
        self.widget = ipywidgets.Tab(children=list(self._boxes.values()), titles=list(TABS.values()))
        self.widget.add_class("wb-workbench")
        act = ActivationPanel(bench, text, sae=sae)
        self._place("activations", act, [act])
        steer = SteeringPanel(bench, "" if conversation is None else conversation, panel=act)
        self._place("steering", steer, [steer])
        act.on_show(self._on_show)
        act.on_steer(self._on_steer)  # after the steering panel's own link: its slider exists first
        self.widget.observe(self._on_tab, ["selected_index"])
        if not lazy:
            for name in TABS:
                self._build(name)
        self.select(tab)

    # -- the panels ----------------------------------------------------------------------

    @property
    def activations(self) -> ActivationPanel:
        """The one activation panel every other tab opens text in."""
        return self._build("activations")

    @property
    def steering(self) -> SteeringPanel:
        """The steering panel; "Steer with this" in :attr:`activations` adds a slider here."""
        return self._build("steering")

    @property
    def attacks(self) -> AttackBox:
        """The prefill and persona box (its own tabs: assistant, user, narrator, custom, compare)."""
        return self._build("attacks")

    @property
    def search(self) -> SearchPanel:
        """The data-search panel."""
        return self._build("search")

    @property
    def preference(self) -> PreferencePanel:
        """The preference-audit panel."""
        return self._build("preference")

    @property
    def probes(self) -> ProbePanel:
        """The probe panel."""
        return self._build("probes")

    @property
    def causal(self) -> CausalPanel:
        """The causal panel (attribution to SAE latents, activation patching)."""
        return self._build("causal")

    @property
    def diff(self) -> DiffPanel | None:
        """The model-diff panel, or ``None`` when no ``other`` checkpoint was given."""
        return self._build("diff")

    @property
    def journal(self) -> JournalPanel:
        """The journal panel (the session's journal: ``bench.journal``)."""
        return self._build("journal")

    def _build(self, name: str) -> Any:
        if name in self._panels:
            return self._panels[name]
        bench, act = self.bench, self._panels.get("activations")
        if name == "attacks":
            from .attacks import AttackBox

            panel = AttackBox(bench, self._conversation, prefill=self._prefill, panel=act)
            parts = [panel]
        elif name == "search":
            from ..corpora import demo_training_corpus
            from .search import SearchPanel

            panel = SearchPanel(bench, self._data if self._data is not None else demo_training_corpus(), panel=act,
                                **self._sae)
            parts = ([] if self._data is not None else [self._note(*SEARCH_DEMO)]) + [panel]
        elif name == "preference":
            from ..corpora import preference_planted
            from .preference import PreferencePanel

            panel = PreferencePanel(bench, self._pairs if self._pairs is not None else preference_planted(), panel=act,
                                    **self._sae)
            parts = ([] if self._pairs is not None else [self._note(*PREFERENCE_DEMO)]) + [panel.chart, panel]
        elif name == "probes":
            from .probes import ProbePanel

            panel = ProbePanel(bench, panel=act)
            parts = [panel, panel.chart]
        elif name == "causal":
            from .causal import CausalPanel

            panel = CausalPanel(bench, **self._sae)
            parts = [panel, panel.chart]
        elif name == "diff":
            if self._other is None:
                panel, parts = None, [self._note(*DIFF_HELP)]
            else:
                from .diffing import DiffPanel

                panel = DiffPanel(bench, self._other, self._prompts)
                parts = [panel, panel.chart]
        elif name == "journal":
            from .journal import JournalPanel

            panel = JournalPanel(bench)
            parts = [panel]
        else:  # pragma: no cover - activations and steering are built in __init__
            raise ValueError(f"No tab {name!r}; tabs: {', '.join(TABS)}.")
        return self._place(name, panel, parts)

    def _place(self, name: str, panel: Any, parts: list) -> Any:
        self._panels[name] = panel
        self._boxes[name].children = parts
        return panel

    @staticmethod
    def _note(*lines: str, error: bool = False) -> Any:
        """Lines of plain text (``ipywidgets.Label``: never parsed as markup; the full line is its tooltip)."""
        import ipywidgets

        labels = [ipywidgets.Label(line, tooltip=line) for line in lines]
        for label in labels:
            label.style.text_color = "#a40000" if error else "#555"
        box = ipywidgets.VBox(labels)
        box.add_class("wb-tab-error" if error else "wb-tab-note")
        return box

    # -- tabs ------------------------------------------------------------------------------

    @staticmethod
    def _check_tab(name: Any) -> str:
        key = name.strip().lower() if isinstance(name, str) else name
        for tab, title in TABS.items():
            if key in (tab, title.lower()):
                return tab
        raise ValueError(f"No tab {name!r}; tabs: {', '.join(TABS)}.")

    @property
    def tab(self) -> str:
        """The name of the selected tab."""
        return list(TABS)[self.widget.selected_index or 0]

    def select(self, name: str) -> Any:
        """Bring tab ``name`` forward (building it if needed) and return its panel.

        ``name`` is a tab name (``"activations"``, ``"steering"``, ``"attacks"``,
        ``"search"``, ``"preference"``, ``"probes"``, ``"causal"``, ``"diff"``, ``"journal"``) or its title.
        """
        tab = self._check_tab(name)
        panel = self._build(tab)
        self.widget.selected_index = list(TABS).index(tab)
        return panel

    def _on_tab(self, change: Any) -> None:
        index = change["new"]
        if index is None or not 0 <= index < len(TABS):
            return
        name = list(TABS)[index]
        try:
            self._build(name)
        except Exception as error:  # shown in the tab, not lost in the kernel log
            lines = [f"{TABS[name]} could not open: {type(error).__name__}:", *str(error).splitlines()]
            self._boxes[name].children = [self._note(*lines, error=True)]

    def _on_show(self, _acts: Any) -> None:
        if self.follow:
            self.widget.selected_index = 0

    def _on_steer(self, _latent: int, _sae: str) -> None:
        if self.follow:
            self.widget.selected_index = list(TABS).index("steering")

    # -- display ----------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict) and "text/plain" in bundle:
            bundle = {**bundle, "text/plain": repr(self)}  # what a saved notebook shows without the widget
        return bundle

    def __repr__(self) -> str:
        built = [name for name in TABS if name in self._panels]
        return (f"WorkbenchView({self.bench.model_name!r}, tab={self.tab!r}, tabs={list(TABS)}, "
                f"built={built})")


__all__ = ["TABS", "WorkbenchView"]
