"""Jupyter widgets over the techniques (one module per panel)."""
