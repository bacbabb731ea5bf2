"""workbench: an interactive audit workbench for one language model in JupyterLab.

>>> import workbench as wb
>>> bench = wb.Workbench(tiny_model, journal=False)   # a folder saved with save_pretrained
>>> bench.n_layers, bench.hidden_size
(2, 64)

``wb.Workbench()`` opens the embedded default model (SmolLM2-135M-Instruct; its first
use converts it into the cache, so it is not run here)::

    bench = wb.Workbench()

Importing the package is cheap: torch, transformers and nnsight are imported only
when a Workbench is created. Where the MCP SDK is installed (``bench.serve()``), anyio's
socket types are defined at once (about 60 ms), so that nnsight, which mounts ``save`` on
every object, can be imported next, e.g. ``from nnsight import CONFIG`` to set an NDIF key.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_EXPORTS = {
    "ActivationPanel": "workbench.widgets.activations",
    "Cancelled": "workbench.errors",
    "RemoteFailed": "workbench.errors",
    "AttackBox": "workbench.widgets.attacks",
    "Attribution": "workbench.techniques.attribution",
    "CausalPanel": "workbench.widgets.causal",
    "Dataset": "workbench.datasets",
    "DatasetError": "workbench.datasets",
    "DiffPanel": "workbench.widgets.diffing",
    "Endpoint": "workbench.techniques.endpoint",
    "Explanation": "workbench.techniques.explain",
    "Explanations": "workbench.techniques.explain",
    "Journal": "workbench.journal",
    "JournalPanel": "workbench.widgets.journal",
    "Patching": "workbench.techniques.patching",
    "PersonaComparison": "workbench.techniques.attacks",
    "PreferenceAudit": "workbench.techniques.preference_audit",
    "PreferencePanel": "workbench.widgets.preference",
    "Probe": "workbench.techniques.probes",
    "ProbePanel": "workbench.widgets.probes",
    "SAEReport": "workbench.saes",
    "TokenActivations": "workbench.techniques.activations",
    "ModelDiff": "workbench.techniques.diffing",
    "ModelUnavailableError": "workbench.models",
    "RenderedPrompt": "workbench.chat",
    "SampleOptions": "workbench.techniques.sampling",
    "Samples": "workbench.techniques.sampling",
    "Session": "workbench.session",
    "SearchPanel": "workbench.widgets.search",
    "SearchResult": "workbench.techniques.data_search",
    "SteeringPanel": "workbench.widgets.steering",
    "SteeringEffect": "workbench.techniques.steering",
    "SteeringVector": "workbench.techniques.vectors",
    "SweepResult": "workbench.techniques.sweep",
    "ValueVectors": "workbench.techniques.neurons",
    "Workbench": "workbench.workbench",
    "WorkbenchView": "workbench.widgets.app",
    "cache_dir": "workbench.models",
    "export_html": "workbench.export",
    "read_dataset": "workbench.datasets",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if find_spec("mcp") is not None:  # only the agent server's networking needs them before nnsight
    import_module("workbench.models")._before_nnsight()

if TYPE_CHECKING:  # pragma: no cover
    from .chat import RenderedPrompt
    from .datasets import Dataset, DatasetError, read_dataset
    from .errors import Cancelled, RemoteFailed
    from .export import export_html
    from .journal import Journal
    from .models import ModelUnavailableError, cache_dir
    from .saes import SAEReport
    from .session import Session
    from .techniques.activations import TokenActivations
    from .techniques.attacks import PersonaComparison
    from .techniques.attribution import Attribution
    from .techniques.data_search import SearchResult
    from .techniques.diffing import ModelDiff
    from .techniques.endpoint import Endpoint
    from .techniques.explain import Explanation, Explanations
    from .techniques.neurons import ValueVectors
    from .techniques.patching import Patching
    from .techniques.preference_audit import PreferenceAudit
    from .techniques.probes import Probe
    from .techniques.sampling import SampleOptions, Samples
    from .techniques.steering import SteeringEffect
    from .techniques.sweep import SweepResult
    from .techniques.vectors import SteeringVector
    from .widgets.activations import ActivationPanel
    from .widgets.app import WorkbenchView
    from .widgets.attacks import AttackBox
    from .widgets.causal import CausalPanel
    from .widgets.diffing import DiffPanel
    from .widgets.journal import JournalPanel
    from .widgets.preference import PreferencePanel
    from .widgets.probes import ProbePanel
    from .widgets.search import SearchPanel
    from .widgets.steering import SteeringPanel
    from .workbench import Workbench


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
