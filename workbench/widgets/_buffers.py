"""The one binary serializer for arrays sent to the widgets' front-ends.

Arrays never travel as JSON lists. An array goes as a *payload*, a plain dict::

    {"view": memoryview, "dtype": "float32", "shape": [3, 4]}

``view`` holds the C-ordered, little-endian bytes; ``dtype`` is one of
:data:`DTYPES`; ``shape`` is a list of ints (``[]`` for a scalar). A payload can sit
anywhere in a synced trait (a ``traitlets.Dict``) or in a custom message: ipywidgets
sends every ``memoryview``/``bytes`` inside a trait as a binary buffer, and
:func:`pack` does the same for custom messages. The front-end decodes a payload with
``decode`` from ``widgets_js/src/lib/buffers.ts``, which yields the matching
TypedArray (``float32`` -> ``Float32Array`` and so on).

A synced array is a trait that says so once, where it is declared::

    _top_latents = Array().tag(sync=True, **array_serialization)

and is then set to any array (numpy, torch, a list of numbers) or ``None``; the
serializer sends it as a payload (``None`` as ``null``).

Types the browser has no TypedArray for are converted on the way: ``float16`` and
``bfloat16`` become ``float32``, ``bool`` becomes ``uint8``, and ``int64``/``uint64``
become ``int32``/``uint32`` when every value fits (otherwise a ``ValueError`` says
so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import traitlets

__all__ = ["DTYPES", "Array", "array_serialization", "from_buffer", "is_payload", "pack", "to_buffer", "unpack"]

#: dtype names a payload may carry, each with the browser TypedArray it becomes.
DTYPES: dict[str, str] = {
    "float32": "Float32Array",
    "float64": "Float64Array",
    "int8": "Int8Array",
    "int16": "Int16Array",
    "int32": "Int32Array",
    "uint8": "Uint8Array",
    "uint16": "Uint16Array",
    "uint32": "Uint32Array",
}

_PAYLOAD_KEYS = frozenset({"view", "dtype", "shape"})
_BINARY = (memoryview, bytes, bytearray)


def _to_numpy(array: Any) -> np.ndarray:
    """A numpy view of a numpy array, a torch tensor or a nested sequence of numbers."""
    module = type(array).__module__ or ""
    if module.startswith("torch") and hasattr(array, "detach"):
        tensor = array.detach()
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        if str(tensor.dtype) in ("torch.bfloat16", "torch.float16"):
            tensor = tensor.float()
        return tensor.numpy()
    try:
        out = np.asarray(array)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"to_buffer expects a numpy array, a torch tensor or a sequence of numbers, "
            f"got {type(array).__name__}: {exc}"
        ) from exc
    return out


def _browser_dtype(array: np.ndarray) -> np.ndarray:
    """``array`` cast, where needed, to a dtype with a browser TypedArray."""
    kind, name = array.dtype.kind, array.dtype.name
    if name in DTYPES:
        return array
    if kind == "b":
        return array.astype(np.uint8)
    if kind == "f" and array.dtype.itemsize <= 4:
        return array.astype(np.float32)
    if kind in "iu" and array.dtype.itemsize == 8:
        target = np.dtype(np.int32 if kind == "i" else np.uint32)
        info = np.iinfo(target)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise ValueError(
                f"to_buffer: {name} values in [{array.min()}, {array.max()}] do not fit "
                f"{target.name}, the widest integer the browser decodes; send them as "
                f"float64 (array.astype('float64')) or split them"
            )
        return array.astype(target)
    raise TypeError(
        f"to_buffer cannot send dtype {name!r}; valid dtypes are {sorted(DTYPES)} "
        f"(float16/bfloat16, bool and int64/uint64 are converted); cast the array first, "
        f"e.g. array.astype('float32')"
    )


def to_buffer(array: Any) -> dict[str, Any]:
    """Encode an array as a binary payload for a widget trait or message.

    Parameters
    ----------
    array
        A numpy array, a torch tensor (on any device; detached and copied to the CPU)
        or a nested sequence of numbers.

    Returns
    -------
    dict
        ``{"view": memoryview, "dtype": str, "shape": list[int]}`` where ``view`` is
        the C-ordered little-endian bytes of the array, ``dtype`` one of
        :data:`DTYPES`.

    Examples
    --------
    >>> import numpy as np
    >>> payload = to_buffer(np.arange(6, dtype="float32").reshape(2, 3))
    >>> payload["dtype"], payload["shape"], payload["view"].nbytes
    ('float32', [2, 3], 24)
    """
    arr = _browser_dtype(_to_numpy(array))
    if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and np.little_endian is False):
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")  # (ascontiguousarray would turn a scalar into 1-d)
    return {
        "view": memoryview(arr.reshape(-1).view(np.uint8)),
        "dtype": arr.dtype.name,
        "shape": [int(n) for n in arr.shape],
    }


def is_payload(value: Any) -> bool:
    """Whether ``value`` is a payload dict (``view``/``dtype``/``shape``)."""
    return (
        isinstance(value, Mapping)
        and set(value) == _PAYLOAD_KEYS
        and isinstance(value["view"], _BINARY)
    )


def from_buffer(payload: Mapping[str, Any]) -> np.ndarray:
    """Decode a payload (from :func:`to_buffer` or from the front-end) to numpy.

    The result is a read-only view on the payload's bytes where possible.

    Examples
    --------
    >>> import numpy as np
    >>> from_buffer(to_buffer(np.array([[1, 2], [3, 4]], dtype="int32")))
    array([[1, 2],
           [3, 4]], dtype=int32)
    """
    if not isinstance(payload, Mapping) or not set(payload) >= _PAYLOAD_KEYS:
        raise TypeError(
            f"from_buffer expects a dict with keys view, dtype and shape, got {payload!r:.80}"
        )
    dtype = payload["dtype"]
    if dtype not in DTYPES:
        raise ValueError(f"unknown payload dtype {dtype!r}; valid dtypes are {sorted(DTYPES)}")
    shape = tuple(int(n) for n in payload["shape"])
    raw = memoryview(payload["view"]).cast("B")
    itemsize = np.dtype(dtype).itemsize
    expected = int(np.prod(shape, dtype=np.int64)) * itemsize
    if raw.nbytes != expected:
        raise ValueError(
            f"payload of dtype {dtype} and shape {list(shape)} needs {expected} bytes, "
            f"got {raw.nbytes}"
        )
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def _is_array(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return True
    module = type(value).__module__ or ""
    return module.startswith("torch") and type(value).__name__ in ("Tensor", "Parameter")


def pack(content: Any) -> tuple[Any, list[list[str | int]], list[memoryview]]:
    """Split binary parts out of JSON-able content, the way ipywidgets sends state.

    Every numpy array or torch tensor found in ``content`` (nested in dicts, lists and
    tuples) is first encoded with :func:`to_buffer`; numpy scalars become Python
    numbers. Each ``memoryview``/``bytes`` is then removed and returned in
    ``buffers``, its location in ``buffer_paths`` (a list of keys and indices).
    ``content`` itself is not modified.

    Returns
    -------
    tuple
        ``(content_without_buffers, buffer_paths, buffers)``; :func:`unpack` (and
        ``unpack`` in ``widgets_js/src/lib/buffers.ts``) put them back.

    Examples
    --------
    >>> import numpy as np
    >>> content, paths, buffers = pack({"x": np.zeros(2, "float32"), "n": 3})
    >>> content, paths, [b.nbytes for b in buffers]
    ({'x': {'dtype': 'float32', 'shape': [2]}, 'n': 3}, [['x', 'view']], [8])
    """
    paths: list[list[str | int]] = []
    buffers: list[memoryview] = []

    def walk(value: Any, path: list[str | int]) -> Any:
        if _is_array(value):
            value = to_buffer(value)
        if isinstance(value, _BINARY):
            paths.append(path)
            buffers.append(memoryview(value))
            return _REMOVED
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                new = walk(item, [*path, key])
                if new is not _REMOVED:
                    out[key] = new
            return out
        if isinstance(value, (list, tuple)):
            return [None if (new := walk(item, [*path, i])) is _REMOVED else new
                    for i, item in enumerate(value)]
        return value

    stripped = walk(content, [])
    if stripped is _REMOVED:
        raise TypeError("pack: the content itself is binary; wrap it in a dict, e.g. {'data': ...}")
    return stripped, paths, buffers


def unpack(
    content: Any,
    buffer_paths: list[list[str | int]] | None,
    buffers: list[Any] | None,
    *,
    decode: bool = True,
) -> Any:
    """Put ``buffers`` back at ``buffer_paths`` in ``content`` (the inverse of :func:`pack`).

    With ``decode=True`` (the default) every payload dict that results is decoded to
    a numpy array with :func:`from_buffer`. ``content`` is modified in place and
    returned.
    """
    buffer_paths = buffer_paths or []
    buffers = list(buffers or [])
    if len(buffer_paths) != len(buffers):
        raise ValueError(
            f"unpack: {len(buffer_paths)} buffer paths but {len(buffers)} buffers were received"
        )
    for path, buffer in zip(buffer_paths, buffers):
        if not path:
            raise ValueError("unpack: an empty buffer path; binary content must sit inside a dict")
        obj = content
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = buffer
    if not decode:
        return content

    def walk(value: Any) -> Any:
        if is_payload(value):
            return from_buffer(value)
        if isinstance(value, dict):
            for key, item in value.items():
                value[key] = walk(item)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                value[i] = walk(item)
        return value

    return walk(content)


class _Removed:
    __slots__ = ()


_REMOVED = _Removed()


# -- arrays as synced traits ------------------------------------------------------------


class Array(traitlets.TraitType):
    """A synced trait holding an array (or ``None``): set it to numpy, torch or nested numbers.

    Declare it with the shared serializer so it travels as a binary payload::

        values = Array().tag(sync=True, **array_serialization)

    The value is kept as a numpy array (a tensor is detached and copied to the CPU).
    """

    default_value = None
    info_text = "a numpy array, a torch tensor, a sequence of numbers, or None"

    def __init__(self, default_value: Any = None, **kwargs: Any) -> None:
        super().__init__(default_value=default_value, allow_none=True, **kwargs)

    def validate(self, obj: Any, value: Any) -> Any:
        if value is None:
            return None
        try:
            return _browser_dtype(_to_numpy(value))
        except (TypeError, ValueError) as error:
            raise traitlets.TraitError(f"The {self.name!r} trait of {type(obj).__name__} needs {self.info_text}: "
                                       f"{error}") from None


def _array_to_json(value: Any, _widget: Any) -> dict | None:
    return None if value is None else to_buffer(value)


def _array_from_json(value: Any, _widget: Any) -> np.ndarray | None:
    return None if value is None else from_buffer(value)


#: ``to_json`` / ``from_json`` for an :class:`Array` trait: ``.tag(sync=True, **array_serialization)``.
array_serialization = {"to_json": _array_to_json, "from_json": _array_from_json}
