"""The Workbench: the ONE loaded model, its tokenizer and chat template, and registries.

Techniques live in ``workbench.techniques``; the Workbench composes them so that a
notebook needs one object, and every widget shares the same loaded model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import chat, models
from . import journal as journal_mod
from .registry import Registry
from .saes import SAERegistry
from .techniques import sampling

DEFAULT_SAE = Path(__file__).parent / "data" / "saes" / "smollm2-135m-layer12"


class Workbench:
    """One language model, loaded once, for every auditing technique.

    Parameters
    ----------
    model : str or path, optional
        ``None`` for the embedded default (SmolLM2-135M-Instruct, offline); a
        Hugging Face id; a local folder saved with ``save_pretrained``; or a path
        to a ``.gguf`` file.
    remote : bool
        Run on NDIF through nnsight's remote execution (the weights stay there).
    device : str, optional
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``…; default: CUDA when available.
    dtype : str or torch.dtype, optional
        Default: float32 on CPU, the checkpoint's dtype on a GPU.
    chat_template : str, optional
        A Jinja chat template replacing the tokenizer's own (needed for a tokenizer
        that has none).
    trust_remote_code : bool
        Run code shipped with the checkpoint. Off unless you ask for it.
    load_default_sae : bool
        With the embedded default model, register the embedded SAE as ``"default"``.
    journal : path, Journal or False, optional
        Where every technique call is recorded (``bench.journal``, a :class:`Journal`):
        one JSON line per call (inputs, seed, model, SAE, duration, result summary),
        flushed to disk as it ends. Default: ``workbench-journal-<YYYYmmdd-HHMMSS>.jsonl``
        in the working directory (next to the notebook), or what the environment
        variable ``WORKBENCH_JOURNAL`` names (a file, a folder, or ``off``). An
        existing file is appended to. ``False`` keeps the journal in memory only.
        ``bench.replay(entry)`` runs a recorded call again.

    Examples
    --------
    >>> import workbench as wb
    >>> bench = wb.Workbench()                                  # doctest: +SKIP
    >>> bench.sample("Hi", n=4, max_new_tokens=16).texts        # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        remote: bool = False,
        device: str | None = None,
        dtype: Any = None,
        chat_template: str | None = None,
        trust_remote_code: bool = False,
        load_default_sae: bool = True,
        journal: Any = None,
    ) -> None:
        self.source = models.resolve(model, remote=remote)
        self.remote = bool(remote)
        self.model, self.tokenizer, self.device = models.load(
            self.source, device=device, dtype=dtype, trust_remote_code=trust_remote_code
        )
        if self.tokenizer is None:
            raise models.ModelUnavailableError(
                f"{self.source.name!r} has no tokenizer; the workbench needs one to render conversations."
            )
        self.chat_template = chat_template
        self.saes = SAERegistry(self)
        self.vectors = Registry("vector")
        self.probes = Registry("probe")
        self._feature_stats: dict = {}
        self.journal = journal_mod.open_journal(journal)
        if load_default_sae and self.source.kind == "default" and DEFAULT_SAE.is_dir():
            self.saes.load_path(DEFAULT_SAE, name="default")

    # -- facts about the model ---------------------------------------------------

    @property
    def config(self) -> Any:
        """The model's (text) config."""
        config = self.model._module.config
        return config.get_text_config() if hasattr(config, "get_text_config") else config

    @property
    def model_name(self) -> str:
        return self.source.name

    @property
    def n_layers(self) -> int:
        return int(self.config.num_hidden_layers)

    @property
    def hidden_size(self) -> int:
        return int(self.config.hidden_size)

    @property
    def context_length(self) -> int | None:
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(self.config, key, None)
            if isinstance(value, int):
                return value
        return None

    @property
    def pad_token_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else self.tokenizer.eos_token_id)

    # -- conversations and sampling ----------------------------------------------

    def render(
        self,
        conversation: str | Mapping | Sequence[Mapping],
        *,
        persona: str = chat.ASSISTANT,
        prefill: str | None = None,
    ) -> chat.RenderedPrompt:
        """Render a conversation through the chat template, exactly as ``sample`` would.

        Examples
        --------
        >>> bench.render("Hi", prefill="My secret goal is").text     # doctest: +SKIP
        """
        return chat.render(
            self.tokenizer, conversation, persona=persona, prefill=prefill,
            chat_template=self.chat_template,
        )

    def sample(
        self,
        conversation: str | Mapping | Sequence[Mapping],
        n: int = 8,
        *,
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        prefill: str | None = None,
        persona: str = chat.ASSISTANT,
        cancel: threading.Event | None = None,
        progress: bool | Callable[[int, int], None] = True,
        steer: Mapping | None = None,
        layer: int | None = None,
        positions: str = "all",
        fuzz: float = 0.0,
        neurons: Mapping | None = None,
    ) -> sampling.Samples:
        """Sample ``n`` continuations of a conversation in one batched generate.

        Parameters
        ----------
        conversation : str or list of dict
            ``"Hi"`` or ``[{"role": "user", "content": "Hi"}, ...]``.
        n : int
            How many samples (one batch).
        max_new_tokens, temperature, top_p
            Decoding settings; ``temperature=0`` decodes greedily.
        seed : int, optional
            The same seed (with the same settings) gives the same samples. Without
            one a seed is drawn and recorded on the result.
        prefill : str, optional
            Words written at the start of the assistant's reply for the model to
            continue (a *prefill attack*).
        persona : str
            ``"assistant"``, ``"user"`` (the model writes the next user turn),
            ``"narrator"`` (raw continuation of the transcript) or any role name.
        cancel : threading.Event, optional
            Set it (from another thread or a widget) to stop after the current
            token; the partial result has ``cancelled=True``.
        progress : bool or callable
            Show a progress bar on long runs, or call ``progress(step, total)``
            after each decoded token (a widget's progress bar).
        steer : dict, optional
            ``{vector name: coefficient}`` of vectors in ``bench.vectors`` (see
            ``workbench.techniques.steering``), added to the residual stream on every
            decoding step through nnsight. A coefficient is in units of the layer's
            natural scale (its typical residual norm). Recorded in ``settings``.
            The same seed with and without ``steer`` draws the same random numbers,
            so the difference is the steering alone (coefficient 0 changes nothing);
            ``steering.compare`` runs both.
        layer : int, optional
            Add every vector at this layer (default: each at its own layer).
        positions : {"all", "generated"}
            Edit every position (prompt included), or only the positions that
            predict new tokens.
        fuzz : float
            Activation fuzzing: add fresh Gaussian noise of this norm, relative to the
            layer's natural scale, at ``layer`` (else the vectors' layer, else the
            middle layer). Seeded by ``seed``.
        neurons : dict, optional
            MLP neuron edits on every decoding step, through nnsight:
            ``{(layer, neuron): ("scale", factor)}`` multiplies a neuron's activation
            (1.0 changes nothing), ``{(layer, neuron): ("clamp", value)}`` fixes it,
            at every position (see ``workbench.techniques.neurons``). Combines with
            ``steer``; recorded in ``settings``.

        Returns
        -------
        Samples

        Examples
        --------
        >>> out = bench.sample("What is your goal?", n=16, prefill="My secret goal is")  # doctest: +SKIP
        >>> out.to_pandas().head()                                                         # doctest: +SKIP
        >>> bench.sample("Is the Earth flat?", n=4, steer={"sycophancy": 0.5}, seed=0)     # doctest: +SKIP
        """
        return sampling.sample(
            self, conversation, n, max_new_tokens=max_new_tokens, temperature=temperature,
            top_p=top_p, seed=seed, prefill=prefill, persona=persona, cancel=cancel,
            progress=progress, steer=steer, layer=layer, positions=positions, fuzz=fuzz,
            neurons=neurons,
        )

    def sweep(self, vector: Any, coefficients: Sequence[float], **kwargs: Any):
        """Sweep a steering vector's coefficient, scoring alignment and helpfulness at each.

        Parameters
        ----------
        vector : str or SteeringVector
            A name in ``bench.vectors``.
        coefficients : sequence of float
            Strengths in units of the layer's natural scale (at least 3 distinct);
            they all run batched in the same forward passes.
        alignment, helpfulness : callable, optional
            ``fn(bench, vector, coefficients, **options)`` returning one value per
            coefficient (or a dict of such lists, the first being the curve).
            Defaults: held-out A/B contrast pairs and the shipped benign question set.
        threshold : float
            Alignment gained per unit of helpfulness lost that marks the efficient range.
        layer, batch_size, prompt, sample_options
            Where to steer; rows per forward pass; what clicking the chart samples.

        Returns
        -------
        SweepResult

        Examples
        --------
        >>> result = bench.sweep("sycophancy", [-1, -0.5, 0, 0.5, 1])   # doctest: +SKIP
        >>> result.r2("alignment", "linear"), result.chart()             # doctest: +SKIP
        """
        from .techniques import sweep

        return sweep.sweep(self, vector, coefficients, **kwargs)

    # -- activations and features ------------------------------------------------

    def activations(self, text_or_conversation: Any, sae: str | None = None, k: int = 32):
        """Per-token SAE latents and the logit lens of a text or conversation (one forward pass).

        Parameters
        ----------
        text_or_conversation : str or list of dict
            A string is run as is; a conversation is rendered through the chat template.
        sae : str, optional
            A registered SAE; default the first one (none registered: no latents).
        k : int
            Latents kept per token.

        Returns
        -------
        TokenActivations

        Examples
        --------
        >>> acts = bench.activations("The cat sat on the mat")   # doctest: +SKIP
        >>> acts.top_features(2)                                  # doctest: +SKIP
        """
        from .techniques import activations

        return activations.activations(self, text_or_conversation, sae=sae, k=k)

    def feature_stats(self, sae: str | None = None, corpus: Sequence[str] | None = None, **kwargs: Any):
        """Density, top examples and promoted tokens of every latent of an SAE (cached on disk).

        Examples
        --------
        >>> bench.feature_stats().feature(7).examples[:3]         # doctest: +SKIP
        """
        from . import features

        if corpus is not None:  # cached on disk, keyed by the corpus itself
            return features.feature_stats(self, sae, corpus, **kwargs)
        entry = self.saes.get(sae)
        key = (entry.name, tuple(sorted(kwargs.items())))
        cached = self._feature_stats.get(key)
        if cached is None or cached.entry is not entry:  # a re-registered name gets new stats
            cached = self._feature_stats[key] = features.feature_stats(self, sae, None, **kwargs)
        return cached

    # -- model diffing -----------------------------------------------------------

    def compare(self, other: Any, prompts: Any = None, **kwargs: Any):
        """Diff this model against a checkpoint of the same architecture (e.g. a fine-tune of it).

        ``other`` is a model id, folder, ``.gguf`` file or loaded Workbench; a checkpoint
        whose shapes differ is refused, naming the parameter. ``prompts`` (default a few
        short ones) go through the chat template. ``direction``, ``layers``, ``neurons``,
        ``n_samples``, ``max_new_tokens``, ``seed``, ``batch_size``, ``progress`` and
        ``cancel`` as in ``workbench.techniques.diffing.compare``. Returns a ``ModelDiff``:
        per-layer residual change (and its projection on ``direction``), neuron changes,
        and both models' samples side by side.

        Examples
        --------
        >>> diff = bench.compare("path/to/dpo-checkpoint", ["Insult me."], direction="insult")  # doctest: +SKIP
        >>> diff.layers, diff.samples, diff.chart()                                            # doctest: +SKIP
        """
        from .techniques import diffing

        return diffing.compare(self, other, prompts, **kwargs)

    # -- probes and neurons ------------------------------------------------------

    def probe(self, positive: Sequence[Any], negative: Sequence[Any], **kwargs: Any):
        """Fit a linear probe separating two sets of texts or conversations (one or every layer).

        Parameters
        ----------
        positive, negative : list of str or conversations
            At least 4 of each; conversations go through the chat template.
        **kwargs
            ``layer`` (int, list, ``"all"`` or None for every layer), ``position``
            (``"mean"`` or ``"last"``), ``test_size``, ``seed``, ``batch_size``,
            ``progress``, ``cancel``, ``name``, ``register``: see
            ``workbench.techniques.probes.probe``.

        Returns
        -------
        Probe
            Registered in ``bench.probes`` (unless ``register=False``).

        Examples
        --------
        >>> p = bench.probe(["You idiot."] * 8, ["Thank you."] * 8)   # doctest: +SKIP
        >>> p.per_layer, p.chart()                                    # doctest: +SKIP
        """
        from .techniques import probes

        return probes.probe(self, positive, negative, **kwargs)

    def value_vectors(self, direction: Any, **kwargs: Any):
        """MLP neurons whose value vectors point along a direction, with the tokens they promote.

        ``direction`` is a probe or vector (or its registered name), an SAE latent as
        ``("sae-name", latent)``, or a tensor; ``top``, ``layers`` and ``vocab_k`` as in
        ``workbench.techniques.neurons.value_vectors``. Returns a ``ValueVectors``.

        Examples
        --------
        >>> bench.value_vectors("sycophancy", top=10).to_pandas()   # doctest: +SKIP
        """
        from .techniques import neurons

        return neurons.value_vectors(self, direction, **kwargs)

    def neuron_activations(self, neurons: Any, prompts: Any, **kwargs: Any):
        """Activation of MLP neurons (``(layer, neuron)`` pairs, a ValueVectors or an edits dict) on prompts.

        ``batch_size`` and ``reduce`` (``"mean"`` or ``"max"`` over tokens, or the ``"last"`` token) as in
        ``workbench.techniques.neurons.neuron_activations``. Returns a DataFrame.

        Examples
        --------
        >>> bench.neuron_activations([(3, 117)], ["You idiot.", "Thank you."])   # doctest: +SKIP
        """
        from .techniques import neurons as neuron_module

        return neuron_module.neuron_activations(self, neurons, prompts, **kwargs)

    # -- training data -----------------------------------------------------------

    def search(self, dataset: Any, query: Any, mode: str = "keyword", **kwargs: Any):
        """Search a dataset by keyword, regex, meaning (the model's own embeddings) or SAE latent.

        Parameters
        ----------
        dataset : Dataset, path, list, DataFrame or datasets.Dataset
            See ``wb.read_dataset``.
        query : str, list of str, or int
            Keywords / regular expressions, a text (``semantic``) or a latent (``feature``).
        mode : {"keyword", "regex", "semantic", "feature"}
        **kwargs
            ``k``, ``field``, ``layer``, ``sae``, ``max_tokens``, ``batch_size``,
            ``progress``, ``cancel``: see ``workbench.techniques.data_search.search``.

        Returns
        -------
        SearchResult

        Examples
        --------
        >>> data = wb.corpora.demo_training_corpus()                          # doctest: +SKIP
        >>> bench.search(data, "chocolate").to_pandas()                       # doctest: +SKIP
        >>> bench.search(data, "reward models like chocolate", mode="semantic")  # doctest: +SKIP
        """
        from .techniques import data_search

        return data_search.search(self, dataset, query, mode, **kwargs)

    def contrast(self, pairs: Any, **kwargs: Any):
        """Audit a preference dataset: which SAE latents separate chosen from rejected responses.

        Parameters
        ----------
        pairs : Dataset, path, list, DataFrame or datasets.Dataset
            Preference rows (``prompt``, ``chosen``, ``rejected``); see ``wb.read_dataset``.
        **kwargs
            ``sae``, ``field_prompt``, ``batch_size``, ``max_tokens``, ``progress``,
            ``cancel``, ``top_examples``: see ``workbench.techniques.preference.contrast``.

        Returns
        -------
        PreferenceAudit

        Examples
        --------
        >>> audit = bench.contrast(wb.corpora.preference_planted())   # doctest: +SKIP
        >>> audit.top(10)                                             # doctest: +SKIP
        """
        from .techniques import preference

        return preference.contrast(self, pairs, **kwargs)

    def show(self, conversation: Any = None, **kwargs: Any):
        """Every technique's panel over this model, as linked tabs (options: :class:`workbench.WorkbenchView`).

        >>> view = bench.show("What is your goal?", prefill="My secret goal is")   # doctest: +SKIP
        """
        from .widgets.app import WorkbenchView

        return WorkbenchView(self, conversation, **kwargs)

    # -- the journal ---------------------------------------------------------------

    def replay(self, entry: Any) -> Any:
        """Run a journaled call again on this workbench, with its recorded inputs and seed.

        The replay is journaled too, with ``replay_of`` naming the original entry.

        Parameters
        ----------
        entry : Entry, int or str
            An entry (from this journal or one read with ``wb.Journal.load``), or an
            index or id in ``bench.journal``.

        Returns
        -------
        The technique's new result.

        Raises
        ------
        ValueError
            When an input was recorded only as a summary (a tensor, DataFrame,
            in-memory dataset, function), or the call names a vector, SAE or probe
            that is not registered on this workbench.

        Examples
        --------
        >>> old = wb.Journal.load("workbench-journal-20250101-120000.jsonl")   # doctest: +SKIP
        >>> bench.replay(old.last("sample")).texts                             # doctest: +SKIP
        """
        from . import recording, techniques

        techniques.load_all()
        return recording.replay(self, entry)

    def export_html(self, path: str | Path, widgets: Any = None) -> Path:
        """Write the journal (findings first, notes, entries) and this session's panels, as last left, to one
        HTML page that renders offline; see :func:`workbench.export.export_html`.

        >>> bench.export_html("audit.html")                              # doctest: +SKIP
        """
        from .export import export_html

        return export_html(path, bench=self, widgets=widgets)

    def __repr__(self) -> str:
        where = "remote (NDIF)" if self.remote else self.device
        lines = [
            f"Workbench({self.model_name!r}, source={self.source.kind})",
            f"  model: {type(self.model._module).__name__}, {self.n_layers} layers, "
            f"hidden size {self.hidden_size}, vocab {self.config.vocab_size}",
            f"  runs on: {where}",
            f"  SAEs: {', '.join(repr(self.saes[n]) for n in self.saes.names()) or 'none'}",
            f"  vectors: {', '.join(self.vectors.names()) or 'none'}",
            f"  probes: {', '.join(self.probes.names()) or 'none'}",
        ]
        return "\n".join(lines)
