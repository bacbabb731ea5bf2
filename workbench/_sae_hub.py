"""Where an SAE's weights come from, for :mod:`workbench.saes`: the sae-lens registry of releases and folders.

Three things sae-lens leaves to its caller, done once here:

* **Does a release fit the loaded model?** The registry names the model each release was
  trained on (``pretrained_saes.yaml``: ``gemma-2-2b``, ``google/gemma-3-270m``,
  ``gpt2-small``...). It *matches* the loaded model when their names agree after
  :func:`model_key` (lower case, the owner prefix dropped, TransformerLens aliases such as
  ``gpt2-small`` read as ``gpt2``). The loaded model's names are what it was opened with
  (a Hub id, or a folder's name; a Hugging Face cache snapshot folder counts as its repo id)
  and its config's ``_name_or_path``. So ``google/gemma-2-2b-it`` does not match a release for
  ``gemma-2-2b``: an SAE of the base model on the chat model is a choice to make explicitly
  (``check_model=False``).
* **Offline loading of Gemma Scope 2.** sae-lens's Gemma 3 loader reads a weights file's
  tensor shapes with an HTTP range request that bypasses the Hugging Face cache;
  :func:`cached_shapes` answers it from the cached file when there is one, so a release in
  the cache loads with ``HF_HUB_OFFLINE=1``.
* **Training-format folders.** ``save_model`` of a BatchTopK or Matryoshka *training* SAE
  writes an architecture that only sae-lens's trainer knows; :func:`load_folder` converts it
  with sae-lens's own ``save_inference_model`` (both are JumpReLU SAEs at inference).

>>> model_key("google/gemma-3-270m"), model_key("gpt2-small"), model_key("/models/GPT2")
('gemma-3-270m', 'gpt2', 'gpt2')
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

# TransformerLens model names that differ from the Hugging Face repo's name
_ALIASES = {"gpt2-small": "gpt2", "mistral-7b": "mistral-7b-v0.1"}
_PATCH = threading.Lock()
# sae-lens warns that such an SAE wants a TransformerLens model loaded with these kwargs; the
# workbench reads a transformers model and applies what they change itself (see saes.SAEEntry.center)
_KWARGS_WARNING = r"\s*This SAE has non-empty model_from_pretrained_kwargs"


def model_key(name: str) -> str:
    """A model name reduced for comparison: lower case, without its owner (or folder) prefix, aliases resolved."""
    key = str(name).strip().rstrip("/").lower().rsplit("/", 1)[-1]
    return _ALIASES.get(key, key)


def loaded_model_names(session: Session) -> list[str]:
    """The names the loaded model goes by: what it was opened with, its folder, its config's ``_name_or_path``."""
    texts = [session.model_name, getattr(session.source, "location", None),
             getattr(session.module.config, "_name_or_path", None)]
    names: list[str] = []
    for text in texts:
        if not text:
            continue
        text = str(text)
        names.append(text)
        for part in Path(text).parts:  # a Hugging Face cache snapshot: .../models--owner--name/snapshots/<hash>
            if part.startswith("models--"):
                names.append(part[len("models--"):].replace("--", "/"))
    return list(dict.fromkeys(names))


def check_release_model(session: Session, release: str, release_model: str | None) -> None:
    """Refuse a release trained on another model than the loaded one, naming both (see the module docstring)."""
    if not release_model:
        return
    names = loaded_model_names(session)
    if model_key(release_model) in {model_key(name) for name in names}:
        return
    raise ValueError(
        f"The SAE release {release!r} was trained on {release_model!r}, but the loaded model is "
        f"{session.model_name!r} (names compared: {', '.join(repr(model_key(n)) for n in names)} with "
        f"{model_key(release_model)!r}). Load that model, or pass check_model=False to use this release anyway."
    )


def release_lookup(release: str) -> Any:
    """The sae-lens registry entry of ``release`` (repo id, model, conversion), or None for a raw repo id."""
    from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory

    return get_pretrained_saes_directory().get(release)


def _header_shapes(path: str) -> dict[str, list[int]]:
    from safetensors import safe_open

    with safe_open(path, framework="numpy") as handle:  # reads the header; no tensor is loaded
        return {key: list(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118


@contextmanager
def cached_shapes() -> Iterator[None]:
    """Within the block, sae-lens reads safetensors shapes from the Hugging Face cache when the file is there.

    Its own function (an HTTP range request) still answers for a file not yet downloaded.
    """
    from huggingface_hub import constants, try_to_load_from_cache
    from sae_lens.loading import pretrained_sae_loaders as loaders

    with _PATCH:
        original = loaders.get_safetensors_tensor_shapes

        def shapes(repo_id: str, filename: str) -> dict[str, list[int]]:
            cached = try_to_load_from_cache(repo_id, filename)
            if isinstance(cached, str):
                return _header_shapes(cached)
            if constants.HF_HUB_OFFLINE:
                raise FileNotFoundError(
                    f"{repo_id}/{filename} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and "
                    "HF_HUB_OFFLINE is set: download it once with the network on."
                )
            return original(repo_id, filename)

        loaders.get_safetensors_tensor_shapes = shapes
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_KWARGS_WARNING)
                yield
        finally:
            loaders.get_safetensors_tensor_shapes = original


def release_config(release: str, sae_id: str) -> dict:
    """The sae-lens config of a registry SAE, without its weights where the release allows it."""
    from sae_lens.loading.pretrained_sae_loaders import load_sae_config_from_huggingface

    with cached_shapes():
        return load_sae_config_from_huggingface(release, sae_id, device="cpu")


def load_release(release: str, sae_id: str) -> Any:
    """A registry SAE loaded by sae-lens (through the Hugging Face cache)."""
    from sae_lens import SAE

    with cached_shapes():
        return SAE.from_pretrained(release, sae_id, device="cpu")


def load_folder(folder: Path, architecture: str | None) -> Any:
    """An SAE folder in sae-lens's disk format, loaded by sae-lens; a training-format folder is converted first."""
    import tempfile

    from sae_lens import SAE, TrainingSAE
    from sae_lens.registry import SAE_CLASS_REGISTRY, SAE_TRAINING_CLASS_REGISTRY

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_KWARGS_WARNING)
        if architecture not in SAE_CLASS_REGISTRY and architecture in SAE_TRAINING_CLASS_REGISTRY:
            training = TrainingSAE.load_from_disk(folder, device="cpu")
            with tempfile.TemporaryDirectory() as tmp:
                training.save_inference_model(tmp)
                return SAE.load_from_disk(tmp, device="cpu")
        if architecture not in SAE_CLASS_REGISTRY:
            known = ", ".join(sorted(SAE_CLASS_REGISTRY))
            raise ValueError(f"{folder} holds an SAE of architecture {architecture!r}, which sae-lens does not "
                             f"know (it knows {known}).")
        return SAE.load_from_disk(folder, device="cpu")
