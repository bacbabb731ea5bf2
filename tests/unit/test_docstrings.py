"""Every docstring example of the package runs (DESIGN.md convention 12), one test per docstring.

The examples see the names of their own module plus:

* ``wb`` (``import workbench as wb``), ``np`` and ``torch``;
* ``bench``: one Workbench on the tiny random Llama for the whole run (2 layers, hidden
  size 64, ``journal=False``), with the SAE ``"tiny"`` (layer 1, 64 latents), the
  steering vector ``"ones"`` (layer 1) and the probe ``"polite"`` (layer 1) registered;
* ``tiny_model``: the folder of that model (to open a second Workbench, or train from);
* ``tmp``: a fresh folder per docstring, which is also the working directory, the
  workbench cache (``WORKBENCH_CACHE``) and ``tempfile``'s folder, so nothing is written
  elsewhere. The network is off.

Each docstring starts with an empty in-memory ``bench.journal``, and what it registers
on ``bench`` (vectors, probes, SAEs) is removed after it, so the examples do not depend
on one another. An example that cannot run here (a Hub model, minutes of training, a
browser) is shown as plain code (``::``), not as a skipped ``>>>`` line: no ``+SKIP`` may
be left in the package.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import io
import pkgutil
import random
import re
import socket
import tempfile
from pathlib import Path

import numpy as np
import pytest

import workbench

from ..conftest import sae_corpus_texts

PACKAGE = Path(workbench.__file__).parent
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


class _Finder(doctest.DocTestFinder):
    """The stdlib finder, with the line of a decorated function's own ``def`` (not its wrapper's)."""

    def _find_lineno(self, obj, source_lines):
        if inspect.isfunction(obj):
            obj = inspect.unwrap(obj)
        return super()._find_lineno(obj, source_lines)


def _modules() -> list[str]:
    names = ["workbench"] + [m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench.")]
    return sorted(names)


def _docstrings() -> list[tuple[str, doctest.DocTest]]:
    """``(module name, docstring)`` for every docstring with an example, in every module of the package."""
    finder = _Finder(exclude_empty=True)
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        found += [(name, test) for test in finder.find(module, name, globs={}) if test.examples]
    return found


DOCSTRINGS = _docstrings()


@pytest.fixture(scope="session")
def doc_bench(tiny_model_dir, tmp_path_factory):
    """The ``bench`` every example sees: the tiny Llama, SAE ``"tiny"``, vector ``"ones"``, probe ``"polite"``."""
    import torch

    from workbench.techniques import vectors

    torch.manual_seed(0)
    bench = workbench.Workbench(str(tiny_model_dir), journal=False)
    bench.saes.train(
        1, sae_corpus_texts(), d_sae=64, k=4, tokens=3000, epochs=3, context=32, batch_size=256, lr=3e-3,
        save_to=tmp_path_factory.mktemp("doc-sae") / "tiny", name="tiny", progress=False,
    )
    vectors.from_direction(bench, torch.ones(64), layer=1, name="ones")
    bench.probe(["Thank you kindly.", "Please, go ahead.", "That is very kind.", "Thanks a lot!"],
                ["You idiot.", "Shut up, fool.", "Go away, moron.", "You clueless fool."],
                layer=1, name="polite", progress=False)
    return bench


@pytest.fixture
def _offline(monkeypatch):
    """An example that opens a network connection fails (the examples run offline)."""

    def refuse(self, address, *args, **kwargs):
        raise OSError(f"docstring examples must not use the network (tried {address!r})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def _isolated(doc_bench, tmp_path, monkeypatch):
    """A fresh journal, working directory, cache and temporary folder; registrations undone afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    registries = {name: getattr(doc_bench, name) for name in ("saes", "vectors", "probes")}
    before = {name: dict(registry._items) for name, registry in registries.items()}
    journal = doc_bench.journal
    doc_bench.journal = workbench.Journal(None)
    yield
    doc_bench.journal = journal
    for name, registry in registries.items():
        registry._items = before[name]


@pytest.mark.parametrize(("module_name", "docstring"), DOCSTRINGS, ids=[t.name for _, t in DOCSTRINGS])
def test_docstring_example_runs(module_name, docstring, doc_bench, tiny_model_dir, tmp_path, _isolated, _offline):
    import torch

    import workbench as wb

    random.seed(0)
    torch.manual_seed(0)
    module = importlib.import_module(module_name)
    docstring.globs = {**vars(module), "wb": wb, "np": np, "torch": torch, "bench": doc_bench,
                       "tiny_model": str(tiny_model_dir), "tmp": tmp_path}
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    try:
        result = runner.run(docstring, out=report.write, clear_globs=True)
    finally:
        docstring.globs = {}
    if result.failed:
        pytest.fail(f"{docstring.name} ({docstring.filename}:{docstring.lineno + 1}):\n{report.getvalue()}",
                    pytrace=False)


def test_every_example_in_the_package_is_collected():
    """Each ``>>>`` line of the package's sources is an example run above (none sits where the finder can't see)."""
    searched = {name for name, _ in DOCSTRINGS}
    assert {"workbench", "workbench.widgets.app", "workbench.training.dpo", "workbench.export"} <= searched
    prompts = sum(line.lstrip().startswith(">>>") for path in PACKAGE.rglob("*.py")
                  for line in path.read_text(encoding="utf-8").splitlines())
    assert sum(len(test.examples) for _, test in DOCSTRINGS) == prompts


def test_no_skipped_example_is_left():
    """An example that cannot run is plain code (``::``), never a ``>>>`` line the suite skips."""
    marker = re.compile(r"doctest:.*\+SKIP")
    skipped = [f"{path.relative_to(PACKAGE.parent)}:{number}"
               for path in sorted(PACKAGE.rglob("*.py"))
               for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if marker.search(line)]
    assert not skipped, f"skipped docstring examples: {', '.join(skipped)}"
