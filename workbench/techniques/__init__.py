"""Auditing techniques: plain functions over a Workbench that return data (no widgets)."""
