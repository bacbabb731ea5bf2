"""The Session: the ONE loaded model, where it runs, and what is registered on it.

A :class:`Session` holds the nnsight-wrapped model and its tokenizer, the chat
template conversations are rendered with, the registries of SAEs, steering vectors
and probes, the investigation journal, and the declared caches that techniques fill.
Every trace and every generation over the model is opened here, by
:meth:`Session.trace` and :meth:`Session.generate`, so where the model runs (locally
or on NDIF) differs in this one place only.

The session imports no technique and no widget: techniques are plain functions over a
session (``workbench.techniques``), and :class:`workbench.Workbench`, the facade users
hold, is a Session with a method per technique.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import adapters, chat, models
from . import journal as journal_mod
from . import remote as remote_mod
from .registry import Registry
from .saes import SAERegistry

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping, Sequence

    from .layout import Layout

DEFAULT_SAE = Path(__file__).parent / "data" / "saes" / "smollm2-135m-layer12"
# what without_adapter()'s view holds itself (and, on a remote session, the base model's module tree)
_VIEW_OWN = frozenset({"adapter_enabled", "cache", "_adapted", "_status", "model"})


@dataclass
class Caches:
    """What techniques compute once per session and keep, declared here rather than hidden on the session.

    Attributes
    ----------
    natural_scale : dict
        ``layer -> median residual-stream norm`` (see :func:`workbench.residual.natural_scale`).
    feature_stats : dict
        ``(SAE name, options) -> FeatureStats`` for the shipped corpus
        (see :func:`workbench.techniques.features.feature_stats`).
    explanations : dict
        ``(SAE name, feature statistics key) -> (SAEEntry, {explainer: {latent: record}})``: the
        explanations read from or written to disk (see :mod:`workbench.techniques.explain`).
    feature_index : dict
        ``(SAE name, dataset digest, options) -> (SAEEntry, [documents, d_sae] array)``: each
        document's strongest activation of every latent, read from or written to disk (see
        :func:`workbench.techniques.data_search.feature_index`).
    """

    natural_scale: dict[int, float] = field(default_factory=dict)
    feature_stats: dict[tuple, Any] = field(default_factory=dict)
    explanations: dict[tuple, Any] = field(default_factory=dict)
    feature_index: dict[tuple, Any] = field(default_factory=dict)

    def clear(self) -> None:
        """Forget everything (e.g. after editing the model's weights in place)."""
        self.natural_scale.clear()
        self.feature_stats.clear()
        self.explanations.clear()
        self.feature_index.clear()


class Session:
    """One language model, loaded once, with its tokenizer, registries, journal and caches.

    Parameters
    ----------
    model : str or path, optional
        ``None`` for the embedded default (SmolLM2-135M-Instruct, offline); a
        Hugging Face id; a local folder saved with ``save_pretrained``; or a path
        to a ``.gguf`` file.
    adapter : str or path, optional
        A PEFT adapter (LoRA…) attached to the model by nnsight: a folder saved by a
        peft model's ``save_pretrained`` (``adapter_config.json`` and
        ``adapter_model.safetensors``) or a Hugging Face id of one. Every technique runs
        on the adapted model; :meth:`without_adapter` is the same weights with it off.
        One that does not fit the model is refused, naming both (see :mod:`workbench.adapters`).
    remote : bool or str
        ``True``: run on NDIF through nnsight's remote execution (the weights stay
        there; only the config and tokenizer are read here). A URL
        (``"http://localhost:5001"``): the NDIF server at that host. ``"local"``: load
        the weights here but send every trace and generation as a remote request,
        serialized and run on a deserialized copy with the workbench hidden, as a server
        would (see :mod:`workbench.remote`): what passes there runs on NDIF.
    device : str, optional
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``…; default: CUDA when available.
    device_map : str or dict, optional
        transformers' placement instead of ``device``: ``"auto"`` shards the model over
        every visible GPU (inputs go to the device of its embeddings).
    dtype : str or torch.dtype, optional
        ``"bfloat16"``, ``"float16"``, ``"float32"``…; default: float32 on CPU, the
        checkpoint's dtype on a GPU. Activations are read out in float32 whatever it is
        (SAE encoding, probes and statistics run in float32).
    chat_template : str, optional
        A Jinja chat template replacing the tokenizer's own (needed for a tokenizer
        that has none).
    fold_system : bool
        For a template without a system role (Gemma's refuses one): put the system
        text at the start of the first user turn. Without it, a conversation with a
        system message that the template refuses or drops is refused, naming this option.
    trust_remote_code : bool
        Run code shipped with the checkpoint. Off unless you ask for it.
    load_default_sae : bool
        With the embedded default model, register the embedded SAE as ``"default"``
        (its weights, and sae-lens, are loaded when it is first used).
    journal : path, Journal or False, optional
        Where every technique call is recorded (``session.journal``, a
        :class:`~workbench.journal.Journal`): one JSON line per call, flushed to disk
        as it ends. Default: ``workbench-journal-<YYYYmmdd-HHMMSS>.jsonl`` in the
        working directory, or what the environment variable ``WORKBENCH_JOURNAL``
        names (a file, a folder, or ``off``). ``False`` keeps it in memory only.

    Attributes
    ----------
    model
        The nnsight ``TransformersModel``; :attr:`module` is the transformers model inside.
    tokenizer, chat_template, source
    device : str
        Where input tensors are put: the model's device (the CPU when it runs remotely).
    device_map : str, dict or None
        As passed (``None``: the model is on ``device``).
    adapter : AdapterSource or None
        The adapter loaded onto the model; ``adapter_enabled`` says whether this session
        runs with it (``False`` on the view :meth:`without_adapter` returns).
    remote : bool or str
        As passed (``False`` when the model runs here).
    requests : RequestLog
        Every remote request this session sent: bytes each way, job ids
        (:class:`~workbench.remote.RequestLog`; empty when the model runs here).
    saes, vectors, probes : registries by name
    journal : Journal
    cache : Caches
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        adapter: Any = None,
        remote: bool | str = False,
        device: str | None = None,
        device_map: Any = None,
        dtype: Any = None,
        chat_template: str | None = None,
        fold_system: bool = False,
        trust_remote_code: bool = False,
        load_default_sae: bool = True,
        journal: Any = None,
    ) -> None:
        remote = remote_mod.check(remote)
        weights_there = bool(remote) and remote != remote_mod.LOCAL
        self.source = models.resolve(model, remote=weights_there)
        self.remote = remote
        self.requests = remote_mod.RequestLog()
        self.adapter = None if adapter is None else adapters.resolve(adapter, remote=weights_there and remote)
        self.adapter_enabled = True
        self._trust_remote_code = bool(trust_remote_code)
        self.device_map = device_map
        self.model, self.tokenizer, self.device = models.load(
            self.source, adapter=self.adapter, device=device, device_map=device_map, dtype=dtype,
            trust_remote_code=trust_remote_code,
        )
        if self.tokenizer is None:
            raise models.ModelUnavailableError(
                f"{self.source.name!r} has no tokenizer; the workbench needs one to render conversations."
            )
        self.chat_template = chat_template
        self.fold_system = bool(fold_system)
        self.saes = SAERegistry(self)
        self.vectors = Registry("vector")
        self.probes = Registry("probe")
        self.cache = Caches()
        self.journal = journal_mod.open_journal(journal)
        if load_default_sae and self.source.kind == "default" and DEFAULT_SAE.is_dir():
            self.saes.register_path(DEFAULT_SAE, name="default")

    # -- facts about the model ---------------------------------------------------

    @property
    def module(self) -> Any:
        """The transformers model inside the nnsight wrapper (its weights, config, generation config)."""
        return self.model._module

    @property
    def config(self) -> Any:
        """The model's (text) config."""
        config = self.module.config
        return config.get_text_config() if hasattr(config, "get_text_config") else config

    @functools.cached_property
    def layout(self) -> Layout:
        """Where this architecture keeps its decoder layers, final norm and unembedding."""
        from .layout import layout

        return layout(self.module)

    @property
    def model_name(self) -> str:
        """The model as the user named it, with its adapter when one runs: ``"base + adapter"``."""
        if self.adapter is not None and self.adapter_enabled:
            return f"{self.source.name} + {self.adapter.name}"
        return self.source.name

    @property
    def n_layers(self) -> int:
        return int(self.config.num_hidden_layers)

    @property
    def hidden_size(self) -> int:
        return int(self.config.hidden_size)

    @property
    def vocab_size(self) -> int:
        return int(self.config.vocab_size)

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

    @property
    def dtype(self) -> Any:
        """The dtype of the model's weights."""
        return next(self.module.parameters()).dtype

    # -- the adapter -----------------------------------------------------------------

    def without_adapter(self) -> Session:
        """This session's model with its adapter switched off: the base model, from the same weights (no copy).

        A view of this session: the same model, tokenizer, registries and journal (reading
        or setting any of them reads or sets this session's), whose every trace and
        generation runs with the adapter's layers off (peft's own switch, inside the trace:
        see :func:`workbench.adapters.without_adapter`). On a remote session each request
        goes without the adapter, so that the server runs its base model (NDIF attaches an
        adapter per request), and is traced on the base model's module tree (the view holds
        its own weightless copy of it); nothing is downloaded. Its caches are its own, since
        the base model's activations differ. The same view is returned on every call;
        :meth:`with_adapter` goes back. Every technique runs on it, e.g.
        ``bench.without_adapter().sample(...)`` samples the base model.
        """
        if not self.adapter_enabled:
            return self
        if self.adapter is None:
            raise ValueError(f"{self.model_name!r} was loaded without an adapter, so there is none to switch off: "
                             "load one with Workbench(base, adapter='folder-or-hub-id').")
        view = self.__dict__.get("_base_view")
        if view is None:
            adapters.check_can_disable(self.module, self.adapter)
            view = object.__new__(type(self))
            own = {"adapter_enabled": False, "cache": Caches(), "_adapted": self}
            if self.remote:  # a server without the adapter has the base model's modules: trace on those
                own["model"] = models.skeleton(self.source, self.tokenizer, trust_remote_code=self._trust_remote_code)
            view.__dict__.update(own)
            self._base_view = view
        return view

    def __getattr__(self, name: str) -> Any:
        # Only for what an instance lacks: the view of without_adapter() reads the rest from its session.
        adapted = self.__dict__.get("_adapted")
        if adapted is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(adapted, name)

    def __setattr__(self, name: str, value: Any) -> None:
        adapted = self.__dict__.get("_adapted")
        if adapted is not None and name not in _VIEW_OWN:
            setattr(adapted, name, value)  # the view's journal, chat template… are its session's
        else:
            object.__setattr__(self, name, value)

    def with_adapter(self) -> Session:
        """The session with its adapter on: itself, or, on :meth:`without_adapter`'s view, the session it came from."""
        if self.adapter is None:
            raise ValueError(f"{self.model_name!r} was loaded without an adapter: load one with "
                             "Workbench(base, adapter='folder-or-hub-id').")
        return self if self.adapter_enabled else self._adapted

    # -- conversations -------------------------------------------------------------

    def render(
        self,
        conversation: str | Mapping | Sequence[Mapping],
        *,
        persona: str = chat.ASSISTANT,
        prefill: str | None = None,
    ) -> chat.RenderedPrompt:
        """Render a conversation through the chat template, exactly as sampling would.

        Examples
        --------
        >>> bench.render("Hi", prefill="My secret goal is").text.endswith("My secret goal is")
        True
        """
        return chat.render(
            self.tokenizer, conversation, persona=persona, prefill=prefill,
            chat_template=self.chat_template, fold_system=self.fold_system,
        )

    # -- the one place where the model runs ----------------------------------------

    def trace(self, inputs: Any, **kwargs: Any) -> Any:
        """Open an nnsight trace (one forward pass) over ``inputs``; use it as ``with session.trace(...) as tracer:``.

        Every forward pass of every technique is opened here, with this session's
        execution settings (``remote``, and the adapter switched off on the view
        :meth:`without_adapter` returns); ``kwargs`` go to nnsight's ``model.trace``.
        """
        if self.remote:  # the adapter's state travels with the request (see workbench.remote.backend)
            kwargs["backend"] = remote_mod.backend(self, "trace", self._status)
            inputs = remote_mod.compact(inputs)
        elif not self.adapter_enabled:
            kwargs["fn"] = adapters.without_adapter(self.module, kwargs.get("fn") or self.model._call)
        return self.model.trace(inputs, **kwargs)

    def generate(self, inputs: Any, **kwargs: Any) -> Any:
        """Open an nnsight generation over ``inputs``; use it as ``with session.generate(...) as tracer:``.

        Every generation of every technique is opened here (see
        :func:`workbench.generation.generate`); ``kwargs`` go on to transformers'
        ``generate``. It is nnsight's ``model.generate`` opened as a trace whose
        function is the model's generate, which is what ``with model.generate(...)``
        does, so that the ``with`` block nnsight compiles is the caller's.
        """
        fn = self._generate_fn
        if not (self.adapter_enabled or self.remote):  # a remote request carries the adapter's state instead
            fn = adapters.without_adapter(self.module, fn)
        if self.remote:
            kwargs["backend"] = remote_mod.backend(self, "generate", self._status)
            inputs = remote_mod.compact(inputs)
        return self.model.trace(inputs, fn=fn, **kwargs)

    def trace_each(self, batches: Sequence[Any], read: Any, *, stop: bool = True) -> list:
        """One trace per inputs of ``batches``, each returning ``read(inputs)`` (called inside it; ``read`` may be a
        list, one for each batch); on a remote session all of them in ONE request (nnsight's ``model.session``,
        which runs them together on the server).

        ``read`` reads envoys (and reduces what it read) inside the trace; on a remote session it
        travels with the request, so it must be a closure over envoys, tensors and plain values, calling
        only :mod:`workbench._traced` (see :func:`workbench.residual.read_batches`).
        """
        import nnsight

        reads = list(read) if isinstance(read, (list, tuple)) else [read] * len(batches)
        if len(reads) != len(batches):
            raise ValueError(f"trace_each got {len(reads)} reads for {len(batches)} batches.")
        if not self.remote:
            out = []
            for inputs, read in zip(batches, reads):
                with self.trace(inputs) as tracer:
                    value = nnsight.save(read(inputs))
                    if stop:
                        tracer.stop()
                out.append(value)
            return out
        model = self.model
        batches = remote_mod.compact(list(batches))
        with self.model.session(backend=remote_mod.backend(self, "session", self._status)):
            values = []
            for inputs, read in zip(batches, reads):  # on the server: the inner traces run there, and return together
                with model.trace(inputs) as tracer:
                    values.append(read(inputs))
                    if stop:
                        tracer.stop()
            values = nnsight.save(values)
        return values

    def generate_each(self, runs: Sequence[tuple[Any, Any, dict, dict]], *, seed: int,
                      score: tuple[int, Any] | None = None, reads: Sequence[tuple[Any, Any, bool]] = ()
                      ) -> tuple[list[dict], Any, list]:
        """Several generations on a REMOTE session in ONE request (nnsight's ``model.session``), after the
        forward passes of ``reads`` and before an optional scoring trace; see
        :func:`workbench.generation.generate_bundle`.

        Each run is ``(inputs, hook, state, settings)``: ``settings`` go to generate (its config,
        logits processors and stopping criteria, which fill ``state``), ``hook(model, tracer)`` (or
        ``None``) is called inside it, and the seed is set inside each. Each read is ``(inputs, read,
        stop)`` as for :meth:`trace_each`. ``score`` is ``(run, read)``: a forward pass over run ``run``'s
        sequences (attention: its prompt's mask, then ones) that returns ``read(sequences)``, called
        inside it. Returns every run's ``state``, what the scoring ``read`` returned (``None`` without
        ``score``) and what each of ``reads`` returned.
        """
        import nnsight
        import torch

        if not self.remote:
            raise ValueError("generate_each bundles a remote session's generations into one request; a local "
                             "session runs them one after another with session.generate.")
        model = self.model
        reads = [(remote_mod.compact(inputs), read, stop) for inputs, read, stop in reads]
        runs = [(remote_mod.compact(inputs), *rest) for inputs, *rest in runs]
        # nnsight finds a nested block by its line in the session's body: inside it, no comment lines and no
        # `with` statement split over lines (either shifts the lines it reads, and the request fails)
        with model.session(backend=remote_mod.backend(self, "session", self._status)):
            values = []
            for inputs, read, stop in reads:
                with model.trace(inputs) as tracer:
                    values.append(read(inputs))
                    if stop:
                        tracer.stop()
            states = []
            for inputs, hook, state, settings in runs:
                with model.generate(inputs, **settings) as tracer:
                    torch.manual_seed(seed)
                    states.append(state)
                    if hook is not None:
                        hook(model, tracer)
            scores = None
            if score is not None:
                mask = runs[score[0]][0]["attention_mask"]
                sequences = states[score[0]]["sequences"].to(mask.device)
                ones = torch.ones(sequences.shape[0], sequences.shape[1] - mask.shape[1], dtype=mask.dtype)
                full = {"input_ids": sequences, "attention_mask": torch.cat([mask, ones.to(mask.device)], 1)}
                with model.trace(full):
                    scores = score[1](sequences)
            values = nnsight.save(values)
            states = nnsight.save(states)
            scores = nnsight.save(scores)
        return states, scores, values

    _status = None  # a widget's ``status(text)`` while it runs: a remote job's progress (queued, running...)

    @functools.cached_property
    def _generate_fn(self) -> Any:
        method = getattr(type(self.model).generate, "__wrapped__", None)
        if method is None:  # pragma: no cover - an nnsight whose generate is not a traceable wrapper
            raise RuntimeError("This nnsight's model.generate cannot be opened as a trace; the workbench needs "
                               "nnsight >= 0.8.1.")
        return method.__get__(self.model, type(self.model))

    def __repr__(self) -> str:
        where = ("remote (NDIF), simulated here: remote='local'" if self.remote == remote_mod.LOCAL
                 else f"remote (NDIF at {self.remote})" if isinstance(self.remote, str)
                 else "remote (NDIF)" if self.remote else self.device)
        lines = [
            f"{type(self).__name__}({self.model_name!r}, source={self.source.kind})",
            f"  model: {type(self.module).__name__}, {self.n_layers} layers, "
            f"hidden size {self.hidden_size}, vocab {self.vocab_size}",
            f"  runs on: {where}" + (f", device_map={self.device_map!r}" if self.device_map is not None else "")
            + f", {str(self.dtype).removeprefix('torch.')}",
            *([f"  adapter: {self.adapter.name!r} ({self.adapter.describe()})"
               + ("" if self.adapter_enabled else ", switched off: this is the base model")]
              if self.adapter is not None else []),
            f"  SAEs: {', '.join(repr(self.saes[n]) for n in self.saes.names()) or 'none'}",
            f"  vectors: {', '.join(self.vectors.names()) or 'none'}",
            f"  probes: {', '.join(self.probes.names()) or 'none'}",
        ]
        return "\n".join(lines)
