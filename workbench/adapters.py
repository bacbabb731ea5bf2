"""PEFT adapters (LoRA and its relatives) on the loaded model: where one comes from, and switching it off.

An adapter is a folder saved by peft's ``save_pretrained`` (``adapter_config.json`` and
``adapter_model.safetensors``) or a Hugging Face id of one. :func:`resolve` checks it
before anything loads: a folder offline, a Hub id from the cache or, when the Hub can be
reached, downloaded (a clear error within seconds otherwise, naming the id). Only
safetensors are read, never a pickled ``adapter_model.bin``, and no code the adapter
ships runs.

The adapter is attached by nnsight (``TransformersModel(..., peft=...)``, see
:func:`workbench.models.load`), in place: each targeted module becomes peft's layer
holding the original as ``base_layer``, and every module path stays what it was, so
every technique runs on the adapted model unchanged, and so that NDIF can swap the same
adapter in per request (``_remoteable_get_env``).

Switching it off needs no second copy of the weights: :func:`disabled` is peft's own
switch (``enable_adapters(False)`` on every adapter layer, what ``PeftModel.disable_adapter``
does), and :func:`without_adapter` wraps the function a trace runs in it, so the forward
pass inside an nnsight trace is the base model's, exactly, while the trace body and its
interventions stay the caller's. :func:`effective_weight` is an adapted module's weight as
merging would make it, computed without merging in place (value vectors of an adapted
down-projection); :func:`lora_parts` says what it adds, so that a remote session's server
computes the same sum.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
PICKLED = "adapter_model.bin"
# Parts of a wrapper's state-dict names that are not the base model's own (see base_shapes).
_WRAPPERS = ("base_layer", "original_module")
_AUXILIARY = ("modules_to_save", "token_adapter")


class AdapterMismatchError(ValueError):
    """The adapter does not fit the base model it was loaded onto."""


@dataclass(frozen=True)
class AdapterSource:
    """A resolved adapter request.

    Attributes
    ----------
    kind : str
        ``"local"`` (a folder) or ``"hub"`` (a Hugging Face id).
    name : str
        What the user passed.
    location : str
        What nnsight is handed: the folder holding the adapter (a Hub adapter's cached
        snapshot), or, for remote execution, the Hub id itself (NDIF loads it).
    digest : str or None
        A digest of the config and weights, so the journal can tell two adapters saved
        under one name apart (``None`` for a remote adapter, whose weights stay there).
    config : dict
        The adapter's ``adapter_config.json`` (``peft_type``, ``r``, ``target_modules``…).
    """

    kind: str
    name: str
    location: str
    digest: str | None = None
    config: dict = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        """One phrase: ``"LORA r=4 on down_proj, q_proj"``.

        Examples
        --------
        >>> AdapterSource("local", "lora", "/x", config={"peft_type": "LORA", "r": 4,
        ...                                              "target_modules": ["q_proj", "down_proj"]}).describe()
        'LORA r=4 on down_proj, q_proj'
        """
        config = self.config
        targets = config.get("target_modules")
        targets = sorted(targets) if isinstance(targets, (list, tuple, set)) else targets
        parts = [str(config.get("peft_type", "adapter"))]
        if config.get("r") is not None:
            parts.append(f"r={config['r']}")
        text = " ".join(parts)
        if targets:
            text += " on " + (", ".join(map(str, targets)) if isinstance(targets, list) else str(targets))
        layers = config.get("layers_to_transform")
        if layers is not None:
            text += f" (layers {layers})"
        return text

    def identity(self) -> dict:
        """What the journal records: name, kind and digest."""
        return {"name": self.name, "kind": self.kind, "digest": self.digest}


# -- where an adapter comes from ----------------------------------------------------


def _read_config(folder: Path, name: str) -> dict:
    try:
        config = json.loads((folder / CONFIG).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"The adapter {name!r} has an unreadable {CONFIG}: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"The adapter {name!r} has a {CONFIG} that is not a JSON object.")
    return config


def _digest(folder: Path) -> str:
    from .models import _sampled_digest

    weights = folder / WEIGHTS
    digest = hashlib.sha256((folder / CONFIG).read_bytes())
    digest.update(_sampled_digest(weights, weights.stat().st_size).encode())
    return digest.hexdigest()[:16]


def _check_folder(folder: Path, name: str) -> Path:
    if not (folder / CONFIG).is_file():
        raise FileNotFoundError(
            f"Folder {name!r} has no {CONFIG}: point adapter= at a folder saved by a peft model's "
            "save_pretrained (adapter_config.json and adapter_model.safetensors), or a Hub id of one."
        )
    if not (folder / WEIGHTS).is_file():
        pickled = (folder / PICKLED).is_file()
        raise FileNotFoundError(
            f"Folder {name!r} has no {WEIGHTS}"
            + (f", only {PICKLED}, a pickle, which the workbench never loads (unpickling runs code). Save the "
               "adapter again with save_pretrained(..., safe_serialization=True)." if pickled else
               ": the adapter's weights are missing.")
        )
    return folder


def _from_hub(repo_id: str) -> Path:
    """The cached snapshot folder of a Hub adapter, downloaded first when the Hub can be reached."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    from .models import ModelUnavailableError, _require_hub_access

    cached = [try_to_load_from_cache(repo_id, name) for name in (CONFIG, WEIGHTS)]
    if all(isinstance(path, str) for path in cached) and Path(cached[0]).parent == Path(cached[1]).parent:
        return Path(cached[0]).parent
    _require_hub_access(repo_id, filename=CONFIG, what="Adapter",
                        advice="Point adapter= at a local folder saved by a peft model's save_pretrained instead.")
    try:
        config = hf_hub_download(repo_id, CONFIG)
    except Exception as error:  # not found, gated, no network: one message naming the id
        raise ModelUnavailableError(f"Could not read {CONFIG} of the adapter {repo_id!r} from the Hub: "
                                    f"{type(error).__name__}: {error}") from None
    try:
        weights = hf_hub_download(repo_id, WEIGHTS)
    except Exception as error:
        raise ModelUnavailableError(
            f"The adapter {repo_id!r} has no {WEIGHTS} the workbench can read ({type(error).__name__}): adapters "
            f"load from safetensors only, never from a pickled {PICKLED}."
        ) from None
    if Path(config).parent != Path(weights).parent:  # pragma: no cover - a revision pushed in between
        raise ModelUnavailableError(f"The adapter {repo_id!r} changed on the Hub while it downloaded; try again.")
    return Path(config).parent


def resolve(adapter: str | os.PathLike, *, remote: bool | str = False) -> AdapterSource:
    """Turn what the user passed as ``adapter=`` into an :class:`AdapterSource`, checking it first.

    ``remote`` is where the weights are: ``False`` (here), ``True`` (NDIF, which reads an adapter from the
    Hub) or a server's URL; a server on this machine (``localhost``, ``127.0.0.1``) reads a folder here too.

    Examples
    --------
    >>> resolve(tmp)
    Traceback (most recent call last):
    FileNotFoundError: Folder '...' has no adapter_config.json: point adapter= at a folder saved by ...
    """
    if not isinstance(adapter, (str, os.PathLike)):
        raise TypeError(f"adapter must be a folder saved by peft or a Hugging Face id, not {type(adapter).__name__}.")
    text = os.fspath(adapter)
    path = Path(text).expanduser()
    if path.is_dir():
        if remote and not on_this_machine(remote):
            raise ValueError(
                f"The adapter {text!r} is a local folder, which NDIF cannot read: with remote=True pass the "
                "Hugging Face id of an adapter pushed to the Hub (NDIF loads it there); a server on this machine "
                "(remote='http://127.0.0.1:PORT') reads the folder."
            )
        folder = _check_folder(path.resolve(), text)
        return AdapterSource("local", text, str(folder), _digest(folder), _read_config(folder, text))
    if path.exists() or text.startswith((".", "/", "~")):
        raise FileNotFoundError(f"Adapter path {text!r} is not a folder.")
    if text.count("/") != 1 or text.endswith("/") or "\\" in text:
        raise FileNotFoundError(f"There is no folder {text!r} here ({path.resolve()}), and {text!r} is not a "
                                "Hugging Face id (owner/name) either: pass a folder saved by peft, or a Hub id.")
    if remote:  # the weights stay on NDIF; nnsight reads the adapter's config to build the module tree
        return AdapterSource("hub", text, text, None, {})
    folder = _check_folder(_from_hub(text), text)
    return AdapterSource("hub", text, str(folder), _digest(folder), _read_config(folder, text))


def on_this_machine(remote: bool | str) -> bool:
    """Whether a remote session's server runs on this machine (a URL naming localhost), so that it can read a
    folder here.

    Examples
    --------
    >>> on_this_machine("http://127.0.0.1:8001"), on_this_machine(True), on_this_machine("https://ndif.us")
    (True, False, False)
    """
    if not isinstance(remote, str):
        return False
    from urllib.parse import urlparse

    return urlparse(remote).hostname in ("localhost", "127.0.0.1", "::1")


def mismatch(adapter: AdapterSource, model_name: str, error: BaseException) -> AdapterMismatchError:
    """The refusal of an adapter that does not fit the base model, naming both."""
    trained_on = adapter.config.get("base_model_name_or_path")
    on = f" (trained on {trained_on!r})" if trained_on else ""
    detail = " ".join(str(error).split())
    if len(detail) > 600:
        detail = detail[:599] + "…"
    return AdapterMismatchError(
        f"The adapter {adapter.name!r}{on} does not fit the model {model_name!r}: {detail} Load it onto the base "
        "model it was trained on: the adapter's target modules must exist there, with the same shapes."
    )


# -- the adapter on a loaded model ----------------------------------------------------


def _layers(module: Any) -> list:
    """Every adapter layer (and auxiliary wrapper, e.g. ``modules_to_save``) inside ``module``."""
    from peft.tuners.tuners_utils import BaseTunerLayer
    from peft.utils.other import AuxiliaryTrainingWrapper

    return [m for m in module.modules() if isinstance(m, (BaseTunerLayer, AuxiliaryTrainingWrapper))]


def check_can_disable(module: Any, adapter: AdapterSource) -> None:
    """Refuse an adapter whose layers, switched off, would not give the base model.

    LoRA with ``bias`` other than ``"none"`` trains the base layers' own biases, which
    switching the adapter off does not undo (peft warns the same).
    """
    configs = getattr(module, "peft_config", None)  # a remote Hub adapter's config is on the meta model
    configs = configs if isinstance(configs, dict) else {}
    bias = adapter.config.get("bias") or next((getattr(c, "bias", None) for c in configs.values()), None) or "none"
    if bias not in (None, "none"):
        raise ValueError(
            f"The adapter {adapter.name!r} trains biases (bias={bias!r}) inside the base layers, so switching it "
            "off does not give the base model. Diff against the base checkpoint itself: bench.diff('base-folder')."
        )
    if not _layers(module):
        raise ValueError(f"The model holds no adapter layers, although {adapter.name!r} was loaded onto it.")


@contextlib.contextmanager
def disabled(module: Any) -> Iterator[None]:
    """Switch every adapter layer of ``module`` off, as ``PeftModel.disable_adapter`` does, then back as it was.

    Each layer's own switch (``enable_adapters``) is used, and each parameter's
    ``requires_grad`` is put back too (switching a peft layer on marks its weights
    trainable).
    """
    layers = _layers(module)
    was_on = [not m.disable_adapters for m in layers]
    grads = [(p, p.requires_grad) for m in layers for p in m.parameters()]
    for layer, on in zip(layers, was_on):
        if on:
            layer.enable_adapters(False)
    try:
        yield
    finally:
        for layer, on in zip(layers, was_on):
            if on:
                layer.enable_adapters(True)
        for parameter, grad in grads:
            parameter.requires_grad_(grad)


def without_adapter(module: Any, fn: Callable) -> Callable:
    """``fn`` (what an nnsight trace runs: the model's forward or generate) with the adapter off while it runs.

    The trace's interventions run interleaved with ``fn``, so they see the base model's
    activations; the adapter is back on as soon as ``fn`` returns or raises (an early
    stop included).
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with disabled(module):
            return fn(*args, **kwargs)

    return run


def effective_weight(module: Any) -> Any:
    """The weight an adapted layer computes with, as merging would make it, without merging in place (float32).

    A layer without an adapter gives its own weight. For LoRA this is the base weight
    plus each active adapter's ``get_delta_weight`` (the same sum peft's ``merge`` adds),
    or, for a LoRA variant such as DoRA, the variant's own out-of-place merge.
    """
    import torch
    from peft.tuners.lora import LoraLayer
    from peft.tuners.tuners_utils import BaseTunerLayer

    if not isinstance(module, BaseTunerLayer):
        return module.weight.detach()
    base = module.get_base_layer().weight.detach()
    if module.disable_adapters or module.merged:  # off, or already merged into the base weight
        return base
    if not isinstance(module, LoraLayer):
        raise ValueError(f"The adapted layer is a {type(module).__name__}; the workbench computes the effective "
                         "weights of LoRA layers only.")
    with torch.no_grad():
        weight = base.to(torch.float32).clone()
        for name in module.active_adapters:
            if name not in module.lora_A:
                continue
            variant = getattr(module, "lora_variant", {}).get(name)
            if variant is not None:
                weight = variant.merge_safe(module, name, weight)
            else:
                weight = weight + module.get_delta_weight(name).to(weight.device, torch.float32)
    return weight


def lora_parts(module: Any) -> list[tuple[str, float, bool]]:
    """What :func:`effective_weight` adds to an adapted layer's weight, as ``(adapter name, scaling,
    fan_in_fan_out)`` per active LoRA adapter, for computing it where the weights are (a remote session's server,
    see :func:`workbench._traced.merged`); ``[]`` for a layer without an adapter, or with it off or merged.

    ``module`` may be the meta copy a remote session holds: only the adapter's configuration is read. A LoRA
    variant (DoRA…) or another tuner is refused: its merged weight is not a sum of low-rank products.
    """
    from peft.tuners.lora import LoraLayer
    from peft.tuners.tuners_utils import BaseTunerLayer

    if not isinstance(module, BaseTunerLayer) or module.disable_adapters or module.merged:
        return []
    if not isinstance(module, LoraLayer):
        raise ValueError(f"The adapted layer is a {type(module).__name__}; the workbench computes the effective "
                         "weights of LoRA layers only.")
    parts = []
    for name in module.active_adapters:
        if name not in module.lora_A:
            continue
        if getattr(module, "lora_variant", {}).get(name) is not None:
            raise ValueError(
                f"The adapter {name!r} is a LoRA variant ({type(module.lora_variant[name]).__name__}), whose merged "
                "weights a remote session does not compute; run the adapted model here to read them."
            )
        parts.append((name, float(module.scaling[name]), bool(getattr(module, "fan_in_fan_out", False))))
    return parts


def base_shapes(module: Any) -> dict[str, list[int]]:
    """``{parameter name: shape}`` of the base model inside an adapted ``module``: adapter weights left out,
    wrapped layers under their own names (``q_proj.base_layer.weight`` is ``q_proj.weight``)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    adapter_parts = set(_AUXILIARY)
    for layer in module.modules():
        if isinstance(layer, BaseTunerLayer):
            adapter_parts.update(layer.adapter_layer_names)
    shapes = {}
    for name, tensor in module.state_dict().items():
        parts = name.split(".")
        if adapter_parts.intersection(parts):
            continue
        shapes[".".join(p for p in parts if p not in _WRAPPERS)] = list(tensor.shape)
    return shapes
