"""The Workbench: the ONE loaded model, its tokenizer and chat template, and registries.

Techniques live in ``workbench.techniques``; the Workbench composes them so that a
notebook needs one object, and every widget shares the same loaded model.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator, Mapping, Sequence

from . import chat, models
from .techniques import sampling


class Registry:
    """Named objects of one kind registered on a session (SAEs, vectors, probes)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Any] = {}

    def register(self, name: str, item: Any) -> Any:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A {self.kind} needs a non-empty string name, not {name!r}.")
        self._items[name] = item
        return item

    def __getitem__(self, name: str) -> Any:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none yet"
            raise KeyError(f"No {self.kind} named {name!r}; registered: {known}.") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __repr__(self) -> str:
        return f"{self.kind}s[{', '.join(self.names())}]"


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
        self.saes = Registry("SAE")
        self.vectors = Registry("vector")
        self.probes = Registry("probe")

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
        progress: bool = True,
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
        progress : bool
            Show a progress bar on long runs.

        Returns
        -------
        Samples

        Examples
        --------
        >>> out = bench.sample("What is your goal?", n=16, prefill="My secret goal is")  # doctest: +SKIP
        >>> out.to_pandas().head()                                                         # doctest: +SKIP
        """
        return sampling.sample(
            self, conversation, n, max_new_tokens=max_new_tokens, temperature=temperature,
            top_p=top_p, seed=seed, prefill=prefill, persona=persona, cancel=cancel,
            progress=progress,
        )

    def __repr__(self) -> str:
        where = "remote (NDIF)" if self.remote else self.device
        lines = [
            f"Workbench({self.model_name!r}, source={self.source.kind})",
            f"  model: {type(self.model._module).__name__}, {self.n_layers} layers, "
            f"hidden size {self.hidden_size}, vocab {self.config.vocab_size}",
            f"  runs on: {where}",
            f"  SAEs: {', '.join(self.saes.names()) or 'none'}",
            f"  vectors: {', '.join(self.vectors.names()) or 'none'}",
            f"  probes: {', '.join(self.probes.names()) or 'none'}",
        ]
        return "\n".join(lines)
