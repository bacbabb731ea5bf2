"""Which functions are workbench techniques: recorded in the journal, and the only ones replay runs.

A technique is a plain function ``fn(session, ...)`` decorated with :func:`recorded`,
which registers it under its technique name (``"sample"``, ``"diff"``...) and records
each outermost call in the session's journal. :func:`replay` runs a journal entry
again, dispatching by the entry's technique name through that registry alone: a
journal is a file colleagues send each other, so what a line names (a module path, a
function) is never imported or called. An entry whose technique is not registered, or
whose recorded function is not the registered technique's, is refused.

>>> @recorded("example")
... def example(session, text, n=1): ...
>>> technique("example").function
'workbench.recording:example'
"""

from __future__ import annotations

import difflib
import functools
import inspect
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _journal_values as values
from .errors import RemoteFailed
from .journal import RUNTIME, Entry, Journal, _new_id, _now

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

__all__ = ["ReplayRefused", "Technique", "record_call", "recorded", "replay", "technique", "techniques"]


class ReplayRefused(ValueError):
    """A journal entry that replay will not run: not a registered technique, or altered."""


@dataclass(frozen=True)
class Technique:
    """A registered technique: its name, the recording wrapper, and the function paths it answers to."""

    name: str
    call: Callable[..., Any]
    function: str
    formerly: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    @property
    def parameters(self) -> list[str]:
        """The arguments it takes after the session: its own parameters, then the keys of its options."""
        signature = inspect.signature(self.call)
        own = [name for name, p in list(signature.parameters.items())[1:] if p.kind is not p.VAR_KEYWORD]
        return own + [key for key in self.options if key not in own]

    def answers_to(self, function: Any) -> bool:
        return function == self.function or function in self.formerly


_REGISTRY: dict[str, Technique] = {}
_FORMER_NAMES: dict[str, str] = {}
_state = threading.local()


def technique(name: str) -> Technique:
    """The registered technique called ``name`` (a former name is accepted), or a :class:`KeyError`."""
    found = _REGISTRY.get(name) or _REGISTRY.get(_FORMER_NAMES.get(name, ""))
    if found is None:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"No workbench technique named {name!r}.{hint} Registered: {', '.join(sorted(_REGISTRY))}.")
    return found


def techniques() -> dict[str, Technique]:
    """Every registered technique by name (those of the modules imported so far)."""
    return dict(sorted(_REGISTRY.items()))


def recorded(name: str, *, formerly: tuple[str, ...] = (), options: Any = None) -> Callable[[Callable], Callable]:
    """Register ``fn(session, ...)`` as the technique ``name`` and record its outermost calls in the journal.

    Calls made inside another recorded call (in the same thread) are part of it and
    are not recorded again. Recording never makes the technique fail.

    Parameters
    ----------
    name : str
        The technique's name in the journal (one name per technique).
    formerly : tuple of str
        Earlier names (``"compare"``) and function paths (``"module:function"``) of
        the same technique, so that older journals still replay.
    options : TypedDict, optional
        The options its ``**kwargs`` take (e.g. :class:`~workbench.techniques.sampling.SampleOptions`):
        replay passes no other keyword.

    Examples
    --------
    >>> @recorded("sample_example")
    ... def sample(session, conversation, n=8, **options): ...
    """

    def decorate(fn: Callable) -> Callable:
        signature = inspect.signature(fn)
        function = f"{fn.__module__}:{fn.__qualname__}"
        first = next(iter(signature.parameters))

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            except RemoteFailed as error:   # a server's error or a lost connection names the technique that sent it
                error.name_technique(name)
                raise

        def call(*args: Any, **kwargs: Any) -> Any:
            session = args[0] if args else kwargs.get(first)
            journal = getattr(session, "journal", None)
            if getattr(_state, "depth", 0) or not isinstance(journal, Journal):
                return fn(*args, **kwargs)
            replay_of, _state.replay_of = getattr(_state, "replay_of", None), None
            started, clock = _now(), time.perf_counter()
            sent_before = len(getattr(session, "requests", ()))
            _state.depth = 1
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:
                _state.depth = 0
                _record(journal, session, name, function, signature, args, kwargs, started,
                        time.perf_counter() - clock, None, error, replay_of, sent_before)
                raise
            _state.depth = 0
            _record(journal, session, name, function, signature, args, kwargs, started,
                    time.perf_counter() - clock, result, None, replay_of, sent_before)
            return result

        wrapper.__journal_technique__ = name  # type: ignore[attr-defined]
        existing = _REGISTRY.get(name)
        if existing is not None and existing.function != function:
            raise RuntimeError(f"Two techniques are named {name!r}: {existing.function} and {function}.")
        former_paths = tuple(f for f in formerly if ":" in f)
        keys = tuple(getattr(options, "__annotations__", {})) if options is not None else ()
        _REGISTRY[name] = Technique(name, wrapper, function, former_paths, keys)
        for former in formerly:
            if ":" not in former:
                _FORMER_NAMES[former] = name
        return wrapper

    return decorate


def _record(journal: Journal, session: Any, technique: str, function: str, signature: inspect.Signature,
            args: tuple, kwargs: dict, started: str, duration: float, result: Any, error: BaseException | None,
            replay_of: str | None, sent_before: int = 0) -> None:
    try:
        bound = signature.bind_partial(*args, **kwargs).arguments
        bound.pop(next(iter(signature.parameters)), None)
        extra = {}
        for name, parameter in signature.parameters.items():
            if parameter.kind is parameter.VAR_KEYWORD and name in bound:
                extra = bound.pop(name)
        inputs, missing = {}, []
        for name, value in {**bound, **extra}.items():
            if name in RUNTIME:
                value = value if isinstance(value, bool) or value is None else f"<{type(value).__name__}>"
            encoded, complete = values.encode(value, session)
            inputs[name] = encoded
            if not complete and name not in RUNTIME:
                missing.append(name)
        record = {
            "type": "entry", "id": _new_id(), "time": started, "technique": technique, "function": function,
            "inputs": inputs, "missing": missing, "seed": None, "model": values.model_identity(session),
            "sae": values.sae_identity(session, inputs.get("sae")) if "sae" in signature.parameters else None,
            "duration_s": round(duration, 4),
            "summary": {}, "result": None, "result_omitted": None, "error": None, "replay_of": replay_of,
            "remote": _where(session, sent_before),
        }
        if error is not None:
            record["error"] = {"type": type(error).__name__, "message": str(error)[:2000]}
        else:
            record["summary"] = values.summarise(result)
            record["result"], record["result_omitted"] = values.full(result)
        seed = inputs.get("seed")
        record["seed"] = seed if isinstance(seed, int) else values.result_seed(record["summary"], result)
    except Exception as failure:  # the journal must never break a technique
        record = {"type": "entry", "id": _new_id(), "time": started, "technique": technique, "function": function,
                  "inputs": {}, "missing": ["(all: the journal could not encode them)"],
                  "summary": {"journal_error": f"{type(failure).__name__}: {failure}"[:500]},
                  "duration_s": round(duration, 4), "replay_of": replay_of,
                  "error": None if error is None else {"type": type(error).__name__, "message": str(error)[:2000]}}
    journal._write(record)


def record_call(session: Any, name: str, function: str, inputs: Mapping[str, Any], *, started: str,
                duration: float, summary: Mapping[str, Any] | None = None, error: BaseException | None = None) -> None:
    """Journal one call that is not a technique (an agent's tool that only reads or lists), as an entry.

    Its technique name (``"agent.read_journal"``) is in no registry, so :func:`replay`
    refuses it, saying so; it is there to show who did what, in order.
    """
    journal = getattr(session, "journal", None)
    if not isinstance(journal, Journal):
        return
    encoded = {}
    for key, value in inputs.items():
        encoded[key], _ = values.encode(value, session)
    journal._write({
        "type": "entry", "id": _new_id(), "time": started, "technique": name, "function": function,
        "inputs": encoded, "missing": [], "seed": None, "model": values.model_identity(session), "sae": None,
        "duration_s": round(duration, 4), "summary": dict(summary or {}), "result": None, "result_omitted": None,
        "error": None if error is None else {"type": type(error).__name__, "message": str(error)[:2000]},
        "replay_of": None,
    })


def _where(session: Any, sent_before: int) -> dict | None:
    """Where a call ran when not here, and what its requests cost (``None`` for a local run)."""
    remote = getattr(session, "remote", False)
    if not remote:
        return None
    requests = session.requests.since(sent_before)
    first = requests[0] if len(requests) else None
    host = first.host if first is not None else (remote if isinstance(remote, str) else None)
    return {"mode": "local" if remote == "local" else "ndif", "host": host,
            "model_key": first.model_key if first is not None else None, **requests.summary()}


def _refuse(entry: Entry, why: str) -> ReplayRefused:
    return ReplayRefused(f"Entry {str(entry.id)[:40]} is not replayed: {why}")


def replay(session: Session, entry: Any) -> Any:
    """Run a recorded call again on ``session`` with the recorded inputs (and seed).

    Only a registered technique runs, found by the entry's technique name; the
    entry's recorded function must be that technique's own (or one of its former
    paths), and its inputs must be parameters the technique takes. Anything else
    raises :class:`ReplayRefused` and nothing runs. See ``Workbench.replay``, which
    imports every technique module first.
    """
    entry = session.journal._resolve(entry) if not isinstance(entry, Entry) else entry
    name = entry.technique
    shown = str(name)[:60]
    try:
        found = technique(name) if isinstance(name, str) else None
    except KeyError:
        found = None
    if found is None:
        raise _refuse(entry, f"it names the technique {shown!r} (function {str(entry.function)[:80]!r}), which is "
                             f"not a workbench technique. Replay runs only registered techniques: "
                             f"{', '.join(sorted(_REGISTRY))}.")
    if not found.answers_to(entry.function):
        raise _refuse(entry, f"it says the technique {shown!r} ran {str(entry.function)[:80]!r}, but the workbench's "
                             f"{found.name!r} is {found.function!r}: the entry was altered or comes from another "
                             "program, so it is not run.")
    if not isinstance(entry.inputs, Mapping) or not all(isinstance(k, str) for k in entry.inputs):
        raise _refuse(entry, "its inputs are not an object of named arguments.")
    if entry.missing:
        raise _refuse(entry, f"its input(s) {', '.join(map(str, entry.missing))} were recorded only as a summary "
                             "(a tensor, array, DataFrame, in-memory dataset or function). Run the technique "
                             "again yourself with the same data.")
    other_adapter = values.adapter_difference(session, entry.model)
    if other_adapter:
        raise _refuse(entry, other_adapter)
    absent = values.unregistered(session, found.name, entry.inputs)
    if absent:
        raise _refuse(entry, f"{found.name} needs {'; '.join(absent)} on this session. Register it first "
                             "(bench.saes.load_path(...), or replay the entry that created the vector), then replay.")
    fn = found.call
    signature = inspect.signature(fn).parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.values()) and not found.options
    accepted = found.parameters
    unknown = sorted(k for k in entry.inputs if k not in RUNTIME and k not in accepted)
    if unknown and not accepts_any:
        raise _refuse(entry, f"{found.name} takes no argument(s) {', '.join(repr(k[:40]) for k in unknown[:5])} "
                             f"(it takes {', '.join(accepted)}).")
    inputs = {k: values.decode(v) for k, v in entry.inputs.items() if k not in RUNTIME}
    if ("seed" in accepted or accepts_any) and inputs.get("seed") is None and entry.seed is not None:
        inputs["seed"] = entry.seed  # the drawn seed reproduces the call
    if "progress" in accepted:
        inputs["progress"] = False
    _state.replay_of = entry.id
    try:
        return fn(session, **inputs)
    finally:
        _state.replay_of = None
