"""Wire encoding of terminal values (SPEC.md, "Execution semantics").

Values on the wire are JSON; what JSON cannot carry is a tagged object:

* ``{"$nw": "ndarray", "dtype": "<f8", "shape": [...], "data": <base64 of the C-order bytes>}``
* ``{"$nw": "artifact", "id": ..., "name": ..., "kind": ...}``: a file kept by the server; large
  values become artifacts too (``kind: "ndarray"`` for a ``.npy`` file)
* ``{"$nw": "float", "v": "NaN" | "Infinity" | "-Infinity"}``

``encode`` turns Python/NumPy values into that form, ``decode`` turns it back. NumPy is optional:
without it ndarrays decode to nested lists (there is no other way to use them) and nothing encodes
to an ndarray.

Inside a task, an artifact that has not been uploaded yet is ``{"$nw": "artifact", "path": ...}``;
the runner loop uploads the file and puts the ``id`` in its place. An upstream artifact input reaches
a node as an :class:`ArtifactFile` (a path-like object with ``id`` and ``name``), or, for
``kind: "ndarray"``, as the loaded array.
"""

from __future__ import annotations

import base64
import math
import os
from typing import Any, Callable, Optional

TAG = "$nw"
DEFAULT_INLINE_LIMIT = 8 * 1024 * 1024  # ndarrays above this many bytes become artifacts

try:  # optional extra
    import numpy as _np
except Exception:  # pragma: no cover - exercised where numpy is missing
    _np = None


def numpy_available() -> bool:
    return _np is not None


class ArtifactFile(os.PathLike):
    """An artifact as a node sees it: a local file (when downloaded) with its server id."""

    def __init__(self, id: Optional[str] = None, path: Optional[str] = None, name: str = "", kind: str = "file"):
        self.id = id
        self.path = path
        self.name = name or (os.path.basename(path) if path else "")
        self.kind = kind

    def __fspath__(self) -> str:
        if not self.path:
            raise FileNotFoundError("artifact %s was not downloaded" % self.id)
        return self.path

    def __repr__(self) -> str:
        return "ArtifactFile(id=%r, path=%r, name=%r)" % (self.id, self.path, self.name)

    def __eq__(self, other) -> bool:
        return isinstance(other, ArtifactFile) and (self.id, self.path) == (other.id, other.path)

    def __hash__(self) -> int:
        return hash((self.id, self.path))

    def read_bytes(self) -> bytes:
        with open(self.__fspath__(), "rb") as handle:
            return handle.read()

    def to_wire(self) -> dict:
        out = {TAG: "artifact"}
        if self.id is not None:
            out["id"] = self.id
        else:
            out["path"] = self.path
        if self.name:
            out["name"] = self.name
        if self.kind and self.kind != "file":
            out["kind"] = self.kind
        return out


def _encode_float(value: float):
    if math.isnan(value):
        return {TAG: "float", "v": "NaN"}
    if math.isinf(value):
        return {TAG: "float", "v": "Infinity" if value > 0 else "-Infinity"}
    return value


def encode(value: Any, *, spill: Optional[Callable[[Any], dict]] = None, inline_limit: int = DEFAULT_INLINE_LIMIT):
    """JSON-ready form of ``value``.

    ``spill(array)`` may turn a large ndarray (more than ``inline_limit`` bytes) into an artifact
    placeholder; without it every array is inlined. Unknown objects are encoded as their ``repr``
    string rather than failing the task after the work is done.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _encode_float(value)
    if isinstance(value, ArtifactFile):
        return value.to_wire()
    if _np is not None:
        if isinstance(value, _np.ndarray):
            if value.dtype == object:
                return [encode(item, spill=spill, inline_limit=inline_limit) for item in value.tolist()]
            if spill is not None and value.nbytes > inline_limit:
                return spill(value)
            array = value if value.flags["C_CONTIGUOUS"] else value.copy(order="C")
            return {
                TAG: "ndarray",
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "data": base64.b64encode(array.tobytes()).decode("ascii"),
            }
        if isinstance(value, _np.generic):
            return encode(value.item(), spill=spill, inline_limit=inline_limit)
    if isinstance(value, dict):
        return {str(key): encode(item, spill=spill, inline_limit=inline_limit) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [encode(item, spill=spill, inline_limit=inline_limit) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, complex):
        return [_encode_float(value.real), _encode_float(value.imag)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


_FLOATS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def decode(value: Any, *, artifact_path: Optional[Callable[[dict], Optional[str]]] = None):
    """Python form of a wire value. ``artifact_path(tagged)`` gives the local file of an artifact, if any."""
    if isinstance(value, list):
        return [decode(item, artifact_path=artifact_path) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag == "float":
        try:
            return _FLOATS[value.get("v")]
        except KeyError:
            raise ValueError("unknown float tag value %r" % (value.get("v"),)) from None
    if tag == "ndarray":
        return _decode_ndarray(value)
    if tag == "artifact":
        path = value.get("path")
        if path is None and artifact_path is not None:
            path = artifact_path(value)
        kind = value.get("kind") or "file"
        if kind == "ndarray" and path and _np is not None:
            return _np.load(path, allow_pickle=False)
        return ArtifactFile(id=value.get("id"), path=path, name=value.get("name") or "", kind=kind)
    return {key: decode(item, artifact_path=artifact_path) for key, item in value.items()}


def _decode_ndarray(value: dict):
    raw = base64.b64decode(value.get("data") or "")
    shape = [int(n) for n in value.get("shape") or []]
    dtype = value.get("dtype") or "<f8"
    if _np is not None:
        return _np.frombuffer(raw, dtype=_np.dtype(dtype)).reshape(shape).copy()
    return _decode_ndarray_without_numpy(raw, dtype, shape)


def _decode_ndarray_without_numpy(raw: bytes, dtype: str, shape: list):
    """Nested lists, for simple numeric dtypes, when NumPy is not installed."""
    import struct

    order = {"<": "<", ">": ">", "|": "<", "=": "="}.get(dtype[:1], "=")
    code = dtype.lstrip("<>|=")
    formats = {"f8": "d", "f4": "f", "i8": "q", "i4": "i", "i2": "h", "i1": "b", "u8": "Q", "u4": "I", "u2": "H",
               "u1": "B", "b1": "?"}
    if code not in formats:
        raise ValueError("cannot decode an ndarray of dtype %s without numpy (pip install nodeworks-runner[numpy])"
                         % dtype)
    count = 1
    for n in shape:
        count *= n
    flat = list(struct.unpack(order + formats[code] * count, raw))

    def build(items, dims):
        if not dims:
            return items[0]
        if len(dims) == 1:
            return items[: dims[0]]
        step = len(items) // dims[0] if dims[0] else 0
        return [build(items[i * step:(i + 1) * step], dims[1:]) for i in range(dims[0])]

    return build(flat, shape) if shape else flat[0]


def artifact_placeholders(value: Any):
    """Yields each ``{"$nw": "artifact", "path": ...}`` placeholder (not yet uploaded) inside a wire value."""
    if isinstance(value, list):
        for item in value:
            yield from artifact_placeholders(item)
    elif isinstance(value, dict):
        if value.get(TAG) == "artifact":
            if "path" in value and "id" not in value:
                yield value
            return
        for item in value.values():
            yield from artifact_placeholders(item)


def artifact_references(value: Any):
    """Yields each uploaded artifact reference ``{"$nw": "artifact", "id": ...}`` inside a wire value."""
    if isinstance(value, list):
        for item in value:
            yield from artifact_references(item)
    elif isinstance(value, dict):
        if value.get(TAG) == "artifact":
            if value.get("id"):
                yield value
            return
        for item in value.values():
            yield from artifact_references(item)


# ------------------------------------------------------------------ dtype casts


def cast_dtype(value: Any, dtype: Optional[str]):
    """Casts a saved value to a Nodeworks terminal dtype such as ``"<class 'float'>"``.

    Known: int, float, str, bool, list, dict, numpy.ndarray; anything else (or a value that does
    not convert) is returned unchanged. ``None`` stays ``None``.
    """
    if value is None or not dtype:
        return value
    name = dtype.strip()
    if name.startswith("<class '") and name.endswith("'>"):
        name = name[len("<class '"):-2]
    try:
        if name == "float":
            return float(value)
        if name == "int":
            return int(float(value)) if isinstance(value, str) else int(value)
        if name == "str":
            return value if isinstance(value, str) else str(value)
        if name == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if name == "list":
            return list(value) if isinstance(value, (list, tuple)) else [value]
        if name in ("numpy.ndarray", "ndarray") and _np is not None and isinstance(value, (list, tuple, int, float)):
            return _np.asarray(value)
    except (TypeError, ValueError):
        return value
    return value
