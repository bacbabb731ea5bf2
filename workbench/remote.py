"""Where the model runs when it is not here: NDIF, or nnsight's simulation of it, and what each request cost.

A session opened with ``remote=True`` (or a host URL) sends every trace and
generation to an NDIF server through nnsight's remote backend; the weights stay
there. ``remote="local"`` keeps the weights here but treats every trace as a remote
request: the block is serialized exactly as for NDIF, deserialized with the
workbench (and every other module a server lacks) hidden, run on that copy, and only
the values the block saved come back, through ``torch.save`` as a server's result
does. It is stricter than nnsight's own ``remote="local"``, which runs the restored
code against the caller's own variables, so a block that fills a dict it did not
save works there and silently returns nothing from a real server; here it returns
nothing too.

Every request is counted in the session's :class:`RequestLog` (``session.requests``):
bytes sent (the serialized block), bytes received (the saved values), the job id a
server gave it. :meth:`RequestLog.during` counts what one action cost.

What runs inside a trace must be able to run on a server that has torch, nnsight and
transformers but not the workbench: a block references envoys, tensors and plain
values, and the few helpers it calls live in :mod:`workbench._traced`, which is shipped
by value with each request.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import adapters
from .errors import RemoteFailed

LOCAL = "local"


def check(remote: Any) -> bool | str:
    """``remote`` as a session takes it: ``False``, ``True`` (NDIF at nnsight's configured host),
    ``"local"`` (the simulation) or a host URL; anything else is refused."""
    if remote is None or remote is False:
        return False
    if remote is True or remote == LOCAL:
        return remote
    if isinstance(remote, str) and remote.startswith(("http://", "https://")):
        return remote.rstrip("/")
    raise ValueError(
        f"remote must be False, True (NDIF), 'local' (weights here, every request serialized as for NDIF) "
        f"or an NDIF host URL such as 'http://localhost:5001', not {remote!r}."
    )


@dataclass
class Request:
    """One request: a trace or a generation (or a bundle of them), as sent and answered.

    Attributes
    ----------
    kind : str
        ``"trace"``, ``"generate"`` or ``"session"`` (several traces in one request).
    sent, received : int
        Bytes of the serialized block, and of the saved values that came back.
    host : str
        ``"local"`` for the simulation, else the server's URL.
    model_key : str
        The model as a server names it (``None`` in the simulation of a model loaded from a folder).
    job_id : str or None
        The id the server gave the job.
    seconds : float
    """

    kind: str
    sent: int = 0
    received: int = 0
    host: str = LOCAL
    model_key: str | None = None
    job_id: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "sent": self.sent, "received": self.received, "host": self.host,
                "model_key": self.model_key, "job_id": self.job_id, "seconds": round(self.seconds, 4)}


@dataclass
class RequestLog:
    """Every request a remote session sent, in order (``session.requests``).

    Examples
    --------
    >>> log = RequestLog()
    >>> with log.during() as action:
    ...     log.add(Request("trace", sent=10, received=4))
    >>> len(action), action.sent, action.received
    (1, 10, 4)
    """

    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def __len__(self) -> int:
        return len(self.requests)

    def __iter__(self) -> Iterator[Request]:
        return iter(list(self.requests))

    def __getitem__(self, index: Any) -> Any:
        return self.requests[index]

    @property
    def sent(self) -> int:
        return sum(r.sent for r in self.requests)

    @property
    def received(self) -> int:
        return sum(r.received for r in self.requests)

    def since(self, start: int) -> RequestLog:
        """The requests after the first ``start`` (a length read earlier)."""
        return RequestLog(list(self.requests[start:]))

    @contextlib.contextmanager
    def during(self) -> Iterator[RequestLog]:
        """A log that, when the block ends, holds the requests sent inside it."""
        start, part = len(self.requests), RequestLog()
        try:
            yield part
        finally:
            part.requests.extend(self.requests[start:])

    def summary(self) -> dict[str, Any]:
        """``{"requests", "sent", "received", "job_ids"}`` of this log, for a journal entry."""
        return {"requests": len(self.requests), "sent": self.sent, "received": self.received,
                "job_ids": [r.job_id for r in self.requests if r.job_id]}


def _ship_helpers() -> None:
    """Register :mod:`workbench._traced` to be pickled by value: a server does not have the workbench."""
    import cloudpickle

    from . import _traced

    cloudpickle.register_pickle_by_value(_traced)


def compact(value: Any) -> Any:
    """``value`` (a tensor, or a dict, list or tuple of them) with every tensor that views a larger storage copied
    out: a request serializes a tensor's whole storage, so a batch sliced from a corpus, or a block of rows
    sliced from an SAE's decoder, would otherwise carry all of it (and a server refuses bodies of about 1 MB).

    Examples
    --------
    >>> import torch
    >>> rows = torch.zeros(100, 4)[:2]
    >>> compact(rows).untyped_storage().nbytes(), compact({"ids": rows})["ids"].shape
    (32, torch.Size([2, 4]))
    """
    import torch

    if isinstance(value, torch.Tensor):
        return value.clone() if value.untyped_storage().nbytes() > value.nbytes else value
    if isinstance(value, dict):
        return {key: compact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(compact(item) for item in value)
    return value


def backend(session: Any, kind: str, status: Callable[[str], None] | None = None) -> Any:
    """The nnsight backend that runs one trace or generation of ``session`` remotely, and records it."""
    _ship_helpers()
    if session.remote == LOCAL:  # the "server" is the model loaded here, with its adapter when it has one
        server = session.with_adapter().model if session.adapter is not None else session.model
        return SimulatedBackend(server, session.requests, kind, status, env=request_env(session),
                                traced_on=session.model)
    return _ndif_backend(session, kind, status)


def request_env(session: Any) -> dict:
    """What a request of ``session`` carries beside its block: nnsight's per-request environment (the attention
    implementation, and the adapter's Hub id when one is on), which the server applies to its model before
    running the block. The view :meth:`~workbench.session.Session.without_adapter` returns sends none, so the
    server runs the base model (NDIF detaches the adapter for that request: ``nnsight.modeling.peft.swap``)."""
    env = dict(session.model._remoteable_get_env())
    if not session.adapter_enabled:
        env.pop("peft", None)
    return env


def _disabled(module: Any) -> Any:  # imported here, not where the block runs: the workbench is hidden there
    return adapters.disabled(module)


def _simulation_base() -> type:
    from nnsight.intervention.backends.local import LocalSimulationBackend

    return LocalSimulationBackend


class SimulatedBackend:
    """Serialize the block as for NDIF, run the deserialized copy with local modules hidden, return its saves.

    A drop-in nnsight backend (the ``backend=`` of a trace or session). What the block's code
    touches is exactly what a server would have: the restored globals and locals, the
    model resolved from its envoys' persistent ids. What comes back is what the block
    saved, through ``torch.save`` / ``torch.load`` (the server's result format), pushed
    into the caller's frame as nnsight's remote backend does.
    """

    def __init__(self, model: Any, log: RequestLog, kind: str, status: Callable[[str], None] | None = None,
                 env: dict | None = None, traced_on: Any = None) -> None:
        self._base = _simulation_base()(model)
        self.model, self.log, self.kind = model, log, kind
        self.status = status or (lambda state: None)
        self.env = model._remoteable_get_env() if env is None else env
        self.traced_on = model if traced_on is None else traced_on

    def __call__(self, tracer: Any) -> None:
        import torch
        from nnsight.ndif import pull_env
        from nnsight.schema.request import RequestModel
        from nnsight.tracing.tracer import _saves, save
        from nnsight.tracing.util import push

        clock = time.perf_counter()
        if "peft" not in self.env and getattr(self.traced_on, "peft", None) is not None:
            # a server that runs the request without the adapter has detached it: the adapter's modules are gone
            raise RemoteFailed(f"the server could not run this {self.kind}: the request goes without the adapter, "
                               "but its block was traced on the adapted model's modules, which a server without "
                               "the adapter does not have", reason="server")
        pull_env()
        _warn_of_views(_referenced(tracer), self.kind, sent=True)
        blob = RequestModel.serialize(tracer, compress=False)
        record = Request(self.kind, sent=len(blob))
        self.status(f"sent {len(blob):,} bytes")
        persistent = self.model._remoteable_persistent_objects()
        filename = tracer.info.frame.f_code.co_filename
        cached = linecache.cache.get(filename)
        hidden = self._base._hide_local_modules()
        try:
            restored = RequestModel.deserialize(blob, persistent, compress=False)
            self.status("running")
            try:
                with self._environment():
                    restored.execute(restored.info.code)
            except Exception as error:   # raised where the request ran: what NDIF reports as the job's error
                self.status("error")
                raise RemoteFailed(f"the server could not run this {self.kind}: {type(error).__name__}: {error}",
                                   reason="server") from error
        finally:
            self._base._restore(hidden)
            if cached is not None:
                linecache.cache[filename] = cached
            else:
                linecache.cache.pop(filename, None)
            record.seconds = time.perf_counter() - clock
            self.log.add(record)
        saves = _saves()  # what the block saved: all that a server sends back
        result = {k: v for k, v in restored.info.frame.f_locals.items() if id(v) in saves}
        buffer = io.BytesIO()
        torch.save(result, buffer)
        record.received = buffer.tell()
        _warn_of_views(result, self.kind)
        result = torch.load(io.BytesIO(buffer.getvalue()), map_location="cpu", weights_only=True)
        for value in result.values():
            save(value)
        push(tracer.info.frame, result)
        self.status(f"completed, {record.received:,} bytes back")

    def _environment(self) -> Any:
        """The request's environment applied to the model while its block runs, as a server applies it: a request
        without the adapter the model holds runs with the adapter's layers off (where NDIF detaches it, here
        peft's switch: the same base model, without reloading the weights)."""
        if self.model.peft is not None and "peft" not in self.env:
            return _disabled(self.model._module)
        return contextlib.nullcontext()


class StorageSentBack(UserWarning):
    """A request (or its result) carried a tensor's whole storage: a tensor views a much larger one (a row sliced
    from a weight, one item of a batch), and serializing it sends all of it. Copy it out."""


def _referenced(tracer: Any) -> list:
    """What a traced block's request carries: the globals and locals its source names (as nnsight reduces it)."""
    from nnsight.intervention.serialization import reduce_block

    _, used_globals, used_locals = reduce_block(tracer.node, tracer.info.frame.f_globals,
                                                dict(tracer.info.frame.f_locals))
    return [value for scope in (used_globals, used_locals) for value in scope.values()
            if not isinstance(value, types.ModuleType)]


def _warn_of_views(value: Any, kind: str, *, sent: bool = False) -> None:
    """Warn (:class:`StorageSentBack`) when a result would move much more than its tensors hold, or, with
    ``sent``, when what a block references (its variables, the closures it calls and what they capture) would."""
    import torch

    seen: set[int] = set()

    def tensors(item: Any, depth: int = 0) -> Iterator[Any]:
        if id(item) in seen or depth > 8:
            return
        seen.add(id(item))
        if isinstance(item, torch.Tensor):
            yield item
        elif isinstance(item, dict):
            for part in item.values():
                yield from tensors(part, depth + 1)
        elif isinstance(item, (list, tuple, set, frozenset)):
            for part in item:
                yield from tensors(part, depth + 1)
        elif sent and isinstance(item, types.FunctionType):  # a closure travels with what it captured
            for cell in item.__closure__ or ():
                try:
                    yield from tensors(cell.cell_contents, depth + 1)
                except ValueError:  # an empty cell
                    continue
            yield from tensors(item.__defaults__ or (), depth + 1)

    own = carried = 0
    for tensor in tensors(value):
        own += tensor.nbytes
        carried += max(tensor.untyped_storage().nbytes(), tensor.nbytes)
    if carried - own > max(own, 64 << 10):
        what = "request's block references" if sent else "result holds"
        warnings.warn(f"This {kind}'s {what} {own:,} bytes of tensors but sends {carried:,}: a tensor views a "
                      "larger storage, which is sent whole; copy it out (.clone(), or index with a tensor, "
                      "or workbench.remote.compact).", StorageSentBack, stacklevel=2)


def _ndif_backend(session: Any, kind: str, status: Callable[[str], None] | None) -> Any:
    from nnsight.intervention.backends.remote import RemoteBackend, RemoteError

    class NDIFBackend(RemoteBackend):
        """nnsight's remote backend, recording each request's size, job id and status."""

        def __call__(self, tracer: Any = None) -> Any:
            self._record = Request(kind, host=self.host, model_key=self.model_key)
            clock = time.perf_counter()
            try:
                return super().__call__(tracer)
            except RemoteError as error:
                raise RemoteFailed(f"the server could not run this {kind}: {error}", reason="server") from error
            except (OSError, ConnectionError, TimeoutError) as error:   # httpx and websocket errors are OSErrors
                raise RemoteFailed(
                    f"lost the connection to {self.host} ({type(error).__name__}: {error}); nothing was changed "
                    "here and the session is usable: run it again when the server is reachable", reason="connection",
                ) from error
            except Exception as error:
                if type(error).__module__.split(".")[0] in {"httpx", "httpcore", "websocket", "requests"}:
                    raise RemoteFailed(f"lost the connection to {self.host} ({type(error).__name__}: {error}); the "
                                       "session is usable: run it again when the server is reachable",
                                       reason="connection") from error
                raise
            finally:
                self._record.seconds = time.perf_counter() - clock
                self._record.job_id = self._record.job_id or self.job_id
                session.requests.add(self._record)

        def _serialize(self, tracer: Any) -> bytes:
            blob = super()._serialize(tracer)
            self._record.sent = len(blob)
            return blob

        def note(self, response: Any) -> bool:
            if getattr(response, "id", None):
                self._record.job_id = response.id
            if status is not None and getattr(response, "status", None) is not None:
                status(str(getattr(response.status, "value", response.status)).lower())
            return super().note(response)

        def finalize(self, content: bytes) -> Any:
            self._record.received = len(content)
            return super().finalize(content)

    model = session.model
    host = session.remote if isinstance(session.remote, str) else None
    return NDIFBackend(_model_key(model, self_hosted=host is not None), host=host, env=request_env(session))


def _model_key(model: Any, *, self_hosted: bool) -> str:
    """The key a server knows ``model`` by. A Hub id's is resolved by nnsight (on the Hub); on a self-hosted
    NDIF (a host URL), a checkpoint folder, which that server serves after ``ndif deploy`` of the folder, is
    keyed by its path as given, without asking the Hub about a name that is not a Hub id."""
    import os

    repo_id = getattr(model, "repo_id", None)
    if not (self_hosted and isinstance(repo_id, str) and os.path.isdir(repo_id)):
        return model.to_model_key()
    from nnsight.modeling import huggingface

    cache = getattr(huggingface, "_ID_CACHE", None)  # nnsight's Hub-id cache: the folder stands for itself
    if not isinstance(cache, dict) or repo_id in cache:
        return model.to_model_key()
    cache[repo_id] = repo_id
    try:
        return model.to_model_key()
    finally:  # only for this key: a later session on NDIF proper still resolves the name its own way
        cache.pop(repo_id, None)
