"""One progress reporter for long work: a tqdm bar that appears only after a second, or a callback.

Every technique reports progress the same way: ``progress=True`` shows a
``tqdm.auto`` bar that stays hidden for work that ends within
:data:`DELAY_S` seconds (so quick calls do not clutter a notebook, a script or a log)
and follows tqdm's own settings (``TQDM_DISABLE=1`` turns every bar off);
``progress=False`` shows nothing; a callable is called as ``progress(done, total)``
(a widget's progress bar).

>>> with progress_bar(lambda done, total: print(done, total), 2, "demo") as bar:
...     bar.update(1); bar.update(1)
1 2
2 2
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Seconds a bar stays hidden: work that ends sooner never shows one.
DELAY_S = 1.0


class _Reporter:
    def __init__(self, progress: bool | Callable[[int, int], None], total: int, description: str, unit: str,
                 leave: bool) -> None:
        self.total = total
        self.done = 0
        self._call = progress if callable(progress) else None
        self._bar = None
        if progress is True:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=description, unit=unit, leave=leave, delay=DELAY_S)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        if self._call is not None:
            self._call(min(self.done, self.total), self.total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> _Reporter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_bar(progress: bool | Callable[[int, int], None], total: int, description: str, *, unit: str = "it",
                 leave: bool = False) -> _Reporter:
    """A reporter with ``update(n)`` and ``close()`` (also a context manager) for ``total`` steps of work."""
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"progress must be True, False or a callable progress(done, total), not {progress!r}.")
    return _Reporter(progress, total, description, unit, leave)
