"""Long work started from a widget: one worker thread, cancellable, with progress.

A widget's request handler must return at once, or the kernel cannot hear the
Cancel button (requests are handled one at a time on the kernel's main thread).
:class:`BackgroundRun` runs the work in a thread, hands it a ``threading.Event``
to check between decoding steps and a ``progress(step, total)`` callable, and
reports the outcome through callbacks, which set the widget's traits::

    runs = BackgroundRun(on_progress=..., on_done=..., on_error=...)
    runs.start(lambda cancel, progress: bench.sample(conv, cancel=cancel, progress=progress))
    runs.cancel()          # from the Cancel button: stops after the current token

One model is shared by every widget of a session: :func:`model_lock` serialises the
runs of all widgets over the same Workbench.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["BackgroundRun", "ModelBusy", "RunInProgress", "model_free", "model_lock"]

_log = logging.getLogger(__name__)
_locks: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def model_lock(bench: Any) -> Any:
    """The (re-entrant) lock that widgets hold while they run the model of ``bench``."""
    with _locks_guard:
        lock = _locks.get(bench)
        if lock is None:
            lock = _locks[bench] = threading.RLock()
        return lock


class ModelBusy(RuntimeError):
    """Another widget's run holds the model."""


@contextlib.contextmanager
def model_free(bench: Any) -> Iterator[None]:
    """Hold the model for a quick request on the kernel's main thread, or refuse at once.

    Waiting would block the kernel's main thread behind a long run, and with it the
    Cancel button that could end that run; so a busy model raises :class:`ModelBusy`
    naming the way out instead.
    """
    lock = model_lock(bench)
    if not lock.acquire(blocking=False):
        raise ModelBusy("The model is busy with another panel's run: wait for it to finish or press its Cancel.")
    try:
        yield
    finally:
        lock.release()


class RunInProgress(RuntimeError):
    """A run was started while another one is going."""


class BackgroundRun:
    """One cancellable run at a time in a worker thread.

    Parameters
    ----------
    on_progress : callable(step, total), optional
        Called from the worker, at most every ``interval`` seconds (and for the last step).
    on_done : callable(result)
    on_error : callable(exception)
        Called with any exception raised by the work (or by ``on_done``).
    interval : float
        Minimum seconds between two ``on_progress`` calls.
    """

    def __init__(
        self,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        interval: float = 0.1,
    ) -> None:
        self.on_progress = on_progress
        self.on_done = on_done
        self.on_error = on_error
        self.interval = interval
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._last_report = 0.0
        self._generation = 0

    @property
    def running(self) -> bool:
        """Whether a run is going."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, work: Callable[[threading.Event, Callable[[int, int], None]], Any], *,
              replace: bool = False, lock: Any = None) -> None:
        """Run ``work(cancel_event, progress)`` in a worker thread.

        With ``replace`` a run still going is cancelled and awaited first (it stops
        after its current token) and its result dropped, never reported; without, starting while running raises
        :class:`RunInProgress`. ``lock`` (see :func:`model_lock`) is held while
        the work runs.
        """
        if self.running:
            if not replace:
                raise RunInProgress("A run is already going: wait for it or press Cancel.")
            self._generation += 1  # first, so the old run's result counts as superseded
            self.cancel()
            self.join()
        self._cancel = cancel = threading.Event()
        self._generation += 1
        generation = self._generation
        self._last_report = 0.0

        def progress(step: int, total: int) -> None:
            now = time.monotonic()
            if self.on_progress is None or generation != self._generation:
                return
            if step >= total or now - self._last_report >= self.interval:
                self._last_report = now
                self.on_progress(step, total)

        def target() -> None:
            try:
                if lock is not None:
                    with lock:
                        result = work(cancel, progress)
                else:
                    result = work(cancel, progress)
                if generation != self._generation:
                    return  # superseded by a newer run: its result would be stale
                if self.on_done is not None:
                    self.on_done(result)
            except BaseException as error:
                _log.debug("background run failed", exc_info=True)
                if self.on_error is not None and generation == self._generation:
                    try:
                        self.on_error(error)
                    except Exception:  # pragma: no cover - nothing left to report to
                        _log.exception("reporting a failed run failed")

        self._thread = threading.Thread(target=target, name="workbench-run", daemon=True)
        self._thread.start()

    def cancel(self) -> bool:
        """Ask the run to stop after its current step; returns whether one was going."""
        if not self.running:
            return False
        self._cancel.set()
        return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; returns whether it has ended."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True
