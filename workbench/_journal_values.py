"""How the journal writes values as JSON: inputs kept in full or summarised, results summarised.

An input is kept in full when it is plain data (strings, numbers, conversations,
settings) or can be found again by name (a registered steering vector, a dataset
file with its digest); a tensor, array, DataFrame, in-memory dataset or function is
written as a short summary (type, shape or length, digest), which makes the entry
impossible to replay. A result gives its own summary through ``_journal_summary()``
(see the result classes of ``workbench.techniques``), and is kept whole when its
JSON is under ``RESULT_LIMIT`` characters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

INPUT_LIMIT = 200_000  # characters of JSON kept in full per input
RESULT_LIMIT = 20_000  # characters of JSON under which the whole result is kept


class _TooBig(Exception):
    pass


def digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:16]


def short(text: Any, width: int) -> str:
    text = str(text).replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


def _summary_of(value: Any) -> dict:
    """A short account of a value that cannot be kept in full: type, shape or length, digest."""
    kind = type(value).__name__
    out: dict = {"$summary": f"{type(value).__module__.split('.')[0]}.{kind}"}
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        out.update(shape=list(value.shape), dtype=str(value.dtype))
        try:
            import numpy as np

            array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
            if array.nbytes <= 64 * 2**20 and array.dtype != object:
                out["digest"] = digest(np.ascontiguousarray(array).tobytes())
        except Exception:  # a digest is a courtesy
            pass
    elif kind == "Dataset" and hasattr(value, "digest") and hasattr(value, "rows"):
        out.update(kind=value.kind, rows=len(value.rows), source=str(value.source), digest=value.digest)
    elif callable(value):
        out["name"] = getattr(value, "__qualname__", repr(value)[:80])
    else:
        if hasattr(value, "__len__"):
            with contextlib.suppress(TypeError):
                out["len"] = len(value)
        for attribute in ("column_names", "columns"):
            if hasattr(value, attribute):
                out["columns"] = [str(c) for c in list(getattr(value, attribute))[:20]]
        if hasattr(value, "columns") and hasattr(value, "shape"):  # a DataFrame
            out["shape"] = list(value.shape)
            try:
                import pandas as pd

                out["digest"] = digest(pd.util.hash_pandas_object(value).to_numpy().tobytes())
            except TypeError:  # unhashable cells (lists): shape and columns only
                pass
        out["repr"] = short(repr(value), 160)
    return out


def encode(value: Any, session: Any = None) -> tuple[Any, bool]:
    """``(JSON-safe value, whether it is kept in full)`` for one input of a call on ``bench``."""
    encoded, complete = _enc(value, session)
    if complete:
        text = json.dumps(encoded, ensure_ascii=False, default=str)
        if len(text) > INPUT_LIMIT:
            length = len(value) if hasattr(value, "__len__") else None
            return {"$summary": type(value).__name__, "len": length, "digest": digest(text.encode())}, False
    return encoded, complete


def _registered(value: Any, session: Any) -> dict | None:
    """``{"$probe": name}`` (or ``$sae``, ``$vector``) when ``value`` is registered on ``bench`` under a name."""
    for key, attribute in (("$probe", "probes"), ("$sae", "saes"), ("$vector", "vectors")):
        registry = getattr(session, attribute, None)
        for name in registry.names() if registry is not None else ():
            item = registry[name]
            if item is value or getattr(item, "sae", None) is value:
                return {key: name}
    return None


def _enc(value: Any, session: Any = None) -> tuple[Any, bool]:
    if value is None or isinstance(value, (bool, int, str)):
        return value, True
    if isinstance(value, float):
        return (value, True) if math.isfinite(value) else ({"$float": str(value)}, True)
    if isinstance(value, os.PathLike):
        return os.fspath(value), True
    if isinstance(value, (list, tuple)):
        items = [_enc(v, session) for v in value]
        return [v for v, _ in items], all(ok for _, ok in items)
    if isinstance(value, dict):
        pairs = [(_enc(k, session), _enc(v, session)) for k, v in value.items()]
        ok = all(k[1] and v[1] for k, v in pairs)
        if all(isinstance(k, str) for k in value):
            return {k: v for (k, _), (v, _) in pairs}, ok
        return {"$items": [[k, v] for (k, _), (v, _) in pairs]}, ok
    kind = type(value).__name__
    if kind == "SteeringVector" and isinstance(getattr(value, "name", None), str):
        return {"$vector": value.name, "layer": value.layer, "source": value.source}, True
    if kind == "Dataset" and hasattr(value, "rows") and Path(str(value.source)).is_file():
        return {"$dataset": str(value.source), "rows": len(value.rows), "digest": value.digest}, True
    if hasattr(value, "item") and getattr(value, "shape", None) == () and not hasattr(value, "detach"):
        return _enc(value.item())  # a numpy scalar
    reference = _registered(value, session)
    return (reference, True) if reference else (_summary_of(value), False)


def _hashable(key: Any) -> Any:
    """A dict key read back from JSON: tuples were written as lists."""
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    for key in ("$vector", "$probe", "$sae"):
        if key in value:
            return value[key]
    if "$float" in value:
        return float(value["$float"])
    if "$items" in value:  # a dict with keys that are not strings, e.g. (layer, neuron) tuples
        return {_hashable(decode(k)): decode(v) for k, v in value["$items"]}
    if "$dataset" in value:
        from .datasets import read_dataset

        data = read_dataset(value["$dataset"])
        if data.digest != value.get("digest"):
            raise ValueError(f"The dataset file {value['$dataset']!r} changed since it was recorded (digest "
                             f"{data.digest}, recorded {value.get('digest')}); the call cannot be replayed as it was.")
        return data
    return {k: decode(v) for k, v in value.items()}


def _plain(value: Any, budget: list) -> Any:
    """A JSON form of a result; raises ``_TooBig`` once it passes the budget of characters."""
    if budget[0] < 0:
        raise _TooBig
    if value is None or isinstance(value, (bool, int)):
        budget[0] -= 6
        return value
    if isinstance(value, float):
        budget[0] -= 20
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        budget[0] -= len(value) + 2
        return value
    kind = type(value).__name__
    if kind in ("SteeringVector", "Dataset") or isinstance(value, os.PathLike):
        return _enc(value)[0]
    if hasattr(value, "item") and getattr(value, "shape", None) == () and not hasattr(value, "detach"):
        return _plain(value.item(), budget)
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame
        budget[0] -= 12 * value.size
        if budget[0] < 0:
            raise _TooBig
        return {"columns": [str(c) for c in value.columns], "rows": _plain(value.to_numpy().tolist(), budget)}
    if hasattr(value, "shape") and hasattr(value, "tolist"):  # an array or tensor
        size = value.numel() if hasattr(value, "numel") else value.size
        budget[0] -= 12 * int(size)
        if budget[0] < 0:
            raise _TooBig
        return _plain((value.detach().cpu() if hasattr(value, "detach") else value).tolist(), budget)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"$type": kind}
        for f in dataclasses.fields(value):
            if not f.name.startswith("_"):
                out[f.name] = _plain(getattr(value, f.name), budget)
        return out
    if isinstance(value, dict):
        return {str(k): _plain(v, budget) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v, budget) for v in value]
    return _summary_of(value)


def full(result: Any) -> tuple[Any, dict | None]:
    """The whole result as JSON when under ``RESULT_LIMIT`` characters, else ``(None, why)``."""
    try:
        plain = _plain(result, [RESULT_LIMIT])
    except _TooBig:
        return None, {"reason": f"larger than {RESULT_LIMIT // 1000} KB of JSON"}
    size = len(json.dumps(plain, ensure_ascii=False, default=str))
    if size > RESULT_LIMIT:
        return None, {"reason": f"larger than {RESULT_LIMIT // 1000} KB of JSON", "chars": size}
    return plain, None


def summarise(result: Any) -> dict:
    """The result's own ``_journal_summary()``, else a generic account."""
    method = getattr(result, "_journal_summary", None)
    if callable(method):
        return _plain(method(), [10 * RESULT_LIMIT])
    if isinstance(result, dict):
        return {str(k): summarise(v) for k, v in list(result.items())[:20]}
    if result is None or isinstance(result, (bool, int, float)):
        return {"value": _plain(result, [100])}
    if isinstance(result, str):
        return {"value": short(result, 200), "chars": len(result)}
    return {"type": type(result).__name__, "repr": short(repr(result), 300)}


def result_seed(summary: dict, result: Any) -> int | None:
    seed = summary.get("seed", getattr(result, "seed", None))
    if seed is None and summary and all(isinstance(v, dict) for v in summary.values()):
        seed = next((v.get("seed") for v in summary.values() if isinstance(v.get("seed"), int)), None)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def oneline(summary: dict, error: dict | None) -> str:
    if error:
        return f"error {error.get('type')}: {short(error.get('message', ''), 100)}"
    parts = [f"{k}={short(v, 40)}" for k, v in summary.items() if isinstance(v, (str, int, float, bool))]
    texts = summary.get("texts")
    if isinstance(texts, list) and texts:
        parts.append(repr(short(texts[0], 60)))
    return ", ".join(parts[:7])


def model_identity(session: Any) -> dict | None:
    """Which model ran: name, source kind and location, and the adapter (``None``: none ran)."""
    source = getattr(session, "source", None)
    return {"name": getattr(session, "model_name", None), "kind": getattr(source, "kind", None),
            "location": getattr(source, "location", None), "adapter": adapter_identity(session)}


def adapter_identity(session: Any) -> dict | None:
    """The adapter a session runs with (name, kind, digest), or ``None`` without one or with it switched off."""
    adapter = getattr(session, "adapter", None)
    if adapter is None or not getattr(session, "adapter_enabled", True):
        return None
    return adapter.identity()


def adapter_difference(session: Any, model: Any) -> str | None:
    """Why a call recorded on ``model`` (an entry's model identity) needs another adapter than ``session`` runs with,
    or ``None`` when they match. Entries written before adapters were recorded ran without one."""
    if not isinstance(model, dict):
        return None
    recorded, here = model.get("adapter"), adapter_identity(session)

    def named(identity: Any) -> str:
        return f"the adapter {str(identity.get('name'))[:120]!r}" if isinstance(identity, dict) else "no adapter"

    if recorded is None and here is None:
        return None
    if isinstance(recorded, dict) and isinstance(here, dict) and recorded.get("name") == here.get("name") \
            and recorded.get("digest") == here.get("digest"):
        return None
    same_name = isinstance(recorded, dict) and isinstance(here, dict) and recorded.get("name") == here.get("name")
    return (f"it was recorded on {str(model.get('name'))[:160]!r} with {named(recorded)}, and this session runs "
            f"with {named(here)}" + (" whose weights differ (another digest)" if same_name else "")
            + ". Replay it on a session with the same adapter: wb.Workbench(base, adapter=...), or "
            "bench.without_adapter() for an entry recorded without one.")


def sae_identity(session: Any, name: Any) -> dict | None:
    """Name, source, layer, site and width of the SAE a call used (``name`` as recorded, ``None``: the default)."""
    name = name.get("$sae") if isinstance(name, dict) else name
    try:
        entry = session.saes.get(name if isinstance(name, str) else None)
        return {"name": entry.name, "source": str(entry.source), "layer": entry.layer, "site": entry.site.kind,
                "d_sae": entry.d_sae}
    except Exception:  # no SAE registered (the technique reports it if it needs one)
        return None


def unregistered(session: Any, technique: str, inputs: dict) -> list[str]:
    """What a recorded call names that this workbench lacks: vectors, SAEs, probes."""
    wanted: dict = {"vector": set(), "SAE": set(), "probe": set()}
    keys = {"$vector": "vector", "$sae": "SAE", "$probe": "probe"}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, kind in keys.items():
                if isinstance(value.get(key), str):
                    wanted[kind].add(value[key])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(inputs)
    steer = inputs.get("steer")
    if isinstance(steer, dict) and "$items" not in steer:
        wanted["vector"].update(steer)
    if technique == "sweep" and isinstance(inputs.get("vector"), str):
        wanted["vector"].add(inputs["vector"])
    if isinstance(inputs.get("sae"), str):
        wanted["SAE"].add(inputs["sae"])
    if technique == "from_direction" and isinstance(inputs.get("direction"), str):
        wanted["probe"].add(inputs["direction"])
    missing = []
    for kind, registry in (("vector", session.vectors), ("SAE", session.saes), ("probe", session.probes)):
        for name in sorted(wanted[kind]):
            if name not in registry:
                missing.append(f"the {kind} {name!r} (registered: {', '.join(registry.names()) or 'none'})")
    return missing
