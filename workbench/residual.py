"""Forward passes over the residual stream, shared by every technique.

Each function here opens its trace through :meth:`Session.trace` and returns plain
tensors: what the model computes at some sites (:func:`site_outputs`: the residual
stream, attention and MLP outputs, the MLP's input), the residual stream after some
layers (:func:`layer_outputs`, stopping the forward pass after the last layer asked
for), documents encoded batch by batch
(:func:`hidden_batches`), log-probabilities of chosen tokens with an optional
per-row steering delta (:func:`forward_logprobs`), a layer's natural scale
(:func:`natural_scale`) and the tokens a direction promotes (:func:`top_tokens`).
Techniques call these; none of them imports another technique's internals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from . import corpora
from . import remote as remote_mod
from ._progress import progress_bar
from ._traced import pool, reduce_tokens
from .errors import Cancelled
from .layout import (
    Site,
    blocks,
    check_layer,
    final_norm,
    hidden,
    replace_hidden,
    site_envoy,
    site_taps,
    unembedding,
    unembedding_envoy,
)

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .session import Session

SCALE_TEXTS = 16
SCALE_TOKENS = 64


def _padded(rows: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ``input_ids`` and ``attention_mask`` of token rows."""
    import torch

    width = max(max((len(row) for row in rows), default=1), 1)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if len(row):
            ids[i, : len(row)] = torch.tensor(list(row), dtype=torch.long)
            mask[i, : len(row)] = 1
    return ids, mask


def site_outputs(
    session: Session,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *,
    sites: Iterable[Site],
    stop: bool = True,
) -> dict[Site, torch.Tensor]:
    """What the model computes at each of ``sites`` for one batch: ``{site: [batch, seq, d]}`` (float32).

    The one reader of sites (:class:`~workbench.layout.Site`: the residual stream after a layer,
    an attention or MLP block's output, the MLP's normalised input...): one nnsight trace that
    saves each site's envoy, in the order the forward pass reaches them; with ``stop=True`` the
    pass ends after the last site asked for.

    Examples
    --------
    >>> import torch
    >>> from workbench.layout import Site
    >>> out = site_outputs(bench, torch.tensor([[1, 2, 3]]), sites=[Site(0, "mlp_out"), Site(1)])
    >>> sorted((site.layer, site.kind, tuple(value.shape)) for site, value in out.items())
    [(0, 'mlp_out', (1, 3, 64)), (1, 'resid_post', (1, 3, 64))]
    """
    return read_sites(session, input_ids, attention_mask, sites=sites, stop=stop)[0]


def read_sites(
    session: Session,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *,
    sites: Iterable[Site],
    stop: bool = True,
    lens_top: int = 0,
) -> tuple[dict[Site, torch.Tensor], tuple[torch.Tensor, torch.Tensor] | None]:
    """:func:`site_outputs`, and with ``lens_top`` the logit lens computed in the same trace:
    ``(sites, (probs, ids))``, ``probs`` and ``ids`` ``[layers, batch, seq, lens_top]``.

    The lens is each layer's residual stream through the final norm and the unembedding
    (with the model's logit soft-capping), reduced to its ``lens_top`` tokens inside the
    trace: a remote run returns those, never a vocabulary-wide distribution or the
    residual stream of every layer.

    Examples
    --------
    >>> import torch
    >>> out, (probs, ids) = read_sites(bench, torch.tensor([[1, 2, 3]]), sites=[], lens_top=4)
    >>> out, tuple(ids.shape)
    ({}, (2, 1, 3, 4))
    """
    import nnsight
    import torch

    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    wanted = sorted(set(sites), key=lambda site: site.order)
    # two kinds can be one tensor (OLMo 2's MLP reads the residual stream itself): read each tap once
    module_of = site_taps(session)
    tap_of = {site: (site.layer, module_of.get(site.kind, ("", "output"))) for site in wanted}
    lensed = [Site(layer) for layer in range(session.n_layers)] if lens_top else []
    for site in lensed:
        tap_of.setdefault(site, (site.layer, module_of.get(site.kind, ("", "output"))))
    taps: dict[Any, Site] = {}
    for site in sorted(tap_of, key=lambda site: site.order):
        taps.setdefault(tap_of[site], site)
    kept = {tap_of[site] for site in wanted}
    lens_taps = {tap_of[site] for site in lensed}
    inputs = {"input_ids": input_ids.to(session.device), "attention_mask": attention_mask.to(session.device)}
    # what the block reads is decided here: the block itself holds only envoys and runs on a server when remote
    plan = [(*site_envoy(session, site), tap in kept, tap in lens_taps) for tap, site in taps.items()]
    norm, unembed = final_norm(session), unembedding_envoy(session)
    cap = getattr(session.config, "final_logit_softcapping", None)
    top = int(lens_top)
    with torch.inference_mode(), session.trace(inputs) as tracer:
        values, lens = [], []
        for envoy, port, keep, lens_here in plan:
            value = hidden(envoy.output if port == "output" else envoy.input)
            if keep:
                values.append(value)
            if lens_here:
                logits = unembed(norm(value)).float()
                if cap:
                    logits = torch.tanh(logits / cap) * cap
                best = torch.softmax(logits, -1).topk(top, dim=-1)
                lens.append((best.values.cpu(), best.indices.cpu()))
        values, lens = nnsight.save(values), nnsight.save(lens)
        if stop:
            tracer.stop()
    saved = dict(zip([tap for tap in taps if tap in kept], values))
    found = None
    if lens_top:
        found = (torch.stack([p for p, _ in lens]), torch.stack([i for _, i in lens]))
    return {site: saved[tap_of[site]].float() for site in wanted}, found


def read_batches(
    session: Session,
    batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
    *,
    sites: Iterable[Site],
    stop: bool = True,
    reduce: str | None = None,
) -> list[dict[Site, torch.Tensor]]:
    """:func:`site_outputs` of each ``(input_ids, attention_mask)`` batch; on a remote session all of them in
    ONE request (:meth:`Session.trace_each`), so an action over many batches costs one.
    With ``reduce`` (``"pool"``, ``"mean"`` or ``"last"``, see :func:`workbench._traced.reduce_tokens`), each
    site's ``[batch, d]`` reduction over tokens, computed in the trace: the tokens' states stay on the server.

    Examples
    --------
    >>> import torch
    >>> from workbench.layout import Site
    >>> ids = torch.tensor([[1, 2, 3]])
    >>> [out[Site(1)].shape for out in read_batches(bench, [(ids, torch.ones_like(ids))] * 2, sites=[Site(1)])]
    [torch.Size([1, 3, 64]), torch.Size([1, 3, 64])]
    """
    import torch

    sites = sorted(set(sites), key=lambda site: site.order)
    if not session.remote:
        outs = [site_outputs(session, ids, mask, sites=sites, stop=stop) for ids, mask in batches]
        if reduce is not None:
            outs = [{site: reduce_tokens(v, mask, reduce) for site, v in out.items()}
                    for out, (_, mask) in zip(outs, batches)]
        return outs
    read, finish = site_reader(session, sites, reduce)
    with torch.inference_mode():
        every = session.trace_each([{"input_ids": ids, "attention_mask": mask} for ids, mask in batches], read,
                                   stop=stop)
    return [finish(values) for values in every]


def site_reader(session: Session, sites: Iterable[Site], reduce: str | None = None
                ) -> tuple[Callable[[dict], list], Callable[[list], dict[Site, torch.Tensor]]]:
    """``(read, finish)`` of a remote read of ``sites``: ``read(inputs)``, called inside a trace (on the server: a
    closure, shipped by value), returns what comes back, and ``finish`` turns that into ``{site: tensor}`` as
    :func:`read_batches` gives it; ``reduce`` as there (reduced in the trace)."""
    sites = sorted(set(sites), key=lambda site: site.order)
    module_of = site_taps(session)
    tap_of = {site: (site.layer, module_of.get(site.kind, ("", "output"))) for site in sites}
    taps: dict[Any, Site] = {}
    for site in sites:
        taps.setdefault(tap_of[site], site)
    plan = [site_envoy(session, site) for site in taps.values()]

    def read(inputs: dict) -> list:  # runs inside each trace, on the server: a closure, shipped by value
        values = [hidden(envoy.output if port == "output" else envoy.input) for envoy, port in plan]
        if reduce is not None:
            mask = inputs["attention_mask"].to(values[0].device)
            values = [reduce_tokens(value.float(), mask, reduce) for value in values]
        return values

    def finish(values: list) -> dict[Site, torch.Tensor]:
        saved = dict(zip(taps, values))
        return {site: saved[tap_of[site]].float() for site in sites}

    return read, finish


def layer_outputs(
    session: Session,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *,
    layers: Sequence[int],
    stop: bool = True,
) -> dict[int, torch.Tensor]:
    """Residual stream after each of ``layers`` for one batch: ``{layer: [batch, seq, d]}`` (float32).

    One nnsight trace (:func:`site_outputs`); with ``stop=True`` the forward pass ends
    after the last layer asked for (no compute is spent above it).

    Examples
    --------
    >>> import torch
    >>> layer_outputs(bench, torch.tensor([[1, 2, 3]]), layers=[0])[0].shape
    torch.Size([1, 3, 64])
    """
    wanted = sorted(set(layers))
    for layer in wanted:
        check_layer(session, layer)
    out = site_outputs(session, input_ids, attention_mask, sites=[Site(layer) for layer in wanted], stop=stop)
    return {site.layer: value for site, value in out.items()}


def layer_batches(session: Session, batches: Sequence[tuple[torch.Tensor, torch.Tensor]], *, layers: Sequence[int],
                  cancel: threading.Event | None = None, what: str = "The run", reduce: str | None = None
                  ) -> list[dict[int, torch.Tensor]] | None:
    """:func:`layer_outputs` of every batch in ONE request when the session is remote (``None`` when it runs
    here: the caller then reads batch by batch, checking ``cancel`` between them). A set ``cancel`` raises
    :class:`workbench.Cancelled` before the request is sent; once sent it cannot be stopped. ``reduce``
    as in :func:`read_batches` (reduced on the server)."""
    if not session.remote:
        return None
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{what} was cancelled before its request was sent.")
    for layer in layers:
        check_layer(session, layer)
    outs = read_batches(session, batches, sites=[Site(layer) for layer in sorted(set(layers))], reduce=reduce)
    return [{site.layer: value for site, value in out.items()} for out in outs]


# -- documents, batch by batch ---------------------------------------------------------


def tokenize(session: Session, texts: Sequence[str], max_tokens: int) -> list[dict]:
    """Each text's token ids (at most ``max_tokens``) and, with a fast tokenizer, character offsets."""
    tok = session.tokenizer
    enc = tok(list(texts), add_special_tokens=False, truncation=True, max_length=max_tokens,
              return_offsets_mapping=bool(getattr(tok, "is_fast", False)))
    offsets = enc.get("offset_mapping") or [None] * len(texts)
    return [{"ids": ids, "offsets": off} for ids, off in zip(enc["input_ids"], offsets)]


def hidden_batches(session: Session, encoded: list[dict], layer: int | Site, *, batch_size: int,
                   progress: bool | Callable[[int, int], None], cancel: threading.Event | None, description: str,
                   pooled: bool = False) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """Yield ``(row indices, hidden [b, s, d], mask [b, s])``; documents batched by length, right-padded.
    With ``pooled``, ``hidden`` is each document's mean (:func:`pool`) ``[b, d]``, taken inside the trace
    when the session is remote (the tokens' states never come back).

    ``layer``: the residual stream after that layer, or any :class:`~workbench.layout.Site`
    (where an SAE reads).

    ``progress``: a tqdm bar (``True``), nothing (``False``), or ``progress(done, total)``
    called after each batch (a widget's progress bar). Between batches a set
    ``cancel`` event raises :class:`workbench.Cancelled`.
    """
    site = layer if isinstance(layer, Site) else Site(check_layer(session, layer))
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]["ids"]))
    chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    padded = [_padded([encoded[i]["ids"] for i in chunk], session.pad_token_id) for chunk in chunks]
    with progress_bar(progress, len(order), description, unit="doc") as bar:
        read = None
        if session.remote:  # one request for every batch; Cancel can only stop it before it is sent
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{description} was cancelled before its request was sent.")
            read = [out[site] for out in read_batches(session, padded, sites=[site],
                                                      reduce="pool" if pooled else None)]
        done = 0
        for n, (chunk, (ids, mask)) in enumerate(zip(chunks, padded)):
            if read is None and cancel is not None and cancel.is_set():
                raise Cancelled(f"{description} was cancelled after {done} of {len(order)} documents.")
            if read is not None:
                out = read[n]
            else:
                out = site_outputs(session, ids, mask, sites=[site])[site]
                out = pool(out, mask) if pooled else out
            yield chunk, out.cpu(), mask
            done += len(chunk)
            bar.update(len(chunk))


# -- scoring tokens, optionally steered --------------------------------------------------


def forward_once(session: Session, rows: Sequence[Sequence[int]], queries: Sequence[Sequence[tuple[int, int]]], *,
                 layer: int | None = None, deltas: torch.Tensor | None = None,
                 edit_from: Sequence[int] | None = None) -> list[list[float]]:
    """One forward pass over ``rows`` (right-padded), each row steered by its own delta.

    Parameters
    ----------
    rows : token id rows
    queries : for each row, ``(position, token_id)`` pairs: the log-probability of
        ``token_id`` in the distribution read at ``position`` is returned.
    layer : int, optional
        Where ``deltas`` are added (``None``: no steering).
    deltas : tensor ``[len(rows), d]``, optional
        What is added to each row's residual stream after ``layer``.
    edit_from : list of int, optional
        Each row's first edited position (default 0: every position).

    The pass stops at the final norm; only the queried positions go through the
    unembedding (with the model's logit soft-capping, if it has one).
    """
    return forward_many(session, [(rows, queries, layer, deltas, edit_from)])[0]


def forward_many(session: Session, passes: Sequence[tuple[Any, Any, int | None, Any, Any]]) -> list[list[list[float]]]:
    """:func:`forward_once` for each ``(rows, queries, layer, deltas, edit_from)`` of ``passes``; on a remote
    session every pass in ONE request (:meth:`~workbench.session.Session.trace_each`)."""
    import torch

    planned = [_forward_reader(session, *one) for one in passes]
    wanted = [plan for plan in planned if plan is not None]
    with torch.inference_mode():
        values = iter(session.trace_each([inputs for inputs, _, _ in wanted], [read for _, read, _ in wanted]))
    return [[[] for _ in one[0]] if plan is None else plan[2](next(values)) for one, plan in zip(passes, planned)]


def _forward_reader(session: Session, rows: Sequence[Sequence[int]], queries: Sequence[Sequence[tuple[int, int]]],
                    layer: int | None = None, deltas: torch.Tensor | None = None,
                    edit_from: Sequence[int] | None = None) -> tuple[dict, Callable, Callable] | None:
    """``(inputs, read, finish)`` of one :func:`forward_once` pass (``None`` when nothing is queried): ``read``
    runs inside its trace and returns one log-probability per query, ``finish`` sorts them by row."""
    import torch

    ids, mask = _padded(rows, session.pad_token_id)
    width = ids.shape[1]
    dtype = session.dtype
    add = starts = None
    if layer is not None and deltas is not None:
        # [rows, d] and [rows] travel; the [rows, width, d] edit is built where it is added
        starts = torch.tensor(list(edit_from) if edit_from is not None else [0] * len(rows)).to(session.device)
        add = remote_mod.compact(deltas.to(session.device, dtype))  # a batch's rows, not all the deltas' storage
    picks = [(i, p, t) for i, row in enumerate(queries) for p, t in row]
    if not picks:
        return None
    # the block reads only the queried positions through the unembedding and returns one number per query
    row_index, position_index, token_index = (torch.tensor(column) for column in zip(*picks))
    count = torch.arange(len(picks))
    steered = blocks(session)[layer] if add is not None else None
    norm, unembed = final_norm(session), unembedding_envoy(session)
    cap = getattr(session.config, "final_logit_softcapping", None)
    inputs = {"input_ids": ids.to(session.device), "attention_mask": mask.to(session.device)}

    def read(inputs: dict) -> Any:  # inside the trace
        if steered is not None:
            output = steered.output
            states = hidden(output)
            where = torch.arange(width, device=states.device)[None, :] >= starts.to(states.device)[:, None]
            edit = add.to(states.device)[:, None, :] * where[:, :, None].to(states.dtype)
            steered.output = replace_hidden(output, states + edit)
        logits = unembed(norm.output[row_index, position_index]).float()
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return torch.log_softmax(logits, -1)[count, token_index].cpu()

    def finish(values: Any) -> list[list[float]]:
        out: list[list[float]] = [[] for _ in rows]
        for (i, _, _), value in zip(picks, values.tolist()):
            out[i].append(value)
        return out

    return inputs, read, finish


def forward_logprobs(session: Session, rows, queries, *, layer=None, deltas=None, edit_from=None,
                     batch_size: int = 32) -> list[list[float]]:
    """:func:`forward_once` over consecutive batches of ``batch_size`` rows (one request on a remote session)."""
    passes = [(rows[start : start + batch_size], queries[start : start + batch_size], layer,
               None if deltas is None else deltas[start : start + batch_size],
               None if edit_from is None else edit_from[start : start + batch_size])
              for start in range(0, len(rows), batch_size)]
    return [row for part in forward_many(session, passes) for row in part]


# -- the natural scale of a layer ----------------------------------------------------------


def natural_scale(session: Session, layer: int) -> float:
    """The typical residual-stream norm after ``layer``: the median over the tokens of a
    few texts of the shipped corpus.

    Computed once per layer (one forward pass stopped at that layer, 16 texts of at
    most 64 tokens) and kept in ``session.cache.natural_scale``. The median, not the
    mean: a few tokens (the first of a text, some delimiters) carry massive
    activations whose norm is many times the rest, and would make every steering
    coefficient far too strong.

    Examples
    --------
    >>> natural_scale(bench, 1) > 0
    True
    """
    import nnsight
    import torch

    layer = check_layer(session, layer)
    cache = session.cache.natural_scale
    if layer not in cache:
        records = corpora.read_jsonl(corpora.SAE_CORPUS)
        step = max(1, len(records) // SCALE_TEXTS)
        texts = corpora.render_records(records[::step][:SCALE_TEXTS], session.tokenizer, session.chat_template)
        rows = [session.tokenizer(t, add_special_tokens=False)["input_ids"][:SCALE_TOKENS] for t in texts]
        ids, mask = _padded([row for row in rows if len(row) > 1], session.pad_token_id)
        if not session.remote:
            states = layer_outputs(session, ids, mask, layers=[layer])[layer].cpu()
            cache[layer] = float(states.norm(dim=-1)[mask.bool()].median())
        else:  # the median is taken in the trace: one number comes back
            block = blocks(session)[layer]
            inputs = {"input_ids": ids, "attention_mask": mask}
            with torch.inference_mode(), session.trace(inputs) as tracer:
                states = hidden(block.output).float()
                median = nnsight.save(states.norm(dim=-1)[mask.to(states.device).bool()].median().cpu())
                tracer.stop()
            cache[layer] = float(median)
    return cache[layer]


# -- directions in the residual stream -----------------------------------------------------


def unit_direction(session: Session, direction: Any, what: str = "The direction") -> tuple[torch.Tensor, float]:
    """``direction`` as a unit float32 CPU vector of the model's hidden size, and its norm before; refused
    (naming ``what``) when its size is not the hidden size or its norm is not finite and non-zero.

    Examples
    --------
    >>> unit, norm = unit_direction(bench, [3.0, 4.0] + [0.0] * 62)
    >>> round(float(unit.norm()), 6), norm
    (1.0, 5.0)
    """
    import math

    import torch

    tensor = torch.as_tensor(direction).detach().to("cpu", torch.float32).flatten()
    if tensor.numel() != session.hidden_size:
        raise ValueError(
            f"{what} has {tensor.numel()} values, but {session.model_name} has hidden size "
            f"{session.hidden_size}: pass a vector of that size."
        )
    norm = float(tensor.norm())
    if not math.isfinite(norm) or norm == 0:
        raise ValueError(f"{what} has norm {norm}; it needs a finite, non-zero norm.")
    return tensor / norm, norm


# -- through the unembedding -----------------------------------------------------------------


#: Bytes of float32 vectors one remote request of :func:`project_top` carries (NDIF refuses bodies of ~1 MB).
REMOTE_VECTOR_BYTES = 640 << 10
PROJECT_CHUNK_ELEMENTS = 4 * 1024 * 1024  # logits per matmul block of project_top (16 MB of float32)


def project_top(session: Session, vectors: torch.Tensor, k: int, *, bottom: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and ids of the ``k`` tokens each row of ``vectors`` ``[n, d]`` pushes up most through the
    unembedding matrix (``W_U @ v``; ``bottom=True``: down most), a block of rows at a time, in float32.

    Where the weights are: on a remote session a request carries the vectors to the
    server, which ranks there and returns ``[n, k]`` ids and logits (the unembedding
    never leaves it). A request carries at most :data:`REMOTE_VECTOR_BYTES` of vectors
    (NDIF refuses request bodies of about 1 MB and more), so an SAE's whole decoder (9.4 MB
    for the default SAE) travels in several.

    Examples
    --------
    >>> import torch
    >>> values, ids = project_top(bench, torch.eye(64)[:3], 5)
    >>> tuple(ids.shape), bool((values[:, :-1] >= values[:, 1:]).all())
    ((3, 5), True)
    """
    import nnsight
    import torch

    vectors = vectors.detach().to("cpu", torch.float32)
    step = max(1, PROJECT_CHUNK_ELEMENTS // max(session.vocab_size, 1))
    sign = -1.0 if bottom else 1.0

    def rank(weight: Any, rows: Any) -> list:  # runs where the weights are: here, or inside the trace on a server
        found = []
        for start in range(0, rows.shape[0], step):
            logits = rows[start : start + step].to(weight.device) @ weight.float().T
            values, ids = (logits * sign).topk(min(k, logits.shape[1]), dim=-1)
            found.append(((values * sign).cpu(), ids.cpu()))
        return found

    if vectors.shape[0] == 0:
        return torch.zeros(0, k), torch.zeros(0, k, dtype=torch.long)
    if not session.remote:
        with torch.inference_mode():
            found = rank(unembedding(session).weight, vectors)
    else:
        unembed = unembedding_envoy(session)
        one = torch.tensor([[session.pad_token_id]])  # a one-token pass: the trace is only a way to the weights
        inputs = {"input_ids": one, "attention_mask": torch.ones_like(one)}
        per_request = max(1, REMOTE_VECTOR_BYTES // (4 * max(vectors.shape[1], 1)))
        found = []
        for start in range(0, vectors.shape[0], per_request):
            rows = remote_mod.compact(vectors[start : start + per_request])  # not the whole decoder's storage
            with torch.inference_mode(), session.trace(inputs) as tracer:
                part = nnsight.save(rank(unembed.weight, rows))  # rank is a closure: shipped by value
                tracer.stop()
            found += part
    return torch.cat([v for v, _ in found]), torch.cat([i for _, i in found])


def top_tokens(session: Session, vectors: torch.Tensor, k: int, *, bottom: bool = False) -> list[list[str]]:
    """The ``k`` tokens each row of ``vectors`` ``[n, d]`` promotes most through the unembedding
    (``bottom=True``: suppresses most), decoded (ranked by :func:`project_top`, on the server when remote).

    Examples
    --------
    >>> import torch
    >>> len(top_tokens(bench, torch.ones(2, 64), 3)[1])
    3
    """
    _, ids = project_top(session, vectors, k, bottom=bottom)
    decode = session.tokenizer.decode
    return [[decode([i]) for i in row] for row in ids.tolist()]


def value_rows(session: Session, keys: Sequence[tuple[int, int]]) -> torch.Tensor:
    """The value vectors of ``(layer, neuron)`` pairs, ``[len(keys), d_model]`` float32 on the CPU; on a remote
    session read in one trace, where only those rows leave the server.

    Examples
    --------
    >>> value_rows(bench, [(1, 7), (0, 2)]).shape
    torch.Size([2, 64])
    """
    import nnsight
    import torch

    from .layout import value_matrix

    if not session.remote:
        return torch.stack([value_matrix(session, layer)[neuron] for layer, neuron in keys])
    inputs, read = value_reader(session, keys)
    with torch.inference_mode(), session.trace(inputs) as tracer:
        rows = nnsight.save(read(inputs))
        tracer.stop()
    return torch.stack(rows)


def value_reader(session: Session, keys: Sequence[tuple[int, int]]) -> tuple[dict, Callable[[dict], list]]:
    """``(inputs, read)`` of a remote read of :func:`value_rows`: a one-token pass (the trace is only a way to the
    weights) and ``read(inputs)``, called inside it, which returns the rows (``torch.stack`` them)."""
    import torch

    from .layout import traced_value_vectors

    readers = {layer: traced_value_vectors(session, layer) for layer, _ in keys}  # merged with an adapter on
    one = torch.tensor([[session.pad_token_id]])

    def read(inputs: dict) -> list:  # inside the trace: only these rows leave the server
        return [readers[layer]([neuron])[0].cpu() for layer, neuron in keys]

    return {"input_ids": one, "attention_mask": torch.ones_like(one)}, read


# -- packing a corpus ------------------------------------------------------------------------


def windows(token_streams: Iterable[Sequence[int]], context: int, separator: int | None) -> torch.Tensor:
    """Pack token streams (joined by ``separator``) into ``[n, context]`` windows."""
    import torch

    flat: list[int] = []
    for stream in token_streams:
        flat.extend(stream)
        if separator is not None:
            flat.append(separator)
    n = len(flat) // context
    if n == 0:
        raise ValueError(
            f"The corpus has {len(flat)} tokens, fewer than one window of {context}: "
            "pass more text or a smaller context."
        )
    return torch.tensor(flat[: n * context], dtype=torch.long).view(n, context)


def batches(rows: torch.Tensor, size: int) -> Iterator[torch.Tensor]:
    for start in range(0, rows.shape[0], size):
        yield rows[start : start + size]

