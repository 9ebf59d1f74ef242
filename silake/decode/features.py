"""npz arrays → `frames` and `hypernet` record batches, column-wise and (for float data) zero-copy.

Every cell type comes from `schemas.tables.feature_type`: a (T, a, b) array becomes a fixed-size list of
fixed-size lists built over the flat numpy buffer, a (T, 1) array a scalar column, a (T,) bool array a bool
column. A file without movement gets all-null movement columns (no value buffers are filled).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from silake.schemas.catalogue import FRAME_FEATURES, HYPERNET_FEATURE, Feature
from silake.schemas.ids import FileKeys
from silake.schemas.tables import FRAMES, HYPERNET, feature_type

from .arrow_keys import key_columns
from .npz import NpzFeatures

_TYPES: dict[str, pa.DataType] = {f.key: feature_type(f) for f in (*FRAME_FEATURES, HYPERNET_FEATURE)}
#: Shared by every null column, grown on demand; bytes(n) is calloc'd, so untouched pages cost nothing.
_zero_buffer = pa.py_buffer(b"")


def _zeros(nbytes: int) -> pa.Buffer:
    global _zero_buffer
    if _zero_buffer.size < nbytes:
        _zero_buffer = pa.py_buffer(bytes(max(nbytes, 2 * _zero_buffer.size)))
    return _zero_buffer


def _zero_values(n: int, typ: pa.DataType) -> pa.Array:
    """n valid zero cells of a primitive or (nested) fixed-size-list type, over the shared zero buffer."""
    if pa.types.is_fixed_size_list(typ):
        child = _zero_values(n * typ.list_size, typ.value_type)
        return pa.Array.from_buffers(typ, n, [None], null_count=0, children=[child])
    return pa.Array.from_buffers(typ, n, [None, _zeros((n * typ.bit_width + 7) // 8)], null_count=0)


def null_column(n: int, typ: pa.DataType) -> pa.Array:
    """An all-null column of n rows without allocating: null bitmap and child values share one zero buffer."""
    validity = _zeros((n + 7) // 8)
    if pa.types.is_fixed_size_list(typ):
        child = _zero_values(n * typ.list_size, typ.value_type)
        return pa.Array.from_buffers(typ, n, [validity], null_count=n, children=[child])
    return pa.Array.from_buffers(typ, n, [validity, _zeros((n * typ.bit_width + 7) // 8)], null_count=n)


def feature_column(arr: np.ndarray, feature: Feature) -> pa.Array:
    """One lake column from an array of shape (n, *feature.frame_shape)."""
    if arr.shape[1:] != feature.frame_shape:
        raise ValueError(f"{feature.key}: shape {arr.shape} is not (n, *{feature.frame_shape})")
    values: pa.Array = pa.array(np.ascontiguousarray(arr).reshape(-1))
    for dim in reversed(feature.value_shape):
        values = pa.FixedSizeListArray.from_arrays(values, dim)
    return values


def _check_fps(fps: float) -> float:
    rate = float(fps)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"fps must be a positive finite number, got {fps!r}")
    return rate


def frames_batch(features: NpzFeatures, keys: FileKeys, fps: float) -> pa.RecordBatch:
    """One row per frame with exactly `schemas.tables.FRAMES`; t_s = frame_idx / fps."""
    rate = _check_fps(fps)
    n = features.n_frames
    frame_idx = np.arange(n, dtype=np.int32)
    columns = [*key_columns(keys, n), pa.array(frame_idx), pa.array(frame_idx / rate)]
    for feature in FRAME_FEATURES:
        arr = features.arrays.get(feature.key)
        columns.append(null_column(n, _TYPES[feature.key]) if arr is None else feature_column(arr, feature))
    return pa.RecordBatch.from_arrays(columns, schema=FRAMES)


def hypernet_batch(features: NpzFeatures, keys: FileKeys, fps: float) -> pa.RecordBatch:
    """One row per hypernet step with exactly `schemas.tables.HYPERNET`; 0 rows without movement."""
    rate = _check_fps(fps)
    arr = features.arrays.get(HYPERNET_FEATURE.key)
    if arr is None:
        arr = np.empty((0, *HYPERNET_FEATURE.frame_shape), dtype=HYPERNET_FEATURE.np_dtype)
    n = arr.shape[0]
    step_idx = np.arange(n, dtype=np.int32)
    frame_idx = step_idx * np.int32(HYPERNET_FEATURE.step)
    columns = [
        *key_columns(keys, n),
        pa.array(step_idx),
        pa.array(frame_idx),
        pa.array(frame_idx / rate),
        feature_column(arr, HYPERNET_FEATURE),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=HYPERNET)
