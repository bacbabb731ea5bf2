"""The auditing techniques: plain functions over a :class:`~workbench.session.Session` that return data.

Importing this package imports none of them (each pulls in torch and more);
:func:`load_all` imports every one, which fills the registry of techniques that
replay dispatches through (:mod:`workbench.recording`).
"""

from __future__ import annotations

from importlib import import_module

#: Every module of this package that defines recorded techniques.
MODULES = ("activations", "attacks", "attribution", "data_search", "diffing", "explain", "feature_lists",
           "feature_search", "neurons", "patching", "preference", "probes", "published", "sampling", "steering",
           "sweep")


def load_all() -> None:
    """Import every technique module, so that each technique is registered."""
    for name in MODULES:
        import_module(f"{__name__}.{name}")
