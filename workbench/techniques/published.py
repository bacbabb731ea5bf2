"""Explanations others published: the JSON export of the public feature dashboards, for a registry SAE.

An export is a JSON list (optionally gzipped) of objects such as::

    {"modelId": "gemma-2-2b", "layer": "20-gemmascope-res-16k", "index": "1234",
     "description": "references to chocolate", "explanationModelName": "..."}

A row belongs to the SAE when its ``modelId`` and ``layer`` (or ``saeId``) are the SAE's
dashboard id, which sae-lens lists per release (``neuronpedia_id``) for an SAE loaded
with ``bench.saes.load(release, sae_id)``; any other SAE is matched by the id you give.
The file is untrusted: it is read bounded (:data:`FILE_LIMIT` bytes, :data:`ROW_LIMIT`
rows), every row is checked (an index inside the SAE, a text description, cut at
:data:`TEXT_LIMIT` characters), rows that do not fit are counted, never guessed at, and a
description is only ever data: shown as text, never as markup, never run.

Imported explanations are kept per SAE under ``cache_dir()/explanations/imported-*.json``;
``bench.explain(latent, explainer="imported")`` scores one like any other explanation.

>>> path = tmp / "export.json"
>>> _ = path.write_text('[{"modelId": "m", "layer": "0-res", "index": "3", "description": "foxes"}]')
>>> found = bench.import_explanations(path, sae="tiny", dashboard_id="m/0-res")
>>> found.summary["imported"], found[3].text
(1, 'foxes')
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import models
from ..recording import recorded
from .explain import Explanation, Explanations

if TYPE_CHECKING:  # pragma: no cover
    from ..saes import SAEEntry
    from ..session import Session

FILE_LIMIT = 256 << 20    # bytes of an export that are read (after decompression)
ROW_LIMIT = 4_000_000     # rows of an export that are looked at
TEXT_LIMIT = 1000         # characters a description keeps
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def registry_dashboard_id(entry: SAEEntry) -> str | None:
    """The dashboard id (``"model/sae"``) sae-lens lists for a registry SAE, or None.

    Examples
    --------
    >>> registry_dashboard_id(bench.saes["tiny"]) is None   # a trained SAE has none
    True
    """
    from .._sae_hub import release_lookup

    release, _, sae_id = str(entry.source).partition("/")
    if not sae_id:
        return None
    try:
        lookup = release_lookup(release)
    except Exception:  # sae-lens's registry unreadable: no id, the user can give one
        return None
    ids = getattr(lookup, "neuronpedia_id", None) or {}
    found = ids.get(sae_id) if isinstance(ids, dict) else None
    return found if isinstance(found, str) else None


def _read(source: Any) -> list:
    if isinstance(source, list):
        return source
    path = Path(os.fspath(source)).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No explanation export at {path}; download the dashboard's JSON export first.")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read(FILE_LIMIT + 1)
    if len(raw) > FILE_LIMIT:
        raise ValueError(f"{path} is larger than {FILE_LIMIT >> 20} MB; split it, or import the rows of one SAE.")
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"{path} is not JSON ({str(error)[:200]}).") from None
    if isinstance(data, dict) and isinstance(data.get("explanations"), list):
        data = data["explanations"]
    if not isinstance(data, list):
        raise ValueError(f"{path} holds a JSON {type(data).__name__}; a dashboard export is a list of objects with "
                         "modelId, layer, index and description.")
    return data


def _index(value: Any, d_sae: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and 0 <= value < d_sae else None


def _store_path(session: Session, entry: SAEEntry) -> Path:
    key = hashlib.sha256(json.dumps([session.model_name, entry.source, entry.d_sae]).encode()).hexdigest()
    return models.cache_dir() / "explanations" / f"imported-{key[:16]}.json"


def imported(session: Session, entry: SAEEntry) -> dict[int, str]:
    """The imported explanations of an SAE, ``{latent: description}`` (empty when none were imported), read from
    ``session.cache`` or, once, from the cache folder."""
    cached = session.cache.explanations.get(("imported", entry.name))
    if cached is not None and cached[0] is entry:
        return cached[1]
    path = _store_path(session, entry)
    known = _load(path) if path.is_file() and path.stat().st_size <= FILE_LIMIT else {}
    session.cache.explanations[("imported", entry.name)] = (entry, known)
    return known


@recorded("import_explanations")
def import_explanations(session: Session, source: Any, sae: str | None = None, *,
                        dashboard_id: str | None = None) -> Explanations:
    """Import published explanations of an SAE's latents from a dashboard JSON export (see module docstring).

    Parameters
    ----------
    source : path or list of dict
        The export (``.json`` or ``.json.gz``), or its rows already read.
    sae : str, optional
        A registered SAE (default: the first one).
    dashboard_id : str, optional
        ``"modelId/layer"`` of the SAE on the dashboard. Default: the id sae-lens lists for
        the SAE's release; required for any other SAE.

    Returns
    -------
    Explanations
        Unscored (``explainer="imported"``); ``summary`` counts the rows read, imported, and
        left out with why (another SAE, an index outside this one, no description, a repeat).
    """
    entry = session.saes.get(sae)
    ident = dashboard_id if dashboard_id is not None else registry_dashboard_id(entry)
    if not isinstance(ident, str) or "/" not in ident:
        raise ValueError(f"The SAE {entry.name!r} ({entry.source}) has no dashboard id that sae-lens knows; pass "
                         "dashboard_id='modelId/layer' as the export's rows name it (e.g. 'gemma-2-2b/20-gemmascope-"
                         "res-16k').")
    model_id, _, layer_id = ident.partition("/")
    rows = _read(source)
    counts = {"rows": 0, "imported": 0, "other_sae": 0, "bad_index": 0, "no_description": 0, "repeated": 0,
              "not_an_object": 0}
    found: dict[int, str] = {}
    for row in rows[:ROW_LIMIT]:
        counts["rows"] += 1
        if not isinstance(row, dict):
            counts["not_an_object"] += 1
            continue
        layer = row.get("layer", row.get("saeId"))
        if str(row.get("modelId")) != model_id or str(layer) != layer_id:
            counts["other_sae"] += 1
            continue
        index = _index(row.get("index"), entry.d_sae)
        if index is None:
            counts["bad_index"] += 1
            continue
        text = row.get("description")
        text = _CONTROL.sub(" ", text).strip()[:TEXT_LIMIT] if isinstance(text, str) else ""
        if not text:
            counts["no_description"] += 1
            continue
        if index in found:
            counts["repeated"] += 1
            continue
        found[index] = text
    counts["imported"] = len(found)
    counts["left_unread"] = max(0, len(rows) - ROW_LIMIT)
    known = {**imported(session, entry), **found}
    path = _store_path(session, entry)
    session.cache.explanations[("imported", entry.name)] = (entry, known)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps({"version": 1, "dashboard_id": ident, "explanations": {
        str(k): v for k, v in sorted(known.items())}}), encoding="utf-8")
    os.replace(tmp, path)
    items = [Explanation(latent, text, "imported", sae=entry.name) for latent, text in sorted(found.items())]
    return Explanations(entry.name, items, summary={"dashboard_id": ident, **counts})


def _load(path: Path) -> dict[int, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    records = data.get("explanations") if isinstance(data, dict) else None
    if not isinstance(records, dict):
        return {}
    return {int(k): _CONTROL.sub(" ", v)[:TEXT_LIMIT] for k, v in records.items()
            if str(k).isdigit() and isinstance(v, str)}
