"""Decode a release `.npz` into catalogue-checked numpy arrays, never unpickling and never trusting sizes.

The zip central directory is read with `zipfile` (zip64 included) but every entry is inflated here, from the
member's own bytes: the `.npy` header is inflated first (a few hundred bytes), so names, dtypes, shapes, T and
every cap are checked before any array body is inflated; each entry is then inflated in one call, bounded one
byte past its declared size, and the array is a zero-copy view of that output (stored entries: of the member);
the CRC and the end of the deflate stream are verified. Inflation is ISA-L's (python-isal, the same API as
zlib): about twice zlib's speed on these entries, CRC included (`benchmarks/bench_ingest.py`).
"""

from __future__ import annotations

import ast
import io
import math
import struct
import zipfile
from dataclasses import dataclass, field
from typing import cast

import numpy as np
from isal import isal_zlib as zlib  # ISA-L inflate and CRC-32: zlib's API, ~2x its speed

from silake.schemas.catalogue import (
    CORE_KEYS,
    FEATURES_BY_KEY,
    HYPERNET_FEATURE,
    MOVEMENT_KEYS,
    Feature,
    hypernet_rows_allowed,
)
from silake.schemas.limits import DEFAULT_CAPS, Caps

from .errors import (
    NPZ_BAD_DTYPE,
    NPZ_BAD_SHAPE,
    NPZ_CORRUPT,
    NPZ_MISSING_KEY,
    NPZ_PARTIAL_MOVEMENT,
    NPZ_PICKLE,
    NPZ_T_MISMATCH,
    NPZ_TOO_LARGE,
    NPZ_UNKNOWN_KEY,
    Reject,
)

#: isal's stub declares `error` as an instance; at run time it is the exception class.
_InflateError = cast("type[Exception]", zlib.error)

NPY_SUFFIX = ".npy"
_NPY_MAGIC = b"\x93NUMPY"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_LOCAL_SIG = b"PK\x03\x04"
_IN_CHUNK = 1 << 20  # compressed bytes fed to zlib per call (bounds unconsumed_tail copies)
_T_DEFINING_KEY = CORE_KEYS[0]


@dataclass(frozen=True)
class NpzFeatures:
    """The validated arrays of one npz, keyed by npz key (C-contiguous, dtype and shape per catalogue)."""

    n_frames: int
    arrays: dict[str, np.ndarray]
    has_movement: bool
    n_hypernet: int
    nonfinite_values: int = 0  # NaN/inf count over all float arrays (QA only, never a reject)
    nonfinite_by_key: dict[str, int] = field(default_factory=dict)  # keys with nonfinite values only
    inflated_bytes: int = 0  # sum of the entries' uncompressed sizes (.npy headers included)


class _ViewReader(io.RawIOBase):
    """A seekable read-only file over a memoryview (io.BytesIO would copy anything but `bytes`)."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._view[self._pos:self._pos + len(b)]
        memoryview(b).cast("B")[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


class _Corrupt(Exception):
    """Internal: the entry's bytes are not what the zip says."""


class _EntryStream:
    """The uncompressed bytes of one zip entry, read forward with output bounded by each request."""

    def __init__(self, raw: memoryview, method: int) -> None:
        self._raw = raw
        self._pos = 0  # consumed raw bytes
        self._d = zlib.decompressobj(-zlib.MAX_WBITS) if method == zipfile.ZIP_DEFLATED else None
        self.crc = 0
        self.produced = 0
        self._whole = False  # the entry was inflated whole by body()

    def _next(self, limit: int) -> bytes | memoryview:
        """At most `limit` new uncompressed bytes; empty only when the stream can make no more progress."""
        out: bytes | memoryview
        if self._d is None:
            out = self._raw[self._pos:self._pos + limit]
            self._pos += len(out)
        else:
            while True:
                src: bytes | memoryview
                if self._d.unconsumed_tail:
                    src = self._d.unconsumed_tail
                elif self._pos < len(self._raw) and not self._d.eof:
                    # small reads (.npy headers) take small input slices: unconsumed_tail is a copy
                    src = self._raw[self._pos:self._pos + min(_IN_CHUNK, max(limit, 4096))]
                    self._pos += len(src)
                else:
                    src = b""
                try:
                    out = self._d.decompress(src, limit)
                except _InflateError as exc:
                    raise _Corrupt(f"bad deflate stream: {exc}") from None
                if out or not src:
                    break
        self.crc = zlib.crc32(out, self.crc)
        self.produced += len(out)
        return out

    def read(self, n: int) -> bytes:
        """Exactly n bytes, or _Corrupt if the entry ends first."""
        parts: list[bytes | memoryview] = []
        got = 0
        while got < n:
            out = self._next(n - got)
            if not out:
                raise _Corrupt(f"entry ends after {self.produced} bytes")
            parts.append(out)
            got += len(out)
        return b"".join(parts)

    def body(self, n: int) -> bytes | memoryview | np.ndarray:
        """The next n bytes - the rest of the entry - as one buffer: a view of the member for stored entries,
        else a read-only view of the entry inflated again in one call, header included (a few hundred bytes
        inflated twice buys one output buffer and no copy)."""
        if self._d is None:
            out = self._next(n)
            if len(out) < n:
                raise _Corrupt(f"entry ends after {self.produced} bytes")
            return out
        start, total = self.produced, self.produced + n
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            whole = d.decompress(self._raw, total + 1)  # one byte past the declared size: a lying entry stops
        except _InflateError as exc:
            raise _Corrupt(f"bad deflate stream: {exc}") from None
        if len(whole) > total or (not d.eof and d.unconsumed_tail):
            raise _Corrupt(f"entry inflates past its declared {total} bytes")
        if len(whole) < total:
            raise _Corrupt(f"entry ends after {len(whole)} bytes")
        if not d.eof:
            raise _Corrupt("deflate stream is truncated")
        self._d, self._whole = None, True
        self.crc, self.produced = zlib.crc32(whole), total
        return np.frombuffer(whole, dtype=np.uint8, offset=start)

    def finish(self, expected_crc: int) -> None:
        """The entry must end exactly here (no extra output, complete stream) with the zip's CRC."""
        if not self._whole:
            if self._next(1):
                raise _Corrupt(f"entry inflates past its declared {self.produced - 1} bytes")
            if self._d is not None and not self._d.eof:
                raise _Corrupt("deflate stream is truncated")
        if self.crc != expected_crc:
            raise _Corrupt(f"bad CRC: {self.crc:08x} != {expected_crc:08x}")


@dataclass
class _Entry:
    key: str
    info: zipfile.ZipInfo
    stream: _EntryStream
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool
    header_bytes: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _parse_npy_header(stream: _EntryStream, caps: Caps) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """(dtype, shape, fortran_order, header bytes) of a .npy stream, without numpy's loader or pickle."""
    pre = stream.read(10)
    if pre[:6] != _NPY_MAGIC:
        raise _Corrupt("not a .npy entry (bad magic)")
    major = pre[6]
    if major == 1:
        (hlen,), start = struct.unpack_from("<H", pre, 8), 10
    elif major in (2, 3):
        pre += stream.read(2)
        (hlen,), start = struct.unpack_from("<I", pre, 8), 12
    else:
        raise _Corrupt(f"unsupported .npy version {major}.{pre[7]}")
    if hlen > caps.max_npy_header_bytes:
        raise _Corrupt(f".npy header of {hlen} bytes")
    raw = stream.read(hlen)
    try:
        text = raw.decode("utf-8" if major == 3 else "latin1")
        header = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        raise _Corrupt(f"unreadable .npy header: {exc!r}"[:200]) from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise _Corrupt(f"bad .npy header keys: {text[:120]!r}")
    shape, fortran = header["shape"], header["fortran_order"]
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise _Corrupt(f"bad .npy shape {shape!r}")
    if not isinstance(fortran, bool):
        raise _Corrupt(f"bad .npy fortran_order {fortran!r}")
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except Exception as exc:  # numpy raises TypeError/ValueError/... for arbitrary descr values
        raise _Corrupt(f"bad .npy descr {header['descr']!r}: {exc}"[:200]) from None
    return dtype, shape, fortran, start + hlen


def _open_entries(data: memoryview, member_name: str, caps: Caps) -> dict[str, zipfile.ZipInfo]:
    """Central directory → {npz key: ZipInfo}, with every name and declared-size check."""
    try:
        with zipfile.ZipFile(_ViewReader(data)) as zf:
            infos = zf.infolist()
    except Exception as exc:  # BadZipFile, and struct/value errors on crafted directories
        raise Reject(NPZ_CORRUPT, f"not a readable zip: {exc}"[:200], member_name) from None
    entries: dict[str, zipfile.ZipInfo] = {}
    unknown: list[str] = []
    for info in infos:
        name = info.filename
        key = name[: -len(NPY_SUFFIX)] if name.endswith(NPY_SUFFIX) else None
        if key is None or key not in FEATURES_BY_KEY:
            unknown.append(name)
            continue
        if key in entries:
            raise Reject(NPZ_CORRUPT, f"duplicate entry {name!r}", member_name)
        entries[key] = info
    if unknown:
        raise Reject(NPZ_UNKNOWN_KEY, f"unknown entries {sorted(unknown)[:5]!r}", member_name)
    missing = [k for k in CORE_KEYS if k not in entries]
    if missing:
        raise Reject(NPZ_MISSING_KEY, f"missing core keys {missing!r}", member_name)
    movement = [k for k in MOVEMENT_KEYS if k in entries]
    if movement and len(movement) != len(MOVEMENT_KEYS):
        absent = [k for k in MOVEMENT_KEYS if k not in entries]
        raise Reject(NPZ_PARTIAL_MOVEMENT, f"movement keys missing: {absent!r}", member_name)
    total = 0
    for key, info in entries.items():
        if info.file_size > caps.max_entry_bytes:
            raise Reject(NPZ_TOO_LARGE, f"{key} declares {info.file_size} bytes "
                         f"(cap {caps.max_entry_bytes})", member_name)
        total += info.file_size
        if info.flag_bits & 0x1:
            raise Reject(NPZ_CORRUPT, f"{key} is encrypted", member_name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Reject(NPZ_CORRUPT, f"{key} uses compression method {info.compress_type}", member_name)
    if total > caps.max_inflated_bytes:
        raise Reject(NPZ_TOO_LARGE, f"entries declare {total} bytes (cap {caps.max_inflated_bytes})",
                     member_name)
    return entries


def _raw_slice(data: memoryview, info: zipfile.ZipInfo) -> memoryview:
    """The entry's stored bytes, located through its local header."""
    off = info.header_offset
    if off < 0 or off + _LOCAL_HEADER.size > len(data):
        raise _Corrupt("local header out of range")
    fields = _LOCAL_HEADER.unpack_from(data, off)
    if fields[0] != _LOCAL_SIG:
        raise _Corrupt("bad local header signature")
    start = off + _LOCAL_HEADER.size + fields[9] + fields[10]
    end = start + info.compress_size
    if end > len(data):
        raise _Corrupt(f"entry data truncated ({len(data) - start} of {info.compress_size} bytes)")
    return data[start:end]


def _check_entry(entry: _Entry, member_name: str, caps: Caps) -> None:
    """Dtype and per-frame shape against the catalogue, the .npy size against the caps and the zip's."""
    feature: Feature = FEATURES_BY_KEY[entry.key]
    if entry.dtype.hasobject:
        raise Reject(NPZ_PICKLE, f"{entry.key} has dtype {entry.dtype} (needs pickle)", member_name)
    if entry.dtype != feature.np_dtype:
        raise Reject(NPZ_BAD_DTYPE, f"{entry.key} has dtype {entry.dtype.str}, expected {feature.dtype}",
                     member_name)
    if len(entry.shape) != 1 + len(feature.frame_shape) or entry.shape[1:] != feature.frame_shape:
        raise Reject(NPZ_BAD_SHAPE, f"{entry.key} has shape {entry.shape}, expected (T, "
                     f"{', '.join(map(str, feature.frame_shape))})", member_name)
    if entry.nbytes > caps.max_entry_bytes:
        raise Reject(NPZ_TOO_LARGE, f"{entry.key} shape {entry.shape} is {entry.nbytes} bytes "
                     f"(cap {caps.max_entry_bytes})", member_name)
    if entry.header_bytes + entry.nbytes != entry.info.file_size:
        raise Reject(NPZ_CORRUPT, f"{entry.key}: .npy header says {entry.header_bytes + entry.nbytes} bytes, "
                     f"zip says {entry.info.file_size}", member_name)


def _check_lengths(entries: dict[str, _Entry], member_name: str, caps: Caps) -> int:
    """T from the frame-rate arrays (all must agree), hypernet rows in {floor, ceil}(T/15); returns T."""
    n_frames = entries[_T_DEFINING_KEY].shape[0]
    if n_frames > caps.max_frames:
        raise Reject(NPZ_TOO_LARGE, f"T = {n_frames} frames (cap {caps.max_frames})", member_name)
    lengths = {k: e.shape[0] for k, e in entries.items() if FEATURES_BY_KEY[k].rate == "frame"}
    bad = {k: n for k, n in lengths.items() if n != n_frames}
    if bad:
        raise Reject(NPZ_T_MISMATCH, f"T = {n_frames} ({_T_DEFINING_KEY}) but {bad!r}"[:300], member_name)
    hyper = entries.get(HYPERNET_FEATURE.key)
    if hyper is not None and hyper.shape[0] not in hypernet_rows_allowed(n_frames):
        raise Reject(NPZ_BAD_SHAPE, f"{HYPERNET_FEATURE.key} has {hyper.shape[0]} rows for T = {n_frames}, "
                     f"expected {hypernet_rows_allowed(n_frames)}", member_name)
    return n_frames


def _count_nonfinite(arr: np.ndarray) -> int:
    """NaN/inf count; one SIMD sum in the usual case (any NaN/inf makes the sum non-finite)."""
    if arr.dtype.kind != "f" or arr.size == 0:
        return 0
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(arr.sum()):
            return 0
    return int(arr.size - np.count_nonzero(np.isfinite(arr)))


def decode_npz(data: bytes | bytearray | memoryview, *, member_name: str,
               caps: Caps = DEFAULT_CAPS) -> NpzFeatures:
    """Validate and load one sample's npz; raise `Reject` with an `npz_*` code on anything off-catalogue."""
    if len(data) > caps.max_npz_bytes:
        raise Reject(NPZ_TOO_LARGE, f"member of {len(data)} bytes (cap {caps.max_npz_bytes})", member_name)
    view = memoryview(data).cast("B")
    infos = _open_entries(view, member_name, caps)
    entries: dict[str, _Entry] = {}
    try:
        for key, info in infos.items():
            stream = _EntryStream(_raw_slice(view, info), info.compress_type)
            dtype, shape, fortran, header_bytes = _parse_npy_header(stream, caps)
            entries[key] = entry = _Entry(key, info, stream, dtype, shape, fortran, header_bytes)
            _check_entry(entry, member_name, caps)
    except _Corrupt as exc:
        raise Reject(NPZ_CORRUPT, f"{key}: {exc}", member_name) from None
    n_frames = _check_lengths(entries, member_name, caps)

    arrays: dict[str, np.ndarray] = {}
    nonfinite: dict[str, int] = {}
    try:
        for key, entry in entries.items():
            buf = entry.stream.body(entry.nbytes)
            entry.stream.finish(entry.info.CRC)
            arr = np.frombuffer(buf, dtype=entry.dtype)
            if entry.fortran:
                arr = np.ascontiguousarray(arr.reshape(entry.shape[::-1]).T)
            else:
                arr = arr.reshape(entry.shape)
            arrays[key] = arr
            bad = _count_nonfinite(arr)
            if bad:
                nonfinite[key] = bad
    except _Corrupt as exc:
        raise Reject(NPZ_CORRUPT, f"{key}: {exc}", member_name) from None

    hyper = arrays.get(HYPERNET_FEATURE.key)
    return NpzFeatures(
        n_frames=n_frames,
        arrays=arrays,
        has_movement=hyper is not None,
        n_hypernet=0 if hyper is None else hyper.shape[0],
        nonfinite_values=sum(nonfinite.values()),
        nonfinite_by_key=nonfinite,
        inflated_bytes=sum(e.info.file_size for e in entries.values()),
    )
